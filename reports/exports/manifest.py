"""The manifest of an export (rows, sums by subject, chain ends, SHA-256 of the file) and verifying a file
against it without the database.

Outputs are deterministic for the same rows (fixed timestamps), so a manifest can be recomputed later
and still name the same SHA-256.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from sqlalchemy import func, select

from grants.db import CENT
from grants.ledger import (GENESIS, LedgerCheckpoint, LedgerCheckpointHead, LedgerEntry, canonical_content, chain_hash,
                           merkle_root)
from reports.exports.formats import export_chunks, read_rows
from reports.exports.rows import COLUMNS, LedgerFilter, filename
from reports.queries import money_cents, yuan


def ledger_figures(session, flt: LedgerFilter) -> dict:
    """Row count, sums by subject and each chain's ends in the exported rows — from SQL, not the file."""
    t = LedgerEntry.__table__.c
    dialect = session.get_bind().dialect.name
    where = flt.clauses()
    by_subject = session.execute(select(t.subject, func.count(), money_cents(t.amount, dialect))
                                 .where(*where).group_by(t.subject).order_by(t.subject.nulls_first())).all()
    rows = sum(r[1] for r in by_subject)
    ends = (select(t.institution_id, func.min(t.chain_seq).label("lo"), func.max(t.chain_seq).label("hi"),
                   func.count().label("n")).where(*where).group_by(t.institution_id).subquery())
    f, last = LedgerEntry.__table__.alias("f"), LedgerEntry.__table__.alias("l")
    chains = [{"institution_id": r[0], "rows": r[1], "first_chain_seq": r[2], "first_seq": r[3],
               "first_prev_hash": r[4], "first_hash": r[5], "last_chain_seq": r[6], "last_seq": r[7], "last_hash": r[8]}
              for r in session.execute(
                  select(ends.c.institution_id, ends.c.n, f.c.chain_seq, f.c.seq, f.c.prev_hash, f.c.hash,
                         last.c.chain_seq, last.c.seq, last.c.hash)
                  .join(f, (f.c.institution_id == ends.c.institution_id) & (f.c.chain_seq == ends.c.lo))
                  .join(last, (last.c.institution_id == ends.c.institution_id) & (last.c.chain_seq == ends.c.hi))
                  .order_by(ends.c.institution_id))]
    return {
        "row_count": rows,
        "total_amount": yuan(sum(r[2] or 0 for r in by_subject)),
        "sums_by_subject": [{"subject": r[0], "rows": r[1], "amount": yuan(r[2])} for r in by_subject],
        "chain": {
            "contiguous": flt.contiguous, "all_chains": flt.all_chains, "head_seq": flt.seq_to,
            "first_seq": min((c["first_seq"] for c in chains), default=None),
            "last_seq": max((c["last_seq"] for c in chains), default=None),
            "chains": chains,
            # the exported heads are the ledger's heads at seq_to: their root pins the whole ledger
            "merkle_root": merkle_root({"institution_id": c["institution_id"], "chain_seq": c["last_chain_seq"],
                                        "hash": c["last_hash"]} for c in chains) if flt.all_chains else None,
        },
        "checkpoint": _checkpoint(session, flt),
    }


def _checkpoint(session, flt: LedgerFilter) -> dict | None:
    """The latest checkpoint inside the export's pin, with its heads (of the exported institution only, if one)."""
    cp, hd = LedgerCheckpoint, LedgerCheckpointHead
    c = session.execute(select(cp).where(cp.seq > 0, cp.seq <= flt.seq_to)
                        .order_by(cp.seq.desc(), cp.period_end.desc()).limit(1)).scalars().first()
    if c is None:
        return None
    stmt = select(hd.institution_id, hd.chain_seq, hd.seq, hd.hash).where(hd.checkpoint_id == c.id)
    if flt.institution_id is not None:
        stmt = stmt.where(hd.institution_id == flt.institution_id)
    return {"period": c.period, "period_end": c.period_end.isoformat(), "seq": c.seq, "merkle_root": c.merkle_root,
            "heads": [dict(r._mapping) for r in session.execute(stmt.order_by(hd.institution_id))]}


def checkpoint_heads_for_verification(session) -> list[dict]:
    """Every recorded checkpoint head, as ``verify_export`` takes them (``--against-db``)."""
    cp, hd = LedgerCheckpoint, LedgerCheckpointHead
    return [dict(r._mapping) for r in session.execute(
        select(cp.period, cp.period_end, hd.institution_id, hd.chain_seq, hd.seq, hd.hash)
        .join(hd, hd.checkpoint_id == cp.id))]


def build_manifest(session, fmt: str, flt: LedgerFilter, chunks: Iterable[bytes], name: str | None = None) -> dict:
    """Consume the export's bytes (hashing them) and describe them."""
    digest, size = hashlib.sha256(), 0
    for c in chunks:
        digest.update(c)
        size += len(c)
    return {"file": name or filename(fmt, flt), "format": fmt, "sha256": digest.hexdigest(), "bytes": size,
            "columns": list(COLUMNS), "filters": flt.to_dict(), **ledger_figures(session, flt),
            "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "hash_rule": "one chain per institution_id, linked by prev_hash in chain_seq order; hash = SHA-256(prev_hash + "
                         "'\\n' + canonical_content); canonical_content = compact JSON of the content fields (with seq "
                         "and chain_seq), sorted keys, amount with two decimals, ISO date; merkle_root = Merkle tree "
                         "over SHA-256('leaf\\n' + institution_id:chain_seq:hash) of each chain's head, in "
                         "institution order, nodes SHA-256('node\\n' + left + right), an odd node carried up"}


def write_export(session, conn, fmt: str, flt: LedgerFilter, path: str | Path) -> dict:
    """The CLI's export: the file and ``<file>.manifest.json`` beside it, in one pass over the rows."""
    path = Path(path)
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as fh:
        for chunk in export_chunks(conn, fmt, flt):
            digest.update(chunk)
            size += len(chunk)
            fh.write(chunk)
    manifest = build_manifest(session, fmt, flt, (), path.name)
    manifest.update(sha256=digest.hexdigest(), bytes=size)
    Path(str(path) + ".manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def verify_export(path: str | Path, manifest: dict, checkpoints: Iterable[dict] = ()) -> dict:
    """Check an exported file against its manifest, without the database.

    Every row must hash to its own ``hash`` from its ``prev_hash``; a contiguous export (whole chains)
    must also link row to row within each institution's chain, from the manifest's first ``prev_hash``
    of that chain to its last hash, with no ``chain_seq`` missing; an export of all chains must give
    the manifest's Merkle root; and any checkpoint head (the manifest's own, or ones given from the
    database) inside the file must match its row. Returns ``{"ok", "rows", "problems": [...]}`` naming
    the first seq that fails each check.
    """
    path = Path(path)
    problems: list[dict] = []
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != manifest.get("sha256"):
        problems.append({"seq": None, "reason": "file SHA-256 differs from the manifest"})
    chain = manifest.get("chain", {})
    declared = {c["institution_id"]: c for c in chain.get("chains", [])}
    cps = {(int(c["institution_id"]), int(c["chain_seq"])): c for c in checkpoints}
    own = manifest.get("checkpoint") or {}
    for h in own.get("heads", []):
        cps.setdefault((h["institution_id"], h["chain_seq"]), {**h, "period": own["period"],
                                                               "period_end": own["period_end"]})
    tips: dict[int, tuple[int, str]] = {}  # institution → (chain_seq, hash) of its last row read
    rows, cents = 0, Decimal(0)
    for r in read_rows(path, manifest["format"]):
        rows += 1
        cents += r.amount
        content = canonical_content(r.seq, r)
        if chain_hash(r.prev_hash, content) != r.hash:
            problems.append({"seq": r.seq, "reason": "row does not hash to its recorded hash (edited)"})
            break
        if chain.get("contiguous"):
            d = declared.get(r.institution_id, {})
            want_cs, want_prev = tips.get(r.institution_id, (d.get("first_chain_seq", 1) - 1,
                                                             d.get("first_prev_hash", GENESIS)))
            if r.chain_seq != want_cs + 1:
                problems.append({"seq": r.seq, "reason": f"missing entry (gap in chain {r.institution_id}: "
                                                         f"chain_seq {want_cs + 1} absent)"})
                break
            if r.prev_hash != want_prev:
                problems.append({"seq": r.seq, "reason": "previous-hash link broken"})
                break
        cp = cps.get((r.institution_id, r.chain_seq))
        if cp is not None and cp["hash"] != r.hash:
            problems.append({"seq": r.seq, "reason": f"differs from the {cp.get('period', '')} checkpoint "
                                                     f"{cp.get('period_end', '')}"})
            break
        tips[r.institution_id] = (r.chain_seq, r.hash)
    if not problems:
        if rows != manifest.get("row_count"):
            problems.append({"seq": None, "reason": f"{rows} rows, manifest says {manifest.get('row_count')}"})
        if f"{cents.quantize(CENT):.2f}" != manifest.get("total_amount"):
            problems.append({"seq": None, "reason": "total amount differs from the manifest"})
        for inst, d in declared.items():
            if tips.get(inst, (None, None))[1] != d["last_hash"]:
                problems.append({"seq": d["last_seq"], "reason": f"chain {inst}'s last row is not the manifest's head"})
        if set(tips) - set(declared):
            problems.append({"seq": None, "reason": "rows of chains the manifest does not name"})
        root = chain.get("merkle_root")
        if root and merkle_root({"institution_id": i, "chain_seq": cs, "hash": h} for i, (cs, h) in tips.items()) != root:
            problems.append({"seq": None, "reason": "the file's chain heads do not give the manifest's Merkle root"})
    return {"ok": not problems, "rows": rows, "problems": problems}
