"""Declarative base, the money type and the unit of work.

Use cases (service functions) own the transaction: they run inside ``unit_of_work()`` and nothing
else commits. Leaving the block with an exception rolls everything back, so a grant, its budget and
its ledger postings are written together or not at all.
"""
from __future__ import annotations

import contextlib
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, MetaData, Numeric, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, mapped_column, registry

TZ = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(metadata=MetaData(naming_convention=NAMING),
                        type_annotation_map={Decimal: Numeric(18, 2), dict: JSON, list: JSON})


# Yuan with two decimals; never float.
Money = Annotated[Decimal, mapped_column(Numeric(18, 2))]


_clock = None  # a test's controlled clock: set_clock(lambda: datetime(...)); None is the wall clock


def set_clock(clock) -> None:
    """Replace the wall clock (``now``, ``today`` and every default timestamp) — for tests driving a calendar."""
    global _clock
    _clock = clock


def now() -> datetime:
    return _clock() if _clock is not None else datetime.now(TZ)


def today() -> date:
    return now().date()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own handling breaks SAVEPOINT), and make
        # every transaction IMMEDIATE so two writers never both read the same remaining budget.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        connection_record.info["sqlite"] = True


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):  # pragma: no cover - trivial
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def unit_of_work(*, keep_loaded: bool = False) -> Iterator:
    """One use case, one transaction: commit on success, roll back on any error.

    ``keep_loaded``: what the transaction loaded and wrote stays loaded after the commit instead of being
    re-read on first use — for a use case that answers with the rows it just wrote and whose rows nothing
    (no trigger, no other writer while its locks were held) changed behind it."""
    from grants.extensions import db

    session = db.session
    try:
        yield session
        if keep_loaded:
            real = session()
            before, real.expire_on_commit = real.expire_on_commit, False
            try:
                session.commit()
            finally:
                real.expire_on_commit = before
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise


COPY_FROM = 50  # rows from which a PostgreSQL bulk insert is a COPY


def bulk_insert(session, table, rows: list[dict]) -> None:
    """One driver-level ``executemany`` (on PostgreSQL from ``COPY_FROM`` rows: a ``COPY … FROM STDIN``) for many
    rows, inside the session's transaction.

    Each column's own bind processor converts the values (dates, Decimals, JSON) exactly as the ORM
    would, but the statement is compiled once instead of per row — the bulk paths (imports, ledger
    postings) spend their time on the rows, not on SQLAlchemy's per-parameter bookkeeping.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    cols = list(rows[0])
    procs = [table.c[c].type._cached_bind_processor(dialect) for c in cols]
    ph = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
    copy = None
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        # PostgreSQL: COPY … FROM STDIN (psycopg 3), several times faster than an executemany
        driver = conn.connection.driver_connection
        copy = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN"
    for start in range(0, len(rows), 10_000):  # bounded temporaries, whatever the number of rows
        part = rows[start:start + 10_000]
        # column by column: a list comprehension per column is far cheaper than a generator per row
        columns = []
        for c, p in zip(cols, procs):
            values = [r[c] for r in part]
            columns.append(values if p is None else [None if v is None else p(v) for v in values])
        if copy is None:
            conn.exec_driver_sql(sql, list(zip(*columns)))
            continue
        with driver.cursor() as cur, cur.copy(copy) as out:
            for row in zip(*columns):
                out.write_row(row)
