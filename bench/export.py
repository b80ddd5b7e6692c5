"""Ledger export benchmark: the app's streamed CSV export of N ledger rows (default 1,000,000) against
the database's own raw dump of the same rows in the same run (``sqlite3 -csv`` / ``COPY … TO STDOUT``).

Prints the time ratio (target ≤ 1.5×), time to first byte and the export process's peak RSS (target
< 200 MB). Parquet is measured too (``BENCH_FORMATS=csv,parquet,xlsx`` to add XLSX, which is slow).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path


from bench import common

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))  # best of: the machine is shared, so take the fastest run of each
FORMATS = [f for f in os.environ.get("BENCH_FORMATS", "csv,parquet").split(",") if f]


def generate_ledger(app, rows: int) -> None:
    """N ledger rows on their institutions' chains, hashed in a tight loop and bulk-inserted (executemany / COPY)."""
    from grants.extensions import db
    from grants.ledger import GENESIS, Posting, canonical_content, chain_hash

    types = ("expense", "expense", "expense", "disbursement", "reversal")
    subjects = ("equipment", "operations", "labour", "indirect")
    cats = ("competitive", "stable", "post_subsidy", "grant_to_equity")
    created = datetime.now().astimezone()
    start = date(2024, 1, 1)
    tips: dict[int, tuple[int, str]] = {}  # institution → (chain_seq, hash) of its chain's head
    batch: list[tuple] = []
    with app.app_context():
        conn = db.session.connection()
        pg = conn.dialect.name == "postgresql"
        raw = conn.connection.driver_connection
        cols = ("seq, chain_seq, entry_type, entry_date, grant_id, institution_id, category, subject, amount, ref_type, ref_id, "
                "reverses_seq, memo, content, prev_hash, hash, created_at")

        def flush():
            if not batch:
                return
            if pg:
                with raw.cursor() as cur, cur.copy(f"COPY ledger_entries ({cols}) FROM STDIN") as cp:
                    for r in batch:
                        cp.write_row(r)
            else:
                raw.executemany(f"INSERT INTO ledger_entries ({cols}) VALUES ({', '.join('?' * 17)})",
                                [(*r[:3], r[3].isoformat(), *r[4:8], float(r[8]), *r[9:16], r[16].isoformat(" "))
                                 for r in batch])
            batch.clear()

        for seq in range(1, rows + 1):
            g = seq % common.GRANTS + 1
            kind = types[seq % 5]
            subject = None if kind == "disbursement" else subjects[seq % 4]
            amount = Decimal(seq % 997_001 + 1) / 100
            if kind == "reversal":
                amount = -amount
            p = Posting(kind, start + timedelta(days=seq % 700), g, common.institution_of(g), cats[g % 4], subject,
                        amount, "expense", seq, seq - 1 if kind == "reversal" else None,
                        "实验材料, 试剂" if seq % 7 == 0 else "差旅费")
            chain_seq, prev = tips.get(p.institution_id, (0, GENESIS))
            content = canonical_content(seq, p, chain_seq + 1)
            head = chain_hash(prev, content)
            tips[p.institution_id] = (chain_seq + 1, head)
            batch.append((seq, chain_seq + 1, p.entry_type, p.entry_date, p.grant_id, p.institution_id, p.category, p.subject,
                          p.amount, p.ref_type, p.ref_id, p.reverses_seq, p.memo, content, prev, head, created))
            if len(batch) >= 50_000:
                flush()
        flush()
        if pg:
            conn.exec_driver_sql(f"SELECT setval('ledger_entries_seq', {rows})")
        db.session.commit()


def raw_dump(backend: str, url: str, out: Path) -> float:
    """The database's own dump of the same columns, as the export shows them, to a file."""
    from reports.exports import LedgerFilter, select_sql

    query, _ = select_sql(LedgerFilter(seq_to=ROWS), "postgresql" if backend == "postgresql" else "sqlite")
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        if backend == "sqlite":
            sql = query.replace(":seq_to", str(ROWS))
            subprocess.run(["sqlite3", "-csv", url[len("sqlite:///"):], sql], stdout=fh, check=True)
        else:
            sql = query.replace("%(seq_to)s", str(ROWS))
            db = url.rsplit("/", 1)[1]
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-q", "-c",
                            f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"], stdout=fh, check=True)
    return time.perf_counter() - t0


def child(url: str, token: str, fmt: str, out: str) -> None:
    """One export through the HTTP endpoint (test client, streamed), in its own process."""
    app = common.make_app(url)
    client = app.test_client()
    idle = common.peak_rss_mb()
    t0 = time.perf_counter()
    first = None
    size = 0
    resp = client.get(f"/api/v1/ledger/export?format={fmt}", headers={"Authorization": f"Bearer {token}"},
                      buffered=False)
    assert resp.status_code == 200, resp.status_code
    with open(out, "wb") as fh:
        for chunk in resp.response:
            if first is None:
                first = time.perf_counter() - t0
            size += len(chunk)
            fh.write(chunk)
    resp.close()
    print(json.dumps({"seconds": time.perf_counter() - t0, "first_byte": first, "bytes": size,
                      "peak_rss_mb": common.peak_rss_mb(), "idle_rss_mb": idle, "streamed": resp.is_streamed}))


def main() -> list[str]:
    lines = []
    for backend in common.backends():
        t0 = time.perf_counter()
        url = common.fresh_database(backend)
        app = common.make_app(url)
        token = common.seed_registry(app)
        generate_ledger(app, ROWS)
        setup = time.perf_counter() - t0
        common.OUT.mkdir(parents=True, exist_ok=True)
        raw_file = common.OUT / f"raw-{backend}.csv"
        raw = min(raw_dump(backend, url, raw_file) for _ in range(RUNS))
        for fmt in FORMATS:
            out = common.OUT / f"export-{backend}.{fmt}"
            runs = [common.run_child("bench.export", "--child", url, token, fmt, str(out))
                    for _ in range(RUNS if fmt == "csv" else 1)]
            r = min(runs, key=lambda x: x["seconds"])
            r["peak_rss_mb"] = max(x["peak_rss_mb"] for x in runs)
            line = (f"export [{backend}] {ROWS:,} rows {fmt:7}: {r['seconds']:.2f}s (best of {len(runs)}), first byte after "
                    f"{r['first_byte'] * 1000:.0f} ms, peak RSS {r['peak_rss_mb']:.0f} MB "
                    f"(app before the request {r['idle_rss_mb']:.0f} MB), {r['bytes'] / 1e6:.0f} MB"
                    + (f"; raw dump {raw:.2f}s (best of {RUNS}) → ratio {r['seconds'] / raw:.2f}× (target ≤ 1.5×)" if fmt == "csv" else ""))
            print(line, flush=True)
            lines.append(line)
        print(f"  (set-up: {setup:.0f}s to generate and insert {ROWS:,} chained rows)", flush=True)
        for f in common.OUT.glob(f"*-{backend}.*"):
            f.unlink()
    return lines


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
