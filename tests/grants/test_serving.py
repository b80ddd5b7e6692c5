"""Production serving and the web hardening of issue #9 (items 7, 10, 11): probes, access log, headers,
configuration refused at start-up, sessions that end with their user, the login rate limit, constant-time
login failures, and a dropped database connection that does not answer 500."""
from __future__ import annotations

from pathlib import Path

import json
import logging
import re
import statistics
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from werkzeug.security import generate_password_hash

from grants import accounts
from grants.config import ConfigError, load_config
from grants.models import User
from tests.factories import UserFactory, make_user

PASSWORD = "correct-horse-42"
_addr = iter(range(1, 10_000))


def _fresh_address() -> dict:
    """Each test logs in from its own client address, so the per-address login limit of one test
    never spends another's."""
    n = next(_addr)
    return {"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250 + 1}"}


def _web_user(db, real_hash=False, **kw) -> User:
    user = UserFactory(**kw)
    if real_hash:
        user.set_password(PASSWORD)  # the production hash (scrypt), for the timing test
    else:  # a cheap hash keeps the login tests fast; authenticate treats it like any other
        user.password_hash = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
    db.session.commit()
    return user


def _fresh_g():
    """The test holds one app context across requests (and so one ``g``): forget what a request cached."""
    from flask import g

    for key in ("csrf_token", "_login_user", "caller_id"):
        g.pop(key, None)


def _login(client, username, password=PASSWORD, environ=None):
    _fresh_g()
    html = client.get("/login", environ_base=environ).get_data(as_text=True)
    _fresh_g()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ)


# --------------------------------------------------------------------------- probes and access log
def test_healthz_answers_without_the_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_readyz_checks_the_database_and_the_migration_head(client, db):
    r = client.get("/readyz")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    newest = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "migrations" / "versions").glob("0*.py"))[-1]
    assert body["status"] == "ready" and body["migration"] == [newest.split("_")[0]]  # the newest migration
    # a database behind the code's migrations is not ready
    db.session.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    db.session.commit()
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["migration"] == ["0003"] and "grants db upgrade" in r.get_json()["message"]


def test_every_request_writes_one_json_access_line(login, caplog):
    from tests.factories import InstitutionFactory

    staff = login("institution", InstitutionFactory())
    with caplog.at_level(logging.INFO, logger="grants.access"):
        logger = logging.getLogger("grants.access")
        logger.addHandler(caplog.handler)
        try:
            staff.get("/api/v1/grants")
        finally:
            logger.removeHandler(caplog.handler)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "grants.access"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["method"], line["path"], line["status"], line["user_id"]) == ("GET", "/api/v1/grants", 200,
                                                                               staff.user.id)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


# --------------------------------------------------------------------------- headers and configuration
def test_pages_send_csp_frame_and_referrer_headers(client):
    for url in ("/login", "/api/v1/docs", "/api/v1/openapi.json"):
        r = client.get(url)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "<script>" not in html and "<style" not in html  # everything the docs page runs is a file
    assert client.get("/api/v1/docs-init.js").status_code == 200


def test_language_switch_never_redirects_off_site(client):
    r = client.get("/lang/en", headers={"Referer": "https://evil.example/phish"})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    r = client.get("/lang/zh", headers={"Referer": "//evil.example/x"})
    assert r.headers["Location"] == "/"
    r = client.get("/lang/zh", headers={"Referer": "http://localhost//evil.example/x"})
    assert r.headers["Location"] == "/"
    r = client.get("/lang/en", headers={"Referer": "http://localhost/queue?page=2"})
    assert r.headers["Location"] == "/queue?page=2"


def test_secret_key_is_required_outside_development(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("GRANTS_ENV", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("GRANTS_ENV", "development")
    assert load_config(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "sqlite://"})["SECRET_KEY"]


def test_cookies_are_secure_outside_development(monkeypatch, tmp_path):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("GRANTS_ENV", raising=False)
    prod = load_config(str(tmp_path), {"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert prod["SESSION_COOKIE_SECURE"] is True and prod["REMEMBER_COOKIE_SECURE"] is True
    assert prod["SESSION_COOKIE_HTTPONLY"] is True and prod["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    dev = load_config(str(tmp_path), {"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                                      "GRANTS_ENV": "development"})
    assert dev["SESSION_COOKIE_SECURE"] is False


# --------------------------------------------------------------------------- sessions end with their user
def _home_status(client):
    _fresh_g()
    return client.get("/").status_code  # 200 signed in, 302 to the login page otherwise


def test_an_old_session_cookie_stops_working_after_logout(app, client, db):
    user = _web_user(db)
    env = _fresh_address()
    assert _login(client, user.username, environ=env).status_code == 302
    assert _home_status(client) == 200
    stolen = client.get_cookie("session").value
    _fresh_g()
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    _fresh_g()
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert _home_status(replay) == 302


def test_deactivation_and_password_reset_end_existing_sessions(app, client, db):
    for end in ("deactivate", "reset"):
        user = _web_user(db)
        c = app.test_client()
        assert _login(c, user.username, environ=_fresh_address()).status_code == 302
        assert _home_status(c) == 200
        if end == "deactivate":
            accounts.deactivate_user(user.username)
        else:
            accounts.reset_password(user.username, "another-password-7")
        db.session.commit()
        assert _home_status(c) == 302, end


def test_deactivated_users_api_token_stops_working(login, db):
    bureau = login("finance_bureau")
    assert bureau.get("/api/v1/grants").status_code == 200
    accounts.deactivate_user(bureau.user.username)
    assert bureau.get("/api/v1/grants").status_code == 401


# --------------------------------------------------------------------------- login rate limit
@pytest.fixture
def login_limit(app, monkeypatch):
    assert app.config["LOGIN_RATE_LIMIT"] == "10 per minute"  # the default
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")  # read on each request
    return 3


def test_login_failures_are_rate_limited_then_even_the_right_password_waits(app, client, db, login_limit):
    user = _web_user(db)
    env = _fresh_address()
    limit = login_limit
    codes = [_login(client, user.username, "wrong-password", environ=env).status_code for _ in range(limit)]
    assert codes == [200] * limit  # the form again, saying the password is wrong
    refused = _login(client, user.username, "wrong-password", environ=env)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.get_data(as_text=True)  # the page says why
    assert _login(client, user.username, PASSWORD, environ=env).status_code == 429
    # the per-username limit holds from another address too
    assert _login(client, user.username, PASSWORD, environ=_fresh_address()).status_code == 429


def test_successful_logins_do_not_use_up_the_limit(app, client, db, login_limit):
    user = _web_user(db)
    env = _fresh_address()
    limit = login_limit
    for _ in range(limit + 2):
        assert _login(app.test_client(), user.username, environ=env).status_code == 302


# --------------------------------------------------------------------------- constant-time failures
def test_an_unknown_username_costs_as_much_as_a_wrong_password(db):
    user = _web_user(db, real_hash=True)

    def timed(username):
        samples = []  # the median of two
        for _ in range(2):
            t0 = time.perf_counter()
            assert accounts.authenticate(username, "wrong-password") is None
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    accounts._dummy_hash()  # made once per process
    known, unknown = timed(user.username), timed("nobody-at-all")
    inactive = UserFactory(active=False, password_hash=user.password_hash)
    dormant = timed(inactive.username)
    # before: 81 ms for an unknown name against 397 ms for a wrong password
    assert unknown > 0.5 * known and dormant > 0.5 * known, (known, unknown, dormant)


# --------------------------------------------------------------------------- dropped connections
def test_first_request_after_the_server_dropped_the_connection_succeeds(app, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server connection to drop")
    from grants.extensions import db

    client = app.test_client()
    unknown = {"Authorization": "Bearer kj_no-such-token"}
    with app.app_context():
        assert client.get("/api/v1/grants", headers=unknown).status_code == 401  # the pool holds a connection
        admin = create_engine(db.engine.url, poolclass=NullPool)
        with admin.connect() as conn:
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        admin.dispose()
        assert killed >= 1
        assert client.get("/api/v1/grants", headers=unknown).status_code == 401  # not 500
        assert client.get("/readyz").status_code == 200


def test_console_deactivates_a_user_and_resets_a_password(app, db):
    user = _web_user(db)
    runner = app.test_cli_runner()
    r = runner.invoke(args=["grants", "reset-password", user.username, "--password", "brand-new-pass-1"])
    assert r.exit_code == 0, r.output
    db.session.expire_all()
    assert user.session_version == 1 and accounts.authenticate(user.username, "brand-new-pass-1") is not None
    r = runner.invoke(args=["grants", "deactivate-user", user.username])
    assert r.exit_code == 0, r.output
    db.session.expire_all()
    assert user.active is False and user.session_version == 2
    assert accounts.authenticate(user.username, "brand-new-pass-1") is None


def test_a_new_server_compiles_the_policies_in_force_before_its_first_request(app, db, monkeypatch):
    from compliance import policy as policy_store
    from grants.app import warm_caches
    from grants.db import today

    monkeypatch.setattr(policy_store, "_CACHE", {})
    version = policy_store.version_in_force(db.session, today())   # (reads the row; compiles nothing)
    assert version.content_hash not in policy_store._CACHE
    warm_caches(app)
    assert version.content_hash in policy_store._CACHE
