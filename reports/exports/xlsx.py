"""XLSX: openpyxl write-only mode (rows go to a temporary file); the zip is streamed when the sheet is
complete. Money is a number with format ``0.00``, dates ``yyyy-mm-dd``. Over 1,048,575 rows continue on
a new sheet. Fixed workbook and member timestamps: the same rows give the same bytes.
"""
from __future__ import annotations

import queue
import threading
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.writer.excel import ExcelWriter

from reports.exports import ooxml
from reports.exports.rows import BATCH, COLUMNS, FIXED_TIME, LedgerFilter, Sink, batches, typed

XLSX_MAX_ROWS = 1_048_575  # one header row per sheet


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
    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "keyan-jingfei"
    ws, n, sheet_no = None, XLSX_MAX_ROWS, 0
    amount_i, date_i = COLUMNS.index("amount"), COLUMNS.index("entry_date")
    for rows in batches(conn, flt, batch):
        for r in rows:
            if n >= XLSX_MAX_ROWS:
                sheet_no += 1
                ws = wb.create_sheet("ledger" if sheet_no == 1 else f"ledger{sheet_no}")
                ws.append(COLUMNS)
                n = 0
            row = [ooxml.escape(v) if isinstance(v, str) else v for v in r]
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
        archive = _FixedTimeZip(Sink(write), "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        ExcelWriter(wb, archive).save()

    yield from _threaded(produce)


def read_xlsx_rows(path: Path) -> Iterator:
    wb = load_workbook(path, read_only=True)
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = next(rows)
            for values in rows:
                yield typed(dict(zip(header, (ooxml.unescape(v) if isinstance(v, str) else v for v in values))))
    finally:
        wb.close()
