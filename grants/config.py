"""Configuration from the environment; nothing secret lives in the repository."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting production cannot run without (raised by ``create_app`` at start-up)."""


def _default_sqlite_url(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + os.path.join(instance_path, "grants.sqlite3")


def is_development(cfg: dict) -> bool:
    return bool(cfg.get("DEBUG") or cfg.get("TESTING") or cfg.get("GRANTS_ENV") == "development")


def load_config(instance_path: str, overrides: dict | None = None, debug: bool = False) -> dict:
    cfg = {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or _default_sqlite_url(instance_path),
        # Required outside development (see below); every app server of a deployment shares it.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        # "development" (the demo, `make run`) or "production" (anything else): production requires
        # SECRET_KEY and sends cookies with the Secure flag.
        "GRANTS_ENV": os.environ.get("GRANTS_ENV", "production"),
        "TIMEZONE": "Asia/Shanghai",
        "API_TITLE": "科研经费管理 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_REDOC_PATH": None,
        "OPENAPI_SWAGGER_UI_PATH": None,
        "API_SPEC_OPTIONS": {
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"bearerAuth": []}],
        },
        "BABEL_DEFAULT_LOCALE": "zh",
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        # Secure cookies by default outside development; SESSION_COOKIE_SECURE=0 only for a plain-HTTP trial.
        "SESSION_COOKIE_SECURE": None,
        # Login attempts that failed, per client address and per username (Flask-Limiter syntax). The
        # counters live in RATELIMIT_STORAGE_URI: memory:// for the one-process demo, redis://… (shared by
        # every app server) in production.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # How many reverse proxies stand in front (their X-Forwarded-For/-Proto are trusted), 0 = none.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "ACCESS_LOG": os.environ.get("ACCESS_LOG", "1") != "0",
        "PAGE_SIZE_MAX": 500,
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "keyan-jingfei@localhost"),
        "SMTP_TLS": os.environ.get("SMTP_TLS", "none"),        # none | starttls | ssl
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "AUDIT_MAILBOX": os.environ.get("AUDIT_MAILBOX", ""),  # comma-separated; plus every auditor account
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),  # links in mail
        "AUDIT_EXPORT_DIR": os.environ.get("AUDIT_EXPORT_DIR", os.path.join(instance_path, "audit-exports")),
        "MAIL_ATTACH_MAX_BYTES": int(os.environ.get("MAIL_ATTACH_MAX_BYTES", str(10 * 1024 * 1024))),
        "SCHEDULER_LEASE_SECONDS": float(os.environ.get("SCHEDULER_LEASE_SECONDS", "30")),
        "MAIL_OUTBOX_INTERVAL_SECONDS": int(os.environ.get("MAIL_OUTBOX_INTERVAL_SECONDS", "300")),
    }
    if overrides:
        cfg.update(overrides)
    development = debug or is_development(cfg)
    if not cfg["SECRET_KEY"]:
        if not development:
            raise ConfigError(
                "SECRET_KEY is not set: production needs one key shared by every app server (it signs sessions "
                "and CSRF tokens), e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'). "
                "For a local demo set GRANTS_ENV=development instead.")
        cfg["SECRET_KEY"] = secrets.token_hex(32)  # a fresh checkout's demo: a random key per process
    if cfg["SESSION_COOKIE_SECURE"] is None:
        flag = os.environ.get("SESSION_COOKIE_SECURE")
        cfg["SESSION_COOKIE_SECURE"] = (flag == "1") if flag in ("0", "1") else not development
    cfg.setdefault("REMEMBER_COOKIE_SECURE", cfg["SESSION_COOKIE_SECURE"])
    cfg.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    uri = cfg["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    engine = dict(cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # a connection the server dropped (restart, failover, pg_terminate_backend) is replaced, not a 500
    engine.setdefault("pool_pre_ping", True)
    if uri.startswith("sqlite"):
        engine.setdefault("connect_args", {"timeout": 30})
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine
    return cfg
