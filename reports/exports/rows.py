"""What every export format shares: the columns, the filter, the one row source and a byte sink.

Every format carries the same columns: the fields the hash chains cover (with ``chain_seq``, the row's
place in its institution's chain) plus each row's ``prev_hash`` and ``hash``, so an exported file can be verified on its own (``reports.exports.manifest.verify_export``).
Rows are read in batches through one database cursor (a server-side cursor on PostgreSQL).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Iterator

from sqlalchemy import func, select

from grants.db import CENT
from grants.errors import Invalid, NotFound
from grants.ledger import LedgerEntry
from grants.access import confined_to
from grants.models import User

COLUMNS = ("seq", "chain_seq", "entry_type", "entry_date", "grant_id", "institution_id", "category", "subject", "amount",
           "ref_type", "ref_id", "reverses_seq", "memo", "prev_hash", "hash")
INT_COLUMNS = ("seq", "chain_seq", "grant_id", "institution_id", "ref_id", "reverses_seq")
FORMATS = ("csv", "xlsx", "parquet")
MIMETYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "zip": "application/zip"}
BOM = b"\xef\xbb\xbf"
BATCH = 20_000      # rows per batch from the database cursor (XLSX) and when reading a file back
FIXED_TIME = datetime(2000, 1, 1)  # workbook and zip member timestamps: the bytes depend on the rows only


def unknown_format(fmt: str) -> Invalid:
    return Invalid(f"不支持的格式 {fmt} / unknown format", {"format": [f"one of {', '.join(FORMATS)}"]})


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
        """Whole chains: an unfiltered export, or one institution's (its chain); any other filter picks rows
        out of the chains (entry dates are not in chain order)."""
        return not any((self.grant_id, self.category, self.date_from, self.date_to))

    @property
    def all_chains(self) -> bool:
        return self.contiguous and self.institution_id is None

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


def filename(fmt: str, flt: LedgerFilter) -> str:
    return f"ledger-{flt.seq_to}.{fmt}"


# --------------------------------------------------------------------------- SQL per backend
def text_columns(dialect: str) -> list[str]:
    """The export columns as text the way the files show them (money with two decimals, ISO dates)."""
    if dialect == "postgresql":
        date_sql, amount_sql = "to_char(entry_date, 'YYYY-MM-DD')", "amount::text"
    else:  # SQLite keeps dates as ISO text and Numeric as REAL: print the fen exactly
        date_sql, amount_sql = "entry_date", "printf('%.2f', amount)"
    return ["seq", "chain_seq", "entry_type", date_sql, "grant_id", "institution_id", "category", "subject", amount_sql,
            "ref_type", "ref_id", "reverses_seq", "memo", "prev_hash", "hash"]


def where_sql(flt: LedgerFilter, dialect: str) -> tuple[str, dict]:
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
    where, params = where_sql(flt, dialect)
    return f"SELECT {', '.join(text_columns(dialect))} FROM ledger_entries WHERE {where} ORDER BY seq", params


def batches(conn, flt: LedgerFilter, batch: int = BATCH) -> Iterator[list[tuple]]:
    """Rows as text tuples in batches, through a server-side cursor on PostgreSQL."""
    query, params = select_sql(flt, conn.dialect.name)
    # per statement: Connection.execution_options() would change the connection for what follows
    result = conn.exec_driver_sql(query, params, execution_options={"stream_results": True, "max_row_buffer": batch})
    try:
        for part in result.partitions(batch):
            yield part
    finally:
        result.close()


# --------------------------------------------------------------------------- bytes out, rows back
class Sink:
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


def typed(rec: dict) -> SimpleNamespace:
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
