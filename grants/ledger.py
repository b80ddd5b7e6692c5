"""The append-only, hash-chained ledger (总账): one hash chain per institution.

Every posting — expense, reversal, disbursement, subsidy payment, equity event, adjustment — is a
``LedgerEntry``. Entries form one chain per institution (the chain key is ``institution_id``): each
entry's SHA-256 covers its canonical content (including its global ``seq`` and its place in its chain,
``chain_seq``) and the previous entry's hash *in the same chain*, so editing or deleting any row
breaks its chain from that row on. Postings of different institutions never wait for each other:
PostgreSQL takes a transaction-scoped advisory lock per chain (``pg_advisory_xact_lock(class, institution)``)
and draws the global ``seq`` from a sequence; SQLite has a single writer anyway (transactions begin
IMMEDIATE). A Merkle root over all chain heads (``merkle_root``) pins the whole ledger in one hash: it
is stored in every checkpoint and in the daily head report sent outside the database.
It lives in the lowest package because every domain posts to it.
"""
from __future__ import annotations

import hashlib
from json.encoder import encode_basestring  # the (C) string encoder json.dumps uses with ensure_ascii=False
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Iterable, Optional

from sqlalchemy import Index, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from grants.db import Base, Money, bulk_insert, now

if TYPE_CHECKING:  # only for the annotation of Posting.for_grant; models import nothing from here
    from grants.models import Grant

GENESIS = "0" * 64
LEDGER_LOCK_CLASS = 7_402_117  # first key of pg_advisory_xact_lock(class, institution_id): one lock per chain
SEQUENCE = "ledger_entries_seq"  # PostgreSQL: the global seq, drawn without a lock


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # global, unique, ordered
    chain_seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … within the institution's chain, no gaps
    entry_type: Mapped[str] = mapped_column(String(32), index=True)
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)  # the chain key
    category: Mapped[str] = mapped_column(String(32))
    subject: Mapped[Optional[str]] = mapped_column(String(32))
    amount: Mapped[Money]
    ref_type: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int]
    reverses_seq: Mapped[Optional[int]] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (Index("ix_ledger_entries_ref", "ref_type", "ref_id"),
                      UniqueConstraint("institution_id", "chain_seq"))


class LedgerCheckpoint(Base):
    """Every chain's head at the end of a finished day or month, and the Merkle root over them."""

    __tablename__ = "ledger_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8))  # day | month
    period_end: Mapped[date] = mapped_column(Date)
    seq: Mapped[int]  # the highest global seq among the heads (0: empty ledger)
    chains: Mapped[int] = mapped_column(Integer, default=0)
    merkle_root: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (UniqueConstraint("period", "period_end"),)


class LedgerCheckpointHead(Base):
    """One chain's head in a checkpoint."""

    __tablename__ = "ledger_checkpoint_heads"
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoints.id"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    chain_seq: Mapped[int]
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


class EntryType(StrEnum):
    """What a ledger entry records; the value is what the chain hashes, so it never changes."""

    EXPENSE = "expense"
    REVERSAL = "reversal"
    DISBURSEMENT = "disbursement"
    SUBSIDY_PAYMENT = "subsidy_payment"
    EQUITY_INVESTMENT = "equity_investment"
    EQUITY_EVENT = "equity_event"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Posting:
    entry_type: str
    entry_date: date
    grant_id: int
    institution_id: int
    category: str
    subject: Optional[str]
    amount: Decimal
    ref_type: str
    ref_id: int
    reverses_seq: Optional[int] = None
    memo: str = ""

    @classmethod
    def for_grant(cls, grant: "Grant", entry_type: EntryType, on: date, amount: Decimal, ref_type: str,
                  ref_id: int, *, subject: Optional[str] = None, memo: str = "",
                  reverses_seq: Optional[int] = None) -> "Posting":
        """The one way to build a posting: the grant supplies institution and category."""
        return cls(EntryType(entry_type).value, on, grant.id, grant.institution_id, grant.category.value, subject,
                   amount, ref_type, ref_id, reverses_seq=reverses_seq, memo=memo[:200])


CONTENT_FIELDS = ("seq", "chain_seq", "entry_type", "entry_date", "grant_id", "institution_id", "category",
                  "subject", "amount", "ref_type", "ref_id", "reverses_seq", "memo")


def canonical_content(seq: int, p, chain_seq: Optional[int] = None) -> str:
    """Stable text of an entry: the JSON of its fields with sorted keys, no spaces, amounts as
    two-decimal strings and ISO dates — i.e. exactly ``json.dumps(fields, sort_keys=True,
    ensure_ascii=False, separators=(",", ":"))``, written out field by field because it runs for
    every posting and every verification (a test holds the two equal). ``chain_seq`` defaults to
    the entry's own (a stored row or an exported one carries it; a ``Posting`` does not)."""
    rev = p.reverses_seq
    cs = p.chain_seq if chain_seq is None else chain_seq
    return _CANONICAL % (
        f"{Decimal(p.amount):.2f}", _js(p.category), cs, p.entry_date.isoformat(), _js(p.entry_type), p.grant_id,
        p.institution_id, _js(p.memo), p.ref_id, _js(p.ref_type), "null" if rev is None else int(rev), seq,
        _js(p.subject))


_CANONICAL = ('{"amount":"%s","category":%s,"chain_seq":%d,"entry_date":"%s","entry_type":%s,"grant_id":%d,'
              '"institution_id":%d,"memo":%s,"ref_id":%d,"ref_type":%s,"reverses_seq":%s,"seq":%d,"subject":%s}')


def _js(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + content).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- chain heads and their root
@dataclass(frozen=True, order=True)
class ChainHead:
    institution_id: int
    chain_seq: int
    seq: int
    hash: str

    def to_dict(self) -> dict:
        return asdict(self)


def merkle_root(heads: Iterable) -> str:
    """The Merkle root over chain heads (anything with ``institution_id``, ``chain_seq``, ``hash``).

    Leaves in institution order: ``SHA-256("leaf\\n" + institution_id + ":" + chain_seq + ":" + hash)``;
    a node is ``SHA-256("node\\n" + left + right)``; an odd node is carried up unchanged. No chain at
    all gives ``GENESIS``. Any changed, added or removed head changes the root.
    """
    def get(h, k):
        return h[k] if isinstance(h, dict) else getattr(h, k)

    leaves = sorted((int(get(h, "institution_id")), int(get(h, "chain_seq")), get(h, "hash")) for h in heads)
    level = [hashlib.sha256(f"leaf\n{i}:{cs}:{h}".encode()).hexdigest() for i, cs, h in leaves]
    if not level:
        return GENESIS
    while len(level) > 1:
        nxt = [hashlib.sha256(f"node\n{level[k]}{level[k + 1]}".encode()).hexdigest()
               for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def heads(session: Session, *, created_before: Optional[datetime] = None, seq_to: Optional[int] = None,
          institution_id: Optional[int] = None) -> list[ChainHead]:
    """Every chain's head (its highest ``chain_seq``), optionally as it stood before an instant or a seq."""
    e = LedgerEntry.__table__.c
    cond = []
    if created_before is not None:
        cond.append(e.created_at < created_before)
    if seq_to is not None:
        cond.append(e.seq <= seq_to)
    if institution_id is not None:
        cond.append(e.institution_id == institution_id)
    top = select(e.institution_id, func.max(e.chain_seq).label("m")).where(*cond).group_by(e.institution_id).subquery()
    rows = session.execute(select(e.institution_id, e.chain_seq, e.seq, e.hash)
                           .join(top, (e.institution_id == top.c.institution_id) & (e.chain_seq == top.c.m))
                           .order_by(e.institution_id)).all()
    return [ChainHead(*r) for r in rows]


# --------------------------------------------------------------------------- posting
def _lock_chain(session: Session, institution_id: int, pg: bool, read_head: bool = True) -> tuple[int, str] | None:
    """Lock one institution's chain for the rest of the transaction and read its head."""
    if pg:
        session.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": LEDGER_LOCK_CLASS, "k": institution_id})
    if not read_head:
        return None
    e = LedgerEntry.__table__.c
    row = session.execute(select(e.chain_seq, e.hash).where(e.institution_id == institution_id)
                          .order_by(e.chain_seq.desc()).limit(1)).first()
    return (row.chain_seq, row.hash) if row else (0, GENESIS)


def _next_seqs(session: Session, n: int, pg: bool) -> list[int]:
    """``n`` global sequence numbers: from the sequence on PostgreSQL (no lock; a rolled-back posting
    leaves a gap), after the highest on SQLite (its one writer holds the database lock)."""
    if pg:
        return sorted(session.execute(text(f"SELECT nextval('{SEQUENCE}') FROM generate_series(1, :n)"),
                                      {"n": n}).scalars())
    top = session.execute(select(func.max(LedgerEntry.seq))).scalar_one() or 0
    return list(range(top + 1, top + n + 1))


# PostgreSQL, one chain (every single posting): its head and the seqs in one statement, after the lock (a
# statement of its own: the read must take its snapshot once the lock is held)
_HEAD_AND_SEQS = text(
    "SELECT (SELECT chain_seq FROM ledger_entries WHERE institution_id = :i ORDER BY chain_seq DESC LIMIT 1), "
    "(SELECT hash FROM ledger_entries WHERE institution_id = :i ORDER BY chain_seq DESC LIMIT 1), "
    f"ARRAY(SELECT nextval('{SEQUENCE}') FROM generate_series(1, :n))")


def post(session: Session, postings: Iterable[Posting]) -> list[dict]:
    """Append postings to their institutions' chains inside the caller's transaction; never commits.

    Chains are locked in institution order (so two multi-chain postings cannot deadlock each other),
    then the global seqs are drawn, so within a chain ``seq`` rises with ``chain_seq``. Returns the
    inserted rows in the order of ``postings``.
    """
    postings = list(postings)
    if not postings:
        return []
    pg = session.get_bind().dialect.name == "postgresql"
    by_chain: dict[int, list[int]] = {}
    for i, p in enumerate(postings):
        by_chain.setdefault(p.institution_id, []).append(i)
    if pg and len(by_chain) == 1:
        (inst,) = by_chain
        _lock_chain(session, inst, pg, read_head=False)
        chain_seq, head, seqs = session.execute(_HEAD_AND_SEQS, {"i": inst, "n": len(postings)}).one()
        tips = {inst: (chain_seq, head) if chain_seq is not None else (0, GENESIS)}
        seqs = sorted(seqs)
    else:
        tips = {inst: _lock_chain(session, inst, pg) for inst in sorted(by_chain)}
        seqs = _next_seqs(session, len(postings), pg)
    rows: list = [None] * len(postings)
    created = now()
    for inst, (chain_seq, head) in tips.items():
        for i in by_chain[inst]:
            p, chain_seq = postings[i], chain_seq + 1
            content = canonical_content(seqs[i], p, chain_seq)
            prev, head = head, chain_hash(head, content)
            rows[i] = {**{f: getattr(p, f) for f in CONTENT_FIELDS if f not in ("seq", "chain_seq")},
                       "seq": seqs[i], "chain_seq": chain_seq, "content": content, "prev_hash": prev, "hash": head,
                       "created_at": created}
    if pg and len(rows) >= COPY_FROM:
        _copy_rows(session, rows)
    else:
        bulk_insert(session, LedgerEntry.__table__, rows)
    return rows


COPY_FROM = 500  # PostgreSQL: from this many rows, COPY … FROM STDIN (several times faster than executemany)


def _copy_rows(session: Session, rows: list[dict]) -> None:
    cols = list(rows[0])
    cur = session.connection().connection.driver_connection.cursor()
    with cur, cur.copy(f"COPY ledger_entries ({', '.join(cols)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row([r[c] for c in cols])


def seq_of(session: Session, ref_type: str, ref_id: int, entry_type: str = "expense") -> Optional[int]:
    """The sequence number of the entry that posted a record (what a reversal points back to)."""
    return session.execute(select(LedgerEntry.seq).where(
        LedgerEntry.ref_type == ref_type, LedgerEntry.ref_id == ref_id, LedgerEntry.entry_type == entry_type)
        .order_by(LedgerEntry.seq.desc()).limit(1)).scalar_one_or_none()


# --------------------------------------------------------------------------- verification
@dataclass
class VerifyResult:
    ok: bool
    entries: int
    head_seq: int  # the highest global seq among the verified heads
    merkle_root: str  # over the verified heads
    heads: list[ChainHead] = field(default_factory=list)
    broken: list[dict] = field(default_factory=list)  # per chain: institution_id, chain_seq, seq, reason

    @property
    def first_broken_seq(self) -> Optional[int]:
        return min((b["seq"] for b in self.broken), default=None)

    @property
    def reason(self) -> str:
        first = min(self.broken, key=lambda b: b["seq"], default=None)
        return first["reason"] if first else ""


def verify(session: Session, institution_id: Optional[int] = None, starts: Optional[dict] = None,
           batch: int = 10_000) -> VerifyResult:
    """Recompute every chain (or one) from the stored fields and report, per chain, the first entry
    that does not match. ``starts`` maps an institution to the ``(chain_seq, hash)`` to start after
    (a checkpoint's head; a third element, the head's ``seq``, is reported back if given); chains without
    one start at ``GENESIS``."""
    starts = starts or {}
    e = LedgerEntry.__table__.c
    stmt = select(e.institution_id).distinct()
    if institution_id is not None:
        stmt = stmt.where(e.institution_id == institution_id)
    chains = set(session.execute(stmt).scalars())
    chains |= {i for i in starts if institution_id in (None, i)}
    total, tips, broken = 0, [], []
    for inst in sorted(chains):
        start_cs, start_hash, *start_seq = starts.get(inst, (0, GENESIS))
        count, tip, brk = _verify_chain(session, inst, start_cs, start_hash, start_seq[0] if start_seq else 0, batch)
        total += count
        if tip is not None:
            tips.append(tip)
        if brk is not None:
            broken.append(brk)
    return VerifyResult(not broken, total, max((t.seq for t in tips), default=0), merkle_root(tips), tips, broken)


def _verify_chain(session, inst: int, start_cs: int, start_hash: str, start_seq: int, batch: int):
    e = LedgerEntry.__table__.c
    cols = [e[f] for f in CONTENT_FIELDS] + [e.content, e.prev_hash, e.hash]
    head, expected, count = start_hash, start_cs + 1, 0
    tip = ChainHead(inst, start_cs, start_seq, start_hash) if start_cs else None

    def broke(r, reason):
        return count, tip, {"institution_id": inst, "chain_seq": r.chain_seq, "seq": r.seq, "reason": reason}

    while True:
        rows = session.execute(select(*cols).where(e.institution_id == inst, e.chain_seq >= expected)
                               .order_by(e.chain_seq).limit(batch)).all()
        if not rows:
            return count, tip, None
        for r in rows:
            if r.chain_seq != expected:
                return broke(r, f"missing entry (gap in chain: chain_seq {expected} absent)")
            content = canonical_content(r.seq, r)
            if content != r.content:
                return broke(r, "stored fields differ from hashed content")
            if r.prev_hash != head:
                return broke(r, "previous-hash link broken")
            h = chain_hash(head, content)
            if h != r.hash:
                return broke(r, "hash does not match content")
            head, expected, count = h, expected + 1, count + 1
            tip = ChainHead(inst, r.chain_seq, r.seq, h)
