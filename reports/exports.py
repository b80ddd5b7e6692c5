"""Ledger exports for auditors: CSV, XLSX and Parquet, streamed in bounded memory, with a manifest.

Every format carries the same columns: the fields the hash chain covers plus each row's
``prev_hash`` and ``hash``, so an exported file can be verified on its own (see ``verify_export``).
Rows are read in batches through one database cursor (a server-side cursor / ``COPY … TO STDOUT``
on PostgreSQL), and bytes leave as soon as a batch is formatted:

* CSV: UTF-8 with BOM, ``\\n`` line ends, RFC 4180 quoting (memo always quoted, subject when needed,
  code columns bare); an empty unquoted field is NULL. PostgreSQL formats it with ``COPY``; SQLite
  builds the same lines with one ``printf()`` per row, so both backends write byte-identical files.
* Parquet: one row group per batch; money is ``decimal128(18, 2)``, dates ``date32``.
* XLSX: openpyxl write-only mode (rows go to a temporary file); the zip is streamed when the sheet is
  complete. Money is a number with format ``0.00``. Over 1,048,575 rows continue on a new sheet.

Outputs are deterministic for the same rows (fixed workbook timestamps), so a manifest can be
recomputed later and still name the same SHA-256.
"""
from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import queue
import re
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable, Iterator

from sqlalchemy import func, select

from grants.access import confined_to
from grants.db import CENT
from grants.errors import Invalid, NotFound
from grants.ledger import GENESIS, LedgerCheckpoint, LedgerEntry, canonical_content, chain_hash
from grants.models import User
from reports.queries import money_cents, yuan

COLUMNS = ("seq", "entry_type", "entry_date", "grant_id", "institution_id", "category", "subject", "amount",
           "ref_type", "ref_id", "reverses_seq", "memo", "prev_hash", "hash")
INT_COLUMNS = ("seq", "grant_id", "institution_id", "ref_id", "reverses_seq")
FORMATS = ("csv", "xlsx", "parquet")
MIMETYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "zip": "application/zip"}
BOM = b"\xef\xbb\xbf"
BATCH = 20_000      # rows per XLSX batch
PARQUET_BATCH = 5_000  # rows per Parquet row group: the writer's buffers grow with it (50,000 rows cost ~90 MB more)
CSV_BATCH = 5_000   # finished CSV lines per chunk: small chunks keep peak memory low and are no slower
XLSX_MAX_ROWS = 1_048_575  # one header row per sheet
FIXED_TIME = datetime(2000, 1, 1)  # workbook and zip member timestamps: the bytes depend on the rows only


# --------------------------------------------------------------------------- what to export
@dataclass
class LedgerFilter:
    grant_id: int | None = None
    institution_id: int | None = None
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    seq_to: int | None = None  # the chain head the export is pinned to

    @property
    def contiguous(self) -> bool:
        """Only an unfiltered export is an unbroken stretch of the chain (entry dates are not in seq order)."""
        return not any((self.grant_id, self.institution_id, self.category, self.date_from, self.date_to))

    def to_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v is not None}

    def clauses(self, t=LedgerEntry.__table__.c) -> list:
        out = [t.seq <= self.seq_to]
        for name in ("grant_id", "institution_id", "category"):
            if getattr(self, name) is not None:
                out.append(t[name] == getattr(self, name))
        if self.date_from:
            out.append(t.entry_date >= self.date_from)
        if self.date_to:
            out.append(t.entry_date <= self.date_to)
        return out


def scoped_filter(session, user: User, args: dict) -> LedgerFilter:
    """Institution staff export only their own institution's entries (another's is 404); pin the head."""
    flt = LedgerFilter(**{k: args.get(k) for k in ("grant_id", "institution_id", "category", "date_from",
                                                    "date_to", "seq_to")})
    if flt.category is not None:
        flt.category = getattr(flt.category, "value", flt.category)
    own = confined_to(user)
    if own is not None:
        if flt.institution_id not in (None, own):
            raise NotFound(f"单位 {flt.institution_id} 不存在 / institution not found")
        flt.institution_id = own
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        raise Invalid("起止日期颠倒 / date_from is after date_to", {"date_from": ["after date_to"]})
    head = session.execute(select(func.max(LedgerEntry.seq))).scalar_one() or 0
    if flt.seq_to is None or flt.seq_to > head:
        flt.seq_to = head
    return flt


# --------------------------------------------------------------------------- SQL per backend
def _text_columns(dialect: str) -> list[str]:
    """The export columns as text the way the files show them (money with two decimals, ISO dates)."""
    if dialect == "postgresql":
        date_sql, amount_sql = "to_char(entry_date, 'YYYY-MM-DD')", "amount::text"
    else:  # SQLite keeps dates as ISO text and Numeric as REAL: print the fen exactly
        date_sql, amount_sql = "entry_date", "printf('%.2f', amount)"
    return ["seq", "entry_type", date_sql, "grant_id", "institution_id", "category", "subject", amount_sql,
            "ref_type", "ref_id", "reverses_seq", "memo", "prev_hash", "hash"]


def _where_sql(flt: LedgerFilter, dialect: str) -> tuple[str, dict]:
    ph = (lambda n: f"%({n})s") if dialect == "postgresql" else (lambda n: f":{n}")
    parts, params = [f"seq <= {ph('seq_to')}"], {"seq_to": flt.seq_to}
    for name in ("grant_id", "institution_id", "category"):
        if getattr(flt, name) is not None:
            parts.append(f"{name} = {ph(name)}")
            params[name] = getattr(flt, name)
    if flt.date_from:
        parts.append(f"entry_date >= {ph('date_from')}")
        params["date_from"] = flt.date_from if dialect == "postgresql" else flt.date_from.isoformat()
    if flt.date_to:
        parts.append(f"entry_date <= {ph('date_to')}")
        params["date_to"] = flt.date_to if dialect == "postgresql" else flt.date_to.isoformat()
    return " AND ".join(parts), params


def select_sql(flt: LedgerFilter, dialect: str) -> tuple[str, dict]:
    where, params = _where_sql(flt, dialect)
    return f"SELECT {', '.join(_text_columns(dialect))} FROM ledger_entries WHERE {where} ORDER BY seq", params


# How a CSV line looks: codes (entry_type, category, ref_type) are identifiers the application sets and
# are written bare; subject is quoted when it needs it; memo is always quoted. PostgreSQL's COPY is told
# the same (FORCE_QUOTE (memo)), so both backends write byte-identical files.
_SQLITE_SUBJECT = ("CASE WHEN subject IS NULL THEN '' WHEN subject = '' OR instr(subject, ',') OR instr(subject, '\"') "
                   "OR instr(subject, char(10)) OR instr(subject, char(13)) "
                   "THEN '\"' || replace(subject, '\"', '\"\"') || '\"' ELSE subject END")


def csv_lines_sql(flt: LedgerFilter) -> tuple[str, dict]:
    """SQLite: one finished CSV line per row from a single printf() (the cheapest formatting it offers)."""
    where, params = _where_sql(flt, "sqlite")
    line = ("printf('%d,%s,%s,%d,%d,%s,%s,%.2f,%s,%d,%s,\"%s\",%s,%s', seq, entry_type, entry_date, grant_id, "
            f"institution_id, category, {_SQLITE_SUBJECT}, amount, ref_type, ref_id, coalesce(reverses_seq, ''), "
            "replace(memo, '\"', '\"\"'), prev_hash, hash)")
    # as BLOB: the UTF-8 bytes come back as they are, with no decode here and encode again later
    return f"SELECT CAST({line} AS BLOB) FROM ledger_entries WHERE {where} ORDER BY seq", params


def copy_sql(flt: LedgerFilter, driver_conn) -> str:
    """PostgreSQL: ``COPY (SELECT …) TO STDOUT`` with the filter values bound client-side."""
    from psycopg import sql

    where, params = _where_sql(flt, "postgresql")
    query = f"SELECT {', '.join(_text_columns('postgresql'))} FROM ledger_entries WHERE {where} ORDER BY seq"
    bound = sql.SQL(query.replace("%(", "{").replace(")s", "}")).format(
        **{k: sql.Literal(v) for k, v in params.items()})
    return "COPY (" + bound.as_string(driver_conn) + ") TO STDOUT WITH (FORMAT csv, FORCE_QUOTE (memo))"


def _batches(conn, flt: LedgerFilter, batch: int = BATCH) -> Iterator[list[tuple]]:
    """Rows as text tuples in batches, through a server-side cursor on PostgreSQL."""
    query, params = select_sql(flt, conn.dialect.name)
    # per statement: Connection.execution_options() would change the connection for what follows
    result = conn.exec_driver_sql(query, params, execution_options={"stream_results": True, "max_row_buffer": batch})
    try:
        for part in result.partitions(batch):
            yield part
    finally:
        result.close()


# --------------------------------------------------------------------------- the formats
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


def _parquet_schema():
    import pyarrow as pa

    return pa.schema([("seq", pa.int64()), ("entry_type", pa.string()), ("entry_date", pa.date32()),
                      ("grant_id", pa.int64()), ("institution_id", pa.int64()), ("category", pa.string()),
                      ("subject", pa.string()), ("amount", pa.decimal128(18, 2)), ("ref_type", pa.string()),
                      ("ref_id", pa.int64()), ("reverses_seq", pa.int64()), ("memo", pa.string()),
                      ("prev_hash", pa.string()), ("hash", pa.string())])


class _Sink:
    """A write-only file object that hands its bytes on in chunks (what pyarrow / zipfile write into)."""

    def __init__(self, on_chunk=None):
        self.parts: list[bytes] = []
        self.pos = 0
        self.closed = False
        self.on_chunk = on_chunk

    def write(self, b) -> int:
        b = bytes(b)
        self.pos += len(b)
        if self.on_chunk is not None:
            self.on_chunk(b)
        else:
            self.parts.append(b)
        return len(b)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def parquet_chunks(conn, flt: LedgerFilter, batch: int = PARQUET_BATCH) -> Iterator[bytes]:
    """Parquet from the CSV stream: pyarrow's C++ CSV reader parses what ``csv_chunks`` produces, so no
    row ever becomes Python objects (which would also make pyarrow load pandas). Same rows, same
    order, typed by the Parquet schema; one row group per ``batch`` rows."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = _parquet_schema()
    # the system allocator hands freed buffers back; arrow's default (mimalloc) keeps them (~25 MB more).
    # Set for the process: the CSV reader also allocates from the default pool.
    pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)
    source = _ChunkReader(csv_chunks(conn, flt), skip=len(BOM))
    reader = pacsv.open_csv(
        source, memory_pool=pool,
        read_options=pacsv.ReadOptions(block_size=1 << 17, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=schema, include_columns=[f.name for f in schema], strings_can_be_null=True,
            quoted_strings_can_be_null=False))
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd", memory_pool=pool)
    pending, rows = [], 0
    for record_batch in reader:
        pending.append(record_batch)
        rows += record_batch.num_rows
        if rows >= batch:
            writer.write_table(pa.Table.from_batches(pending, schema=schema))
            pending, rows = [], 0
            yield sink.take()
    if pending:
        writer.write_table(pa.Table.from_batches(pending, schema=schema))
    writer.close()
    yield sink.take()


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (what pyarrow's CSV reader pulls from)."""

    def __init__(self, chunks: Iterator[bytes], skip: int = 0):
        self.chunks, self.buf, self.skip = chunks, b"", skip

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self.buf:
            chunk = next(self.chunks, None)
            if chunk is None:
                return 0
            if self.skip:
                chunk, self.skip = chunk[self.skip:], 0
            self.buf = chunk
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose members carry a fixed timestamp, so the same rows give the same bytes."""

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
        info.compress_type = self.compression
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        info = self._info(arcname or Path(filename).name)
        with open(filename, "rb") as src, self.open(info, "w", force_zip64=True) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)


def _threaded(produce) -> Iterator[bytes]:
    """Run ``produce(write)`` in a thread and yield what it writes, holding at most a few chunks."""
    q: queue.Queue = queue.Queue(maxsize=8)
    done = object()
    failure: list[BaseException] = []

    def run():
        try:
            produce(lambda b: q.put(b))
        except BaseException as e:  # handed to the consumer below
            failure.append(e)
        finally:
            q.put(done)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    buf, size = [], 0
    while (item := q.get()) is not done:
        buf.append(item)
        size += len(item)
        if size >= 1 << 20:
            yield b"".join(buf)
            buf, size = [], 0
    t.join()
    if failure:
        raise failure[0]
    if buf:
        yield b"".join(buf)


def xlsx_chunks(conn, flt: LedgerFilter, batch: int = BATCH) -> Iterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "keyan-jingfei"
    ws, n, sheet_no = None, XLSX_MAX_ROWS, 0
    amount_i, date_i = COLUMNS.index("amount"), COLUMNS.index("entry_date")
    for rows in _batches(conn, flt, batch):
        for r in rows:
            if n >= XLSX_MAX_ROWS:
                sheet_no += 1
                ws = wb.create_sheet("ledger" if sheet_no == 1 else f"ledger{sheet_no}")
                ws.append(COLUMNS)
                n = 0
            row = list(r)
            amount = WriteOnlyCell(ws, Decimal(row[amount_i]))
            amount.number_format = "0.00"
            row[amount_i] = amount
            day = WriteOnlyCell(ws, date.fromisoformat(row[date_i]))
            day.number_format = "yyyy-mm-dd"
            row[date_i] = day
            ws.append(row)
            n += 1
    if ws is None:
        ws = wb.create_sheet("ledger")
        ws.append(COLUMNS)

    def produce(write):
        archive = _FixedTimeZip(_Sink(write), "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        ExcelWriter(wb, archive).save()

    yield from _threaded(produce)


CHUNKERS = {"csv": csv_chunks, "xlsx": xlsx_chunks, "parquet": parquet_chunks}


def export_chunks(conn, fmt: str, flt: LedgerFilter, batch: int | None = None) -> Iterator[bytes]:
    if fmt not in CHUNKERS:
        raise Invalid(f"不支持的格式 {fmt} / unknown format", {"format": [f"one of {', '.join(FORMATS)}"]})
    return CHUNKERS[fmt](conn, flt) if batch is None else CHUNKERS[fmt](conn, flt, batch)


def filename(fmt: str, flt: LedgerFilter) -> str:
    return f"ledger-{flt.seq_to}.{fmt}"


# --------------------------------------------------------------------------- manifest
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


def zip_bundle_chunks(session, conn, fmt: str, flt: LedgerFilter) -> Iterator[bytes]:
    """A zip of the export and its manifest, streamed: the manifest goes last, hashed from the same bytes."""
    out: list[bytes] = []
    sink = _Sink(out.append)
    name = filename(fmt, flt)
    digest, size = hashlib.sha256(), 0
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED if fmt == "csv" else zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        with zf.open(zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6]), "w", force_zip64=True) as member:
            for chunk in export_chunks(conn, fmt, flt):
                digest.update(chunk)
                size += len(chunk)
                member.write(chunk)
                if out:
                    yield b"".join(out)
                    out.clear()
        manifest = build_manifest(session, fmt, flt, (), name)
        manifest.update(sha256=digest.hexdigest(), bytes=size)
        zf.writestr(zipfile.ZipInfo("manifest.json", date_time=FIXED_TIME.timetuple()[:6]),
                    json.dumps(manifest, ensure_ascii=False, indent=2))
    yield b"".join(out)


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


# --------------------------------------------------------------------------- reading back & verifying
def _typed(rec: dict) -> SimpleNamespace:
    """One exported row as the types ``canonical_content`` hashes (an empty subject is NULL)."""
    vals = dict(rec)
    for k in INT_COLUMNS:
        v = vals.get(k)
        vals[k] = None if v in (None, "") else int(v)
    d = vals["entry_date"]
    vals["entry_date"] = d.date() if isinstance(d, datetime) else d if isinstance(d, date) else date.fromisoformat(d)
    a = vals["amount"]
    vals["amount"] = (Decimal(repr(a)) if isinstance(a, float) else Decimal(str(a))).quantize(CENT)
    vals["subject"] = vals.get("subject") or None
    vals["memo"] = vals.get("memo") or ""
    return SimpleNamespace(**vals)


def read_rows(path: str | Path, fmt: str) -> Iterator[SimpleNamespace]:
    """Stream the rows of an exported file, typed."""
    path = Path(path)
    if fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for rec in csv.DictReader(fh):
                yield _typed(rec)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
            for rec in batch.to_pylist():
                yield _typed(rec)
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            for ws in wb.worksheets:
                rows = ws.iter_rows(values_only=True)
                header = next(rows)
                for values in rows:
                    yield _typed(dict(zip(header, values)))
        finally:
            wb.close()
    else:
        raise Invalid(f"不支持的格式 {fmt} / unknown format", {"format": [f"one of {', '.join(FORMATS)}"]})


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


__all__ = ["COLUMNS", "FORMATS", "LedgerFilter", "scoped_filter", "export_chunks", "build_manifest",
           "zip_bundle_chunks", "write_export", "read_rows", "verify_export", "GENESIS"]


# --------------------------------------------------------------------------- reports as XLSX
_MONEY = re.compile(r"-?\d+\.\d{2}")


def _cell_value(v):
    """Money strings become numbers with format 0.00; lists are joined; everything else as is."""
    if isinstance(v, str) and _MONEY.fullmatch(v):
        return Decimal(v), "0.00"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v), None
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False), None
    return v, None


def report_workbook(report: dict, title: str) -> bytes:
    """A report's JSON as a workbook: a summary sheet of its scalars, one sheet per list of rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    wb.properties.title = title
    summary = wb.create_sheet("summary")
    sheets: list[tuple[str, list[dict]]] = []

    def walk(prefix: str, node: dict):
        for k, v in node.items():
            name = f"{prefix}{k}"
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                sheets.append((name, v))
            elif isinstance(v, dict) and any(isinstance(x, (list, dict)) for x in v.values()):
                walk(name + ".", v)
            else:
                yield_row(summary, [name, v])

    def yield_row(ws, values):
        row = []
        for v in values:
            value, fmt = _cell_value(v)
            cell = WriteOnlyCell(ws, value)
            if fmt:
                cell.number_format = fmt
            row.append(cell)
        ws.append(row)

    summary.append(["item", "value"])
    walk("", report)
    used = set()
    for name, rows in sheets:
        sheet_name = name.replace(".", "_")[:31]
        while sheet_name in used:
            sheet_name = sheet_name[:29] + f"_{len(used)}"
        used.add(sheet_name)
        ws = wb.create_sheet(sheet_name)
        header = list(dict.fromkeys(k for r in rows for k in r))
        ws.append(header)
        for r in rows:
            yield_row(ws, [r.get(h) for h in header])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
