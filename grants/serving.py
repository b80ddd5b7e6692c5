"""Serving in production: health and readiness probes, one JSON access-log line per request, security
headers, proxy awareness, and the gunicorn runner behind ``grants serve``.

The app keeps no state in process memory that another app server would need: sessions are signed cookies
checked against ``users.session_version`` on every request, rate-limit counters live in
``RATELIMIT_STORAGE_URI`` (Redis in production), idempotency keys in the ``expenses`` table. So any number
of app servers can stand behind one reverse proxy in front of one PostgreSQL (``docs/deploy.md``).
"""
from __future__ import annotations

import json
import logging
import os
import time

from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy import text

from grants.extensions import db, limiter

bp = Blueprint("ops", __name__)
access_log = logging.getLogger("grants.access")

# Self only: every script, style, font and image is served by this app (Swagger UI included). Swagger UI
# draws its icons as data: URIs.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


@bp.get("/healthz")
def healthz():
    """The process is up (no database call): for the proxy's liveness check."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers and its schema is at the migrations' head."""
    head = migration_head()
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # noqa: BLE001 - any failure to reach the database means "not ready"
        db.session.rollback()
        current_app.logger.warning("readiness: database unreachable", exc_info=True)
        return jsonify(status="unavailable", database="unreachable", migration_head=head), 503
    finally:
        db.session.remove()
    if sorted(current) != sorted(head):
        return jsonify(status="unavailable", database="ok", migration=current, migration_head=head,
                       message="migrations not current: run `grants db upgrade`"), 503
    return jsonify(status="ready", database="ok", migration=current)


def migration_head() -> list[str]:
    """The heads of the migration scripts shipped with this code (read once per process)."""
    heads = current_app.extensions.get("grants_migration_head")
    if heads is None:
        from alembic.script import ScriptDirectory
        from flask_migrate import Migrate

        migrate: Migrate = current_app.extensions["migrate"].migrate
        heads = current_app.extensions["grants_migration_head"] = list(
            ScriptDirectory.from_config(migrate.get_config()).get_heads())
    return heads


def _start_timer():
    g._t0 = time.perf_counter()


def _log_request(response):
    t0 = g.pop("_t0", None)
    if t0 is None:
        return response
    user_id = g.get("caller_id")
    if user_id is None:
        login_user = g.get("_login_user")  # set by Flask-Login only if the request looked at the session
        if login_user is not None and getattr(login_user, "is_authenticated", False):
            user_id = login_user.id
    access_log.info(json.dumps({
        "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": round((time.perf_counter() - t0) * 1000, 2), "user_id": user_id,
        "remote_addr": request.remote_addr}, ensure_ascii=False))
    return response


def init_serving(app: Flask) -> None:
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    limiter.init_app(app)
    from flask_talisman import Talisman

    app.extensions["talisman"] = Talisman(
        app, content_security_policy=CSP, force_https=False,  # the reverse proxy redirects to HTTPS
        strict_transport_security=app.config["SESSION_COOKIE_SECURE"], frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"], session_cookie_http_only=True)
    app.register_blueprint(bp)
    if app.config["ACCESS_LOG"]:
        if not access_log.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            access_log.addHandler(handler)
            access_log.setLevel(logging.INFO)
            access_log.propagate = False
        app.before_request(_start_timer)
        app.after_request(_log_request)


# --------------------------------------------------------------------------- gunicorn
def gunicorn_options(bind: str | None = None, workers: int | None = None, threads: int | None = None) -> dict:
    """gunicorn's settings from the environment: ``GUNICORN_BIND`` (127.0.0.1:8000), ``GUNICORN_WORKERS``
    (or ``WEB_CONCURRENCY``; 2 × cores + 1), ``GUNICORN_THREADS`` (4), ``GUNICORN_TIMEOUT`` (60 s)."""
    env = os.environ
    cores = os.cpu_count() or 1
    return {
        "bind": bind or env.get("GUNICORN_BIND", "127.0.0.1:8000"),
        "workers": workers or int(env.get("GUNICORN_WORKERS") or env.get("WEB_CONCURRENCY") or 2 * cores + 1),
        "threads": threads or int(env.get("GUNICORN_THREADS", "4")),
        "worker_class": "gthread",
        "timeout": int(env.get("GUNICORN_TIMEOUT", "60")),
        "graceful_timeout": int(env.get("GUNICORN_GRACEFUL_TIMEOUT", "30")),
        "keepalive": int(env.get("GUNICORN_KEEPALIVE", "5")),
        "max_requests": int(env.get("GUNICORN_MAX_REQUESTS", "0")),
        "max_requests_jitter": int(env.get("GUNICORN_MAX_REQUESTS_JITTER", "0")),
        "accesslog": None,  # the app writes its own JSON access lines
        "errorlog": "-",
        "loglevel": env.get("GUNICORN_LOG_LEVEL", "info"),
        "proc_name": "grants",
        "control_socket_disable": True,  # one per host path otherwise: two servers on one host would collide
    }


def run_gunicorn(options: dict) -> None:
    """Serve ``create_app()`` under gunicorn; each worker builds its own app (no connection crosses a fork)."""
    from gunicorn.app.base import BaseApplication

    class GrantsApplication(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if value is not None and key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            from grants.app import create_app, warm_caches

            app = create_app()
            warm_caches(app)   # before the worker takes its first request
            return app

    GrantsApplication().run()
