"""Shared set-up of the benchmarks: a fresh database per backend, built by the migrations, and fast data.

Row counts come from the environment (``BENCH_ROWS``, ``BENCH_EXPENSES``) so a quick run is cheap;
``BENCH_BACKENDS`` picks sqlite and/or postgresql (``BENCH_PG_URL``, default the local ``bench`` database).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
INSTITUTIONS, GRANTS = 10, 100


def backends() -> list[str]:
    return [b for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",") if b]


def peak_rss_mb() -> float:
    """Peak resident set size of this process: VmHWM (ru_maxrss would include the parent's at fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_url(backend: str) -> str:
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{OUT / 'bench.sqlite3'}"
    return PG_URL


def fresh_database(backend: str, url: str | None = None) -> str:
    """Drop and rebuild the bench database (``url``, or the backend's default) with the migrations; returns its URL."""
    url = url or database_url(backend)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
    else:
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            name = url.rsplit("/", 1)[1]
            if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = create_engine(url)
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = make_app(url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return url


def make_app(url: str):
    import logging

    from grants.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return app


def seed_registry(app) -> str:
    """Institutions, researchers and grants the generated rows point at; returns an auditor's token."""
    from grants.accounts import create_user
    from grants.extensions import db

    with app.app_context():
        conn = db.session.connection()
        now = datetime.now().astimezone()
        kinds = ["university", "research_institute", "enterprise", "state_owned_enterprise", "new_rd_institution"]
        conn.execute(text("INSERT INTO institutions (id, name, kind, region, created_at) VALUES (:id, :n, :k, '鄂尔多斯市', :t)"),
                     [{"id": i, "n": f"单位{i}", "k": kinds[i % 5], "t": now} for i in range(1, INSTITUTIONS + 1)])
        conn.execute(text("INSERT INTO researchers (id, institution_id, name, birth_date, salaried) "
                          "VALUES (:id, :i, :n, :b, true)"),
                     [{"id": i, "i": i, "n": f"研究员{i}", "b": date(1980, 1, 1)} for i in range(1, INSTITUTIONS + 1)])
        cats = ["competitive", "stable", "post_subsidy", "grant_to_equity"]
        conn.execute(text(
            "INSERT INTO grants (id, code, title, institution_id, pi_id, category, funding_mode, management_mode, "
            "fiscal_amount, self_raised_amount, start_date, end_date, status, fund_source, pure_theory, created_at) "
            "VALUES (:id, :code, :title, :inst, :inst, :cat, 'budgeted', 'standard', 1000000, 0, :s, :e, 'active', "
            "'municipal', false, :t)"),
            [{"id": g, "code": f"B-{g:04d}", "title": f"课题{g}", "inst": institution_of(g), "cat": cats[g % 4],
              "s": date(2024, 1, 1), "e": date(2026, 12, 31), "t": now} for g in range(1, GRANTS + 1)])
        if conn.dialect.name == "postgresql":
            for t in ("institutions", "researchers", "grants"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), {GRANTS + INSTITUTIONS})"))
        db.session.commit()
        _, token = create_user("bench-auditor", "auditor", "bench-password")
    return token


def institution_of(grant_id: int) -> int:
    return (grant_id - 1) % INSTITUTIONS + 1


def run_child(module: str, *args: str) -> dict:
    """Run a measurement in its own process (so its peak RSS is its own) and read its JSON line."""
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
