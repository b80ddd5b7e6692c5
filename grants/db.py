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


def now() -> datetime:
    return datetime.now(TZ)


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
def unit_of_work() -> Iterator:
    """One use case, one transaction: commit on success, roll back on any error."""
    from grants.extensions import db

    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def lock_for_update(stmt):
    """``SELECT … FOR UPDATE`` on PostgreSQL; SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    return stmt.with_for_update()
