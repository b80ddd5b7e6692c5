"""The ledger's guards outside the hash chains themselves: verification, checkpoints and the daily head.

* ``verify_ledger`` recomputes every institution's chain (or one) and compares every checkpoint;
* ``record_checkpoints`` stores, for each *finished* day and month, every chain's head and the Merkle
  root over them (``ledger_checkpoints`` + ``ledger_checkpoint_heads``);
* ``chain_heads_now`` / ``daily_head_report`` give the heads and root right now, as a text to be sent
  outside the database (the scheduler mails it to the auditors): it covers the entries no checkpoint
  covers yet, and ``check_recorded_heads`` later proves they were not deleted or rewritten.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from grants import ledger
from grants.db import TZ, now, today, unit_of_work
from grants.errors import Invalid
from grants.extensions import db
from grants.ledger import LedgerCheckpoint, LedgerCheckpointHead, LedgerEntry

PERIODS = ("day", "month")


# --------------------------------------------------------------------------- verification
@dataclass
class LedgerReport:
    ok: bool
    entries_checked: int
    chains: int
    head_seq: int
    merkle_root: str
    from_checkpoint: str | None = None  # period_end of the checkpoint verification started from
    first_broken_seq: int | None = None
    reason: str = ""
    broken: list = field(default_factory=list)  # one per broken chain: institution_id, chain_seq, seq, reason
    heads: list = field(default_factory=list)
    checkpoints_checked: int = 0
    checkpoint_mismatches: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def verify_ledger(since_checkpoint: bool = False, institution_id: int | None = None) -> LedgerReport:
    """Recompute every chain (all of it, or from the latest checkpoint's heads on) and compare every checkpoint.

    A chain finds an edited or deleted row; the checkpoints also find a truncated tail, a deleted
    chain or a chain rewritten from some row on (a rewrite recomputes hashes but cannot match a
    recorded head). Entries newer than the last checkpoint: ``check_recorded_heads``.
    """
    s = db.session
    starts, start_from = {}, None
    if since_checkpoint:
        cp = latest_checkpoint()
        if cp is not None:
            start_from = cp.period_end.isoformat()
            starts = {h.institution_id: (h.chain_seq, h.hash, h.seq) for h in checkpoint_heads(cp.id)}
    r = ledger.verify(s, institution_id, starts)
    report = LedgerReport(r.ok, r.entries, len(r.heads), r.head_seq, r.merkle_root, start_from, r.first_broken_seq,
                          r.reason, r.broken, [h.to_dict() for h in r.heads])
    checked, mismatches = check_checkpoints(institution_id)
    report.checkpoints_checked, report.checkpoint_mismatches = checked, mismatches
    if mismatches:
        report.ok = False
        if report.first_broken_seq is None:
            first = min(mismatches, key=lambda m: m["seq"])
            report.first_broken_seq, report.reason = first["seq"], first["reason"]
    return report


def check_checkpoints(institution_id: int | None = None) -> tuple[int, list[dict]]:
    """Every checkpoint's heads must still name entries with the recorded hashes (one SQL join), and each
    checkpoint's Merkle root must still be the root of its heads."""
    cp, hd, e = LedgerCheckpoint, LedgerCheckpointHead, LedgerEntry
    s = db.session
    total = s.execute(select(func.count()).select_from(cp)).scalar_one()
    where = [] if institution_id is None else [hd.institution_id == institution_id]
    rows = s.execute(
        select(cp.period, cp.period_end, hd.institution_id, hd.chain_seq, hd.seq, hd.hash, e.hash.label("entry_hash"))
        .join(hd, hd.checkpoint_id == cp.id)
        .outerjoin(e, (e.institution_id == hd.institution_id) & (e.chain_seq == hd.chain_seq))
        .where(*where, (e.hash.is_(None)) | (e.hash != hd.hash))
        .order_by(hd.seq, cp.period_end)).all()
    mismatches = [{"period": r.period, "period_end": r.period_end.isoformat(), "institution_id": r.institution_id,
                   "chain_seq": r.chain_seq, "seq": r.seq, "checkpoint_hash": r.hash, "entry_hash": r.entry_hash,
                   "reason": "checkpointed entry missing (ledger truncated or row deleted)" if r.entry_hash is None
                   else "checkpointed entry's hash changed (chain rewritten)"} for r in rows]
    heads: dict[int, list] = {}
    for h in s.execute(select(hd.checkpoint_id, hd.institution_id, hd.chain_seq, hd.hash)):
        heads.setdefault(h.checkpoint_id, []).append(h)
    for c in s.scalars(select(cp).order_by(cp.period_end, cp.period)):
        if ledger.merkle_root(heads.get(c.id, [])) != c.merkle_root:
            mismatches.append({"period": c.period, "period_end": c.period_end.isoformat(), "institution_id": None,
                               "chain_seq": None, "seq": c.seq, "checkpoint_hash": c.merkle_root, "entry_hash": None,
                               "reason": "checkpoint's heads no longer give its Merkle root"})
    return total, mismatches


# --------------------------------------------------------------------------- checkpoints
def latest_checkpoint() -> LedgerCheckpoint | None:
    return db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.period_end.desc(),
                                                                LedgerCheckpoint.seq.desc()).limit(1)).first()


def checkpoint_heads(checkpoint_id: int) -> list[LedgerCheckpointHead]:
    return list(db.session.scalars(select(LedgerCheckpointHead).where(LedgerCheckpointHead.checkpoint_id == checkpoint_id)
                                   .order_by(LedgerCheckpointHead.institution_id)))


def _end_of(day: date) -> datetime:
    """The first instant after ``day`` in the bureau's time zone: entries created before it belong to the day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=TZ)


def _month_end(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def record_checkpoints(up_to: date | None = None) -> list[LedgerCheckpoint]:
    """Record every chain's head and their Merkle root at the end of every finished day and month up to
    ``up_to`` (default yesterday). A day not yet over is refused: its head would still move.

    Idempotent: periods already checkpointed are skipped, so the job can run as often as it likes.
    The head of a chain for a day is its last entry *created* before midnight (Asia/Shanghai),
    whatever its booking date.
    """
    last_finished = today() - timedelta(days=1)
    if up_to is not None and up_to > last_finished:
        raise Invalid(f"只能为已结束的日期记录检查点：{up_to} 尚未结束（最近可记录 {last_finished}）/ only finished days "
                      f"can be checkpointed: {up_to} is not over yet (the latest is {last_finished})",
                      {"up_to": [f"at most {last_finished.isoformat()} (yesterday, Asia/Shanghai)"]})
    up_to = up_to or last_finished
    added: list[LedgerCheckpoint] = []
    with unit_of_work() as s:
        first_at = s.execute(select(func.min(LedgerEntry.created_at))).scalar_one()
        if first_at is None:
            return []
        if first_at.tzinfo is None:  # SQLite returns the stored local time without its zone
            first_at = first_at.replace(tzinfo=TZ)
        first_day = first_at.astimezone(TZ).date()
        for period in PERIODS:
            done = set(s.scalars(select(LedgerCheckpoint.period_end).where(
                LedgerCheckpoint.period == period, LedgerCheckpoint.period_end >= first_day)))
            for end in _period_ends(period, first_day, up_to):
                if end not in done:
                    added.append(_checkpoint(s, period, end))
        s.flush()
    return added


def _checkpoint(s, period: str, end: date) -> LedgerCheckpoint:
    tips = ledger.heads(s, created_before=_end_of(end))
    cp = LedgerCheckpoint(period=period, period_end=end, seq=max((t.seq for t in tips), default=0), chains=len(tips),
                          merkle_root=ledger.merkle_root(tips))
    s.add(cp)
    s.flush()
    s.add_all([LedgerCheckpointHead(checkpoint_id=cp.id, **t.to_dict()) for t in tips])
    return cp


def _period_ends(period: str, first_day: date, up_to: date) -> list[date]:
    ends, d = [], first_day if period == "day" else _month_end(first_day)
    while d <= up_to:
        ends.append(d)
        d = d + timedelta(days=1) if period == "day" else _month_end(d + timedelta(days=1))
    return ends


def list_checkpoints(period: str | None = None):
    stmt = select(LedgerCheckpoint).order_by(LedgerCheckpoint.period_end, LedgerCheckpoint.period)
    if period:
        stmt = stmt.where(LedgerCheckpoint.period == period)
    return stmt


# --------------------------------------------------------------------------- the daily chain head
def chain_heads_now() -> dict:
    """Every chain's head and the Merkle root over them, now, with the latest checkpoint for reference."""
    s = db.session
    tips = ledger.heads(s)
    cp = latest_checkpoint()
    return {"generated_at": now().isoformat(timespec="seconds"), "chains": len(tips),
            "head_seq": max((t.seq for t in tips), default=0), "merkle_root": ledger.merkle_root(tips),
            "heads": [t.to_dict() for t in tips],
            "latest_checkpoint": ({"period": cp.period, "period_end": cp.period_end.isoformat(), "seq": cp.seq,
                                   "merkle_root": cp.merkle_root} if cp else None)}


def _signing_key() -> bytes | None:
    key = current_app.config.get("LEDGER_HEAD_KEY") or os.environ.get("LEDGER_HEAD_KEY")
    return key.encode() if key else None


def daily_head_report(heads: dict | None = None) -> str:
    """The current heads as a signed-off text for the auditors' mailbox (outside the database).

    The last lines are the SHA-256 of everything above them and, when ``LEDGER_HEAD_KEY`` is set, an
    HMAC-SHA256 with that key (kept away from the database administrator). ``check_recorded_heads``
    reads this text back.
    """
    h = heads or chain_heads_now()
    cp = h["latest_checkpoint"]
    lines = ["科研经费总账 每日链头 / ledger daily chain head",
             f"generated_at: {h['generated_at']}",
             f"chains: {h['chains']}  head_seq: {h['head_seq']}",
             f"merkle_root: {h['merkle_root']}",
             "latest_checkpoint: " + (f"{cp['period']} {cp['period_end']} seq {cp['seq']} {cp['merkle_root']}"
                                      if cp else "none"),
             *(f"chain {t['institution_id']} chain_seq {t['chain_seq']} seq {t['seq']} {t['hash']}" for t in h["heads"])]
    body = "\n".join(lines) + "\n"
    signed = body + f"sha256: {hashlib.sha256(body.encode()).hexdigest()}\n"
    key = _signing_key()
    if key:
        signed += f"hmac-sha256: {hmac.new(key, body.encode(), hashlib.sha256).hexdigest()}\n"
    return signed


_HEAD = re.compile(r"^chain (\d+) chain_seq (\d+) seq (\d+) ([0-9a-f]{64})$")


def parse_head_report(text: str) -> dict:
    """The heads and root of a report from ``daily_head_report``; ``Invalid`` if the text was altered."""
    body, _, tail = text.partition("sha256: ")
    digest = tail.split("\n", 1)[0].strip()
    if not digest or hashlib.sha256(body.encode()).hexdigest() != digest:
        raise Invalid("链头报告已被改动 / the head report was altered (its SHA-256 does not match)")
    mac = re.search(r"^hmac-sha256: ([0-9a-f]{64})$", tail, re.M)
    key = _signing_key()
    if key and mac and not hmac.compare_digest(mac.group(1), hmac.new(key, body.encode(), hashlib.sha256).hexdigest()):
        raise Invalid("链头报告签名不符 / the head report's HMAC does not match")
    heads = [{"institution_id": int(m[1]), "chain_seq": int(m[2]), "seq": int(m[3]), "hash": m[4]}
             for m in (_HEAD.match(line) for line in body.splitlines()) if m]
    root = re.search(r"^merkle_root: ([0-9a-f]{64})$", body, re.M)
    return {"heads": heads, "merkle_root": root.group(1) if root else None}


def check_recorded_heads(recorded: dict | str) -> dict:
    """Prove the ledger still holds a previously recorded set of heads (a report text or ``chain_heads_now()``).

    Each recorded head must still be in its chain with the same hash (an entry deleted or rewritten
    after the last checkpoint is caught here), every chain must verify, and the recorded root must be
    the root of the recorded heads. Returns ``{"ok", "heads_checked", "problems"}``.
    """
    if isinstance(recorded, str):
        recorded = parse_head_report(recorded)
    s, e = db.session, LedgerEntry
    problems = []
    if recorded.get("merkle_root") and ledger.merkle_root(recorded["heads"]) != recorded["merkle_root"]:
        problems.append({"institution_id": None, "chain_seq": None, "seq": None,
                         "reason": "recorded heads do not give the recorded Merkle root"})
    for h in recorded["heads"]:
        got = s.execute(select(e.hash).where(e.institution_id == h["institution_id"],
                                             e.chain_seq == h["chain_seq"])).scalar_one_or_none()
        if got != h["hash"]:
            problems.append({**{k: h[k] for k in ("institution_id", "chain_seq", "seq")},
                             "reason": "recorded head missing (entries deleted)" if got is None
                             else "recorded head's hash changed (chain rewritten)"})
    r = ledger.verify(s)
    problems += [{k: b[k] for k in ("institution_id", "chain_seq", "seq", "reason")} for b in r.broken]
    return {"ok": not problems, "heads_checked": len(recorded["heads"]), "problems": problems}
