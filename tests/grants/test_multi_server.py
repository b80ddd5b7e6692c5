"""Two app servers, one PostgreSQL: the app keeps no state in process memory.

Two gunicorn instances (``grants serve``) on two random loopback ports share one database and one Redis.
100 expenses raced across both never overspend and leave one ledger that verifies; a session cookie made on
one server works on the other; failed logins count against one limit, kept in Redis.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool
from werkzeug.security import generate_password_hash

from tests.conftest import _pg_url

N = 100
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
SECRET = "shared-by-every-app-server"
PASSWORD = "two-servers-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shared_database():
    """Its own PostgreSQL database (``<test database>_multi``), built by the migrations and seeded."""
    base = _pg_url()
    url = base.rsplit("/", 1)[0] + "/" + base.rsplit("/", 1)[1] + "_multi"
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        name = url.rsplit("/", 1)[1]
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url


def _env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "RATELIMIT_STORAGE_URI": REDIS_URL,
            "LOGIN_RATE_LIMIT": "3 per minute", "SESSION_COOKIE_SECURE": "0",  # plain HTTP on loopback
            "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2", "GUNICORN_GRACEFUL_TIMEOUT": "2",
            "ACCESS_LOG": "0", "GRANTS_ENV": "production"}


def _seed(url: str) -> dict:
    """A grant with 1,000.00 of equipment budget, fully disbursed; its institution's user and token."""
    from compliance.service import sync_policies
    from grants.accounts import create_user
    from grants.app import create_app
    from grants.extensions import db
    from grants.models import GrantStatus, TrancheStatus
    from tests.factories import BudgetLineFactory, GrantFactory, TrancheFactory

    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "TESTING": True})
    with app.app_context():
        upgrade()
        sync_policies()
        g = GrantFactory(status=GrantStatus.ACTIVE)
        BudgetLineFactory(grant=g, subject="equipment", amount=Decimal("1000.00"))
        BudgetLineFactory(grant=g, subject="operations", amount=Decimal("999000.00"))
        TrancheFactory(grant=g, amount=Decimal("1000000.00"), status=TrancheStatus.PAID, paid_on=date(2025, 1, 2))
        grant_id, institution_id = g.id, g.institution_id
        db.session.commit()
        user, token = create_user("racer", "institution", PASSWORD, institution_id)
        db.session.execute(text("UPDATE users SET password_hash = :h WHERE id = :id"),
                           {"h": generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"), "id": user.id})
        db.session.commit()
        db.engine.dispose()
    return {"app": app, "grant_id": grant_id, "token": token}


@pytest.fixture(scope="module")
def two_servers(shared_database):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    ports = [_free_port(), _free_port()]
    # the servers boot (imports) while the database is migrated and seeded; /readyz waits for both
    procs = [subprocess.Popen([sys.executable, "-m", "grants.cli", "serve", "--bind", f"127.0.0.1:{p}"],
                              env=_env(shared_database), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              cwd=Path(__file__).resolve().parents[2]) for p in ports]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        seeded = _seed(shared_database)
        deadline = time.monotonic() + 90
        for base, proc in zip(bases, procs):
            while True:
                assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
                try:
                    if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "gunicorn did not get ready"
                time.sleep(0.3)
        yield {**seeded, "bases": bases, "url": shared_database}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_hundred_expenses_raced_across_two_servers_never_overspend(two_servers):
    from budgets.models import Expense, ExpenseStatus
    from grants import ledger
    from grants.extensions import db

    bases, grant_id, token = two_servers["bases"], two_servers["grant_id"], two_servers["token"]
    barrier = threading.Barrier(N)
    statuses: list[int] = []

    body = {"grant_id": grant_id, "expense_date": "2025-06-01", "amount": "30.00", "subject": "equipment",
            "purpose": "equipment_purchase", "description": "传感器", "payee_kind": "vendor",
            "payment_method": "bank_transfer", "invoice_verified": True, "unit_value": "30.00", "quantity": 1}

    def spend(i):
        port = int(bases[i % 2].rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        payload = json.dumps({**body, "invoice_no": f"RACE-{i}"})
        barrier.wait(timeout=60)
        conn.request("POST", "/api/v1/expenses", body=payload,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        statuses.append(conn.getresponse().status)
        conn.close()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert sorted(set(statuses)) == [201] and len(statuses) == N  # every attempt stored with its verdict

    with two_servers["app"].app_context():
        s = db.session
        posted, spent = s.execute(select(func.count(), func.coalesce(func.sum(Expense.amount), 0)).where(
            Expense.grant_id == grant_id, Expense.status == ExpenseStatus.POSTED)).one()
        assert s.execute(select(func.count()).where(Expense.grant_id == grant_id)).scalar_one() == N
        assert spent <= Decimal("1000.00") and posted == 33  # 33 × 30.00 fit in 1,000.00; not one more
        booked = s.execute(select(func.sum(ledger.LedgerEntry.amount)).where(
            ledger.LedgerEntry.grant_id == grant_id)).scalar_one()
        assert booked == spent
        result = ledger.verify(s)
        assert result.ok, result
        s.remove()
        db.engine.dispose()


def _login(client: httpx.Client, password: str) -> httpx.Response:
    html = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return client.post("/login", data={"username": "racer", "password": password, "csrf_token": token})


def test_a_session_made_on_one_server_works_on_the_other(two_servers):
    a, b = two_servers["bases"]
    with httpx.Client(base_url=a) as on_a:
        assert _login(on_a, PASSWORD).status_code == 302
        cookie = on_a.cookies["session"]
    with httpx.Client(base_url=b, cookies={"session": cookie}) as on_b:
        assert on_b.get("/").status_code == 200  # signed in on B with A's cookie


def test_failed_logins_count_across_servers_in_redis(two_servers):
    import redis

    a, b = two_servers["bases"]
    with httpx.Client(base_url=a) as on_a, httpx.Client(base_url=b) as on_b:
        codes = [_login(c, "wrong-password").status_code for c in (on_a, on_b, on_a)]
        assert codes == [200, 200, 200]
        assert _login(on_b, PASSWORD).status_code == 429  # B knows of A's failures: the counters are shared
    assert redis.Redis.from_url(REDIS_URL).keys("LIMITS*")
