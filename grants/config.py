"""Configuration from the environment; nothing secret lives in the repository."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _default_sqlite_url(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + os.path.join(instance_path, "grants.sqlite3")


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    cfg = {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or _default_sqlite_url(instance_path),
        # A random key per process keeps a fresh checkout safe; set SECRET_KEY in production.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
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
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",  # set 1 behind HTTPS
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
    uri = cfg["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    if uri.startswith("sqlite"):
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    return cfg
