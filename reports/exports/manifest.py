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
from grants.ledger import LedgerCheckpoint, LedgerEntry, canonical_content, chain_hash
from reports.exports.formats import export_chunks, read_rows
from reports.exports.rows import COLUMNS, LedgerFilter, filename
from reports.queries import money_cents, yuan


def ledger_figures(session, flt: LedgerFilter) -> dict:
    """Row count, sums by subject and the chain ends of the exported rows — from SQL, not the file."""
    t = LedgerEntry.__table__.c
    dialect = session.get_bind().dialect.name
    where = flt.clauses()
    by_subject = session.execute(select(t.subject, func.count(), money_cents(t.amount, dialect))
                                 .where(*where).group_by(t.subject).order_by(t.subject.nulls_first())).all()
    ends = session.execute(select(func.min(t.seq), func.max(t.seq)).where(*where)).one()
    first = last = None
    if ends[0] is not None:
        first = session.execute(select(t.seq, t.prev_hash, t.hash).where(t.seq == ends[0])).one()
        last = session.execute(select(t.seq, t.prev_hash, t.hash).where(t.seq == ends[1])).one()
    rows = sum(r[1] for r in by_subject)
    checkpoints = session.execute(
        select(LedgerCheckpoint.period, LedgerCheckpoint.period_end, LedgerCheckpoint.seq, LedgerCheckpoint.hash)
        .where(LedgerCheckpoint.seq >= (ends[0] or 0), LedgerCheckpoint.seq <= (ends[1] or 0),
               LedgerCheckpoint.seq > 0)
        .order_by(LedgerCheckpoint.seq.desc(), LedgerCheckpoint.period_end.desc()).limit(1)).first()
    return {
        "row_count": rows,
        "total_amount": yuan(sum(r[2] or 0 for r in by_subject)),
        "sums_by_subject": [{"subject": r[0], "rows": r[1], "amount": yuan(r[2])} for r in by_subject],
        "chain": {
            "contiguous": flt.contiguous,
            "first_seq": first.seq if first else None, "first_prev_hash": first.prev_hash if first else None,
            "first_hash": first.hash if first else None,
            "last_seq": last.seq if last else None, "last_hash": last.hash if last else None,
            "head_seq": flt.seq_to,
        },
        "checkpoint": ({"period": checkpoints.period, "period_end": checkpoints.period_end.isoformat(),
                        "seq": checkpoints.seq, "hash": checkpoints.hash} if checkpoints else None),
    }


def build_manifest(session, fmt: str, flt: LedgerFilter, chunks: Iterable[bytes], name: str | None = None) -> dict:
    """Consume the export's bytes (hashing them) and describe them."""
    digest, size = hashlib.sha256(), 0
    for c in chunks:
        digest.update(c)
        size += len(c)
    return {"file": name or filename(fmt, flt), "format": fmt, "sha256": digest.hexdigest(), "bytes": size,
            "columns": list(COLUMNS), "filters": flt.to_dict(), **ledger_figures(session, flt),
            "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "hash_rule": "hash = SHA-256(prev_hash + '\\n' + canonical_content); canonical_content = compact JSON of "
                         "the content fields, sorted keys, amount with two decimals, ISO date"}


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

    Every row must hash to its own ``hash`` from its ``prev_hash``; a contiguous export must also link
    row to row from the manifest's first ``prev_hash`` to its head hash; and any checkpoint (the
    manifest's own, or ones given from the database) inside the exported range must match its row.
    Returns ``{"ok", "rows", "problems": [...]}`` naming the first seq that fails each check.
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
    cps = {c["seq"]: c for c in checkpoints}
    if manifest.get("checkpoint"):
        cps.setdefault(manifest["checkpoint"]["seq"], manifest["checkpoint"])
    prev_expected = chain.get("first_prev_hash")
    rows, cents, last = 0, Decimal(0), None
    for r in read_rows(path, manifest["format"]):
        rows += 1
        cents += r.amount
        content = canonical_content(r.seq, r)
        if chain_hash(r.prev_hash, content) != r.hash:
            problems.append({"seq": r.seq, "reason": "row does not hash to its recorded hash (edited)"})
            break
        if chain.get("contiguous"):
            if last is not None and r.seq != last.seq + 1:
                problems.append({"seq": last.seq + 1, "reason": "missing entry (gap in sequence)"})
                break
            if r.prev_hash != prev_expected:
                problems.append({"seq": r.seq, "reason": "previous-hash link broken"})
                break
        cp = cps.get(r.seq)
        if cp is not None and cp["hash"] != r.hash:
            problems.append({"seq": r.seq, "reason": f"differs from the {cp.get('period', '')} checkpoint "
                                                     f"{cp.get('period_end', '')}"})
            break
        prev_expected, last = r.hash, r
    if not problems:
        if rows != manifest.get("row_count"):
            problems.append({"seq": None, "reason": f"{rows} rows, manifest says {manifest.get('row_count')}"})
        if f"{cents.quantize(CENT):.2f}" != manifest.get("total_amount"):
            problems.append({"seq": None, "reason": "total amount differs from the manifest"})
        if last is not None and last.hash != chain.get("last_hash"):
            problems.append({"seq": last.seq, "reason": "last row is not the manifest's head hash"})
    return {"ok": not problems, "rows": rows, "problems": problems}
