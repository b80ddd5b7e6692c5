"""CSV: UTF-8 with BOM, ``\\n`` line ends, RFC 4180 quoting; an empty unquoted field is NULL.

Memo is always quoted, subject when it needs it, code columns (entry_type, category, ref_type: identifiers
the application sets) bare. PostgreSQL formats the lines with ``COPY … TO STDOUT`` told the same
(``FORCE_QUOTE (memo)``); SQLite builds them with one ``printf()`` per row, so both backends write
byte-identical files.
"""
from __future__ import annotations

import csv
import gc
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from psycopg import sql

from reports.exports.rows import BOM, COLUMNS, LedgerFilter, text_columns, typed, where_sql

CSV_BATCH = 5_000   # finished CSV lines per chunk: small chunks keep peak memory low and are no slower

_SQLITE_SUBJECT = ("CASE WHEN subject IS NULL THEN '' WHEN subject = '' OR instr(subject, ',') OR instr(subject, '\"') "
                   "OR instr(subject, char(10)) OR instr(subject, char(13)) "
                   "THEN '\"' || replace(subject, '\"', '\"\"') || '\"' ELSE subject END")


def csv_lines_sql(flt: LedgerFilter) -> tuple[str, dict]:
    """SQLite: one finished CSV line per row from a single printf() (the cheapest formatting it offers)."""
    where, params = where_sql(flt, "sqlite")
    line = ("printf('%d,%d,%s,%s,%d,%d,%s,%s,%.2f,%s,%d,%s,\"%s\",%s,%s', seq, chain_seq, entry_type, entry_date, grant_id, "
            f"institution_id, category, {_SQLITE_SUBJECT}, amount, ref_type, ref_id, coalesce(reverses_seq, ''), "
            "replace(memo, '\"', '\"\"'), prev_hash, hash)")
    # as BLOB: the UTF-8 bytes come back as they are, with no decode here and encode again later
    return f"SELECT CAST({line} AS BLOB) FROM ledger_entries WHERE {where} ORDER BY seq", params


def copy_sql(flt: LedgerFilter, driver_conn) -> str:
    """PostgreSQL: ``COPY (SELECT …) TO STDOUT`` with the filter values bound client-side."""
    where, params = where_sql(flt, "postgresql")
    query = f"SELECT {', '.join(text_columns('postgresql'))} FROM ledger_entries WHERE {where} ORDER BY seq"
    bound = sql.SQL(query.replace("%(", "{").replace(")s", "}")).format(
        **{k: sql.Literal(v) for k, v in params.items()})
    return "COPY (" + bound.as_string(driver_conn) + ") TO STDOUT WITH (FORMAT csv, FORCE_QUOTE (memo))"


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = True


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while COPY hands over one small buffer per row.

    The loop makes only short-lived, acyclic objects (freed by reference counting), but a million of
    them trigger collections that walk the whole heap: this halves the export's time. Process-wide,
    so it counts its users and re-enables when the last one leaves.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
        _gc_pausers += 1
        gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def csv_chunks(conn, flt: LedgerFilter, batch: int = CSV_BATCH) -> Iterator[bytes]:
    yield BOM + (",".join(COLUMNS) + "\n").encode()
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        buf, size = [], 0
        with _gc_paused(), driver.cursor() as cur, cur.copy(copy_sql(flt, driver)) as copy:
            for data in copy:
                buf.append(data)
                size += len(data)
                if size >= 1 << 20:
                    yield b"".join(buf)
                    buf, size = [], 0
        if buf:
            yield b"".join(buf)
        return
    query, params = csv_lines_sql(flt)
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.arraysize = batch
        cur.execute(query, params)
        while True:
            rows = cur.fetchmany()
            if not rows:
                break
            yield b"\n".join([r[0] for r in rows]) + b"\n"
    finally:
        cur.close()


def read_csv_rows(path: Path) -> Iterator:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            yield typed(rec)
