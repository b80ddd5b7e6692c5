"""Ledger exports for auditors: CSV, XLSX and Parquet, streamed in bounded memory, with a manifest.

One module per format, each writing the same columns from the same row source (``rows``):

* ``csv``      UTF-8 with BOM, formatted by the database (``COPY`` on PostgreSQL, ``printf()`` on SQLite)
* ``parquet``  from the CSV stream through pyarrow's C++ CSV reader, one row group per batch
* ``xlsx``     openpyxl write-only, a new sheet past 1,048,575 rows
* ``manifest`` rows, sums by subject, chain ends and SHA-256 of a file; ``verify_export`` checks a file
  against it without the database
* ``bundle``   the file and its manifest.json in one streamed zip

``formats`` picks the module by name. Bytes leave as soon as a batch is formatted, and outputs are
deterministic for the same rows, so a manifest can be recomputed later and still name the same SHA-256.
The report workbook (a report's JSON as XLSX) is ``reports.workbook``.
"""
from __future__ import annotations

from grants.ledger import GENESIS
from reports.exports.bundle import zip_bundle_chunks
from reports.exports.formats import export_chunks, read_rows
from reports.exports.manifest import (build_manifest, checkpoint_heads_for_verification, ledger_figures, verify_export,
                                     write_export)
from reports.exports.rows import COLUMNS, FORMATS, MIMETYPES, LedgerFilter, filename, scoped_filter, select_sql

__all__ = ["COLUMNS", "FORMATS", "MIMETYPES", "LedgerFilter", "scoped_filter", "filename", "select_sql",
           "export_chunks", "read_rows", "build_manifest", "ledger_figures", "zip_bundle_chunks", "write_export",
           "verify_export", "checkpoint_heads_for_verification", "GENESIS"]
