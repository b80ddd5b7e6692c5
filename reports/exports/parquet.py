"""Parquet: one row group per batch; money is ``decimal128(18, 2)``, dates ``date32``.

Built from the CSV stream: pyarrow's C++ CSV reader parses what ``csv_chunks`` produces, so no row
ever becomes Python objects (which would also make pyarrow load pandas).
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reports.exports.csv import csv_chunks
from reports.exports.rows import BATCH, BOM, LedgerFilter, Sink, typed

PARQUET_BATCH = 5_000  # rows per Parquet row group: the writer's buffers grow with it (50,000 rows cost ~90 MB more)

SCHEMA = pa.schema([("seq", pa.int64()), ("chain_seq", pa.int64()), ("entry_type", pa.string()), ("entry_date", pa.date32()),
                    ("grant_id", pa.int64()), ("institution_id", pa.int64()), ("category", pa.string()),
                    ("subject", pa.string()), ("amount", pa.decimal128(18, 2)), ("ref_type", pa.string()),
                    ("ref_id", pa.int64()), ("reverses_seq", pa.int64()), ("memo", pa.string()),
                    ("prev_hash", pa.string()), ("hash", pa.string())])


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


def parquet_chunks(conn, flt: LedgerFilter, batch: int = PARQUET_BATCH) -> Iterator[bytes]:
    """Same rows, same order as the CSV, typed by the Parquet schema; one row group per ``batch`` rows."""
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
            column_types=SCHEMA, include_columns=[f.name for f in SCHEMA], strings_can_be_null=True,
            quoted_strings_can_be_null=False))
    sink = Sink()
    writer = pq.ParquetWriter(sink, SCHEMA, compression="zstd", memory_pool=pool)
    pending, rows = [], 0
    for record_batch in reader:
        pending.append(record_batch)
        rows += record_batch.num_rows
        if rows >= batch:
            writer.write_table(pa.Table.from_batches(pending, schema=SCHEMA))
            pending, rows = [], 0
            yield sink.take()
    if pending:
        writer.write_table(pa.Table.from_batches(pending, schema=SCHEMA))
    writer.close()
    yield sink.take()


def read_parquet_rows(path: Path) -> Iterator:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
        for rec in batch.to_pylist():
            yield typed(rec)
