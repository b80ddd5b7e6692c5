"""Test harness: every database test runs on SQLite **and** PostgreSQL.

The schema is built by the Alembic migrations (so they are exercised on both), once per backend.
Each test runs inside an outer transaction that is rolled back at the end; the services' own
commits become savepoints (``join_transaction_mode="create_savepoint"``). Tests that need real
commits across connections (concurrency) use ``committed_db`` instead, which truncates afterwards.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def _pg_url() -> str:
    url = PG_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _fresh_pg(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as e:  # never skip silently: PostgreSQL is part of the contract
        raise RuntimeError(f"PostgreSQL test database unreachable at {url}: {e}") from e
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    from flask_migrate import upgrade

    from grants.app import create_app

    backend = request.param
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    else:
        url = _pg_url()
        _fresh_pg(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": True})
    app.config["BACKEND"] = backend
    with app.app_context():
        upgrade()
        from compliance.service import sync_policies

        sync_policies()
    yield app
    with app.app_context():
        from grants.extensions import db

        db.engine.dispose()


@pytest.fixture
def db(app):
    """Per-test isolation: an outer transaction per engine, rolled back at the end."""
    from grants.extensions import db as _db

    with app.app_context():
        engines = _db.engines
        saved = []
        for key, engine in list(engines.items()):
            conn = engine.connect()
            trans = conn.begin()
            engines[key] = conn
            saved.append((key, engine, conn, trans))
        try:
            yield _db
        finally:
            _db.session.remove()
            for key, engine, conn, trans in saved:
                trans.rollback()
                conn.close()
                engines[key] = engine



@pytest.fixture
def committed_db(app):
    """Real commits (for concurrency tests); every table except policy versions is emptied afterwards."""
    from grants.extensions import db as _db

    with app.app_context():
        yield _db
        _db.session.remove()
        tables = [t.name for t in reversed(_db.metadata.sorted_tables) if t.name != "policy_versions"]
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # the ledger's triggers refuse TRUNCATE: replica mode skips them, for this transaction only
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
            else:  # SQLite cannot disable a trigger: drop the append-only ones and create them again
                guards = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                           "AND name LIKE 'ledger%_no_delete'")).all()
                for name, _ in guards:
                    conn.execute(text(f"DROP TRIGGER {name}"))
                for t in tables:
                    conn.execute(text(f"DELETE FROM {t}"))
                for _, sql in guards:
                    conn.execute(text(sql))


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def backend(app):
    return app.config["BACKEND"]


class Caller:
    """An API caller with a role: ``api.get(url)`` sends its bearer token."""

    def __init__(self, client, user, token):
        self.client, self.user, self.token = client, user, token

    def _h(self, kw):
        # what the test set up with factories is committed (to the outer, rolled-back transaction)
        # so an error's rollback inside the request cannot undo it
        from grants.extensions import db

        db.session.commit()
        # the test holds one app context across requests: forget the previous caller
        from flask import g

        g.pop("_login_user", None)
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, url, **kw):
        return self.client.get(url, headers=self._h(kw), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._h(kw), **kw)

    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self._h(kw), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self._h(kw), **kw)


@pytest.fixture
def login(client, db):
    """``login("finance_bureau")`` or ``login("institution", institution)`` → a Caller."""
    from tests.factories import make_user

    def _login(role, institution=None):
        user, token = make_user(role, institution)
        return Caller(client, user, token)

    return _login


@pytest.fixture
def bureau(login):
    return login("finance_bureau")


@pytest.fixture
def auditor(login):
    return login("auditor")


# --------------------------------------------------------------------------- a real SMTP server (aiosmtpd)
class _Inbox:
    def __init__(self):
        self.messages = []
        self.refuse = False  # answer 451 (try again later) while set

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes

        if self.refuse:
            return "451 try again later"
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free port; the app sends to it while the test runs. ``smtp.messages``."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    old = app.config["SMTP_HOST"], app.config["SMTP_PORT"]
    app.config["SMTP_HOST"], app.config["SMTP_PORT"] = "127.0.0.1", port
    inbox.port = port
    yield inbox
    app.config["SMTP_HOST"], app.config["SMTP_PORT"] = old
    controller.stop()
