"""The least-privilege application role (issue 9 item 6): it posts to the ledger like the app does, and the
database itself refuses it UPDATE, DELETE, TRUNCATE and disabling the triggers on the ledger tables."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from grants import ledger
from reports.app_role import app_role_sql
from tests.factories import GrantFactory

REFUSED = ("UPDATE ledger_entries SET memo = 'x'", "DELETE FROM ledger_entries", "TRUNCATE ledger_entries",
           "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only",
           "UPDATE ledger_checkpoints SET seq = 0", "DELETE FROM ledger_checkpoint_heads",
           "TRUNCATE ledger_checkpoints CASCADE", "SELECT setval('ledger_entries_seq', 1)",
           "DELETE FROM alembic_version")


def test_the_app_role_posts_but_cannot_rewrite_the_books(app, committed_db, backend):
    if backend != "postgresql":
        pytest.skip("roles are a PostgreSQL matter; SQLite's file permissions are the whole story")
    db = committed_db
    g = GrantFactory()
    db.session.commit()
    posting = ledger.Posting.for_grant(g, ledger.EntryType.DISBURSEMENT, date(2025, 1, 2), Decimal("10.00"),
                                       "tranche", 1)
    role = f"{db.engine.url.database}_app"[:63]  # roles are cluster-wide: one per test database
    r = app.test_cli_runner().invoke(args=["grants", "create-app-role", "--role", role])
    assert r.exit_code == 0, r.output
    engine = create_engine(db.engine.url.set(username=role, password=None))
    try:
        with Session(engine) as s:  # what the app does: lock the chain, draw a seq, insert; ordinary updates
            ledger.post(s, [posting])
            s.execute(text("UPDATE grants SET title = title || '' WHERE id = :i"), {"i": g.id})
            s.commit()
        for sql in REFUSED:
            with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
                conn.execute(text(sql))
            assert refused.value.orig.sqlstate == "42501", (sql, refused.value)  # insufficient_privilege
        db.session.expire_all()
        assert ledger.verify(db.session).entries == 1
    finally:
        engine.dispose()
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_the_app_role_sql_can_be_printed_for_the_dba(app):
    sql = app_role_sql("grants_app", "grants", "s3cret'")
    assert "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ledger_entries, ledger_checkpoints, " \
           "ledger_checkpoint_heads FROM grants_app" in sql
    assert any("PASSWORD 's3cret'''" in s for s in sql)
    with pytest.raises(ValueError):
        app_role_sql("app; DROP TABLE x", "grants")
