"""The formats by name: write an export's bytes, read an exported file's rows back.

A format's module is imported on its first use, not with this package: not for a cycle, but because
their libraries (pyarrow ~55 MB, openpyxl ~25 MB, psycopg on SQLite) would otherwise be loaded by every
web worker and console command at start-up (app RSS 79 → 143 MB), most of which never export a file.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Iterator

from reports.exports.rows import FORMATS, LedgerFilter, unknown_format


def _module(fmt: str) -> ModuleType:
    if fmt not in FORMATS:
        raise unknown_format(fmt)
    return importlib.import_module(f"reports.exports.{fmt}")  # reports/exports/{csv,xlsx,parquet}.py


def export_chunks(conn, fmt: str, flt: LedgerFilter, batch: int | None = None) -> Iterator[bytes]:
    chunks = getattr(_module(fmt), f"{fmt}_chunks")
    return chunks(conn, flt) if batch is None else chunks(conn, flt, batch)


def read_rows(path: str | Path, fmt: str) -> Iterator:
    """Stream the rows of an exported file, typed."""
    return getattr(_module(fmt), f"read_{fmt}_rows")(Path(path))
