"""``python -m bench http``: the app under gunicorn on PostgreSQL, loaded over HTTP from this machine.

Starts ``grants serve`` on a random loopback port against its own database (``BENCH_HTTP_PG_URL``, default the
local ``bench_http`` database, rebuilt), then runs each scenario with ``BENCH_HTTP_CLIENTS`` client threads
(16) for ``BENCH_HTTP_SECONDS`` seconds (20) each, every client on one keep-alive connection:

- ``/readyz`` — the baseline: a request that touches the database once;
- GET one grant; the dry run (``POST /expenses/check``);
- booked ``POST /expenses`` spread over 100 grants; booked ``POST /expenses`` all on one grant.

Prints req/s, p50 and p99 latency and each scenario's throughput as a ratio to the baseline. Bounded: at
most ``BENCH_HTTP_MAX_REQUESTS`` requests per scenario (200,000), loopback only, the server stopped at the end.
Server size: ``GUNICORN_WORKERS`` (2) × ``GUNICORN_THREADS`` (8).
"""
from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal

from bench import common

PG_URL = os.environ.get("BENCH_HTTP_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_http")
CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "20"))
MAX_REQUESTS = int(os.environ.get("BENCH_HTTP_MAX_REQUESTS", "200000"))
PASSWORD = "bench-http-password"


def _seed(url: str) -> dict[int, str]:
    """100 running 竞争性/稳定支持 grants with budget lines and a paid tranche, the policies synced (so every
    expense is judged by the rules in force and an allowed one is booked: budget line and ledger); one staff
    token per institution."""
    from sqlalchemy import text

    from budgets.models import BudgetLine
    from compliance.service import sync_policies
    from grants.accounts import create_user
    from grants.extensions import db
    from grants.models import Tranche, TrancheStatus

    app = common.make_app(url)
    common.seed_registry(app)
    tokens = {}
    with app.app_context():
        sync_policies()
        db.session.execute(text("UPDATE grants SET category = CASE WHEN id % 2 = 0 THEN 'competitive' ELSE 'stable' END"))
        for g in range(1, common.GRANTS + 1):
            for subject, amount in (("equipment", "300000.00"), ("operations", "600000.00"), ("labour", "100000.00")):
                db.session.add(BudgetLine(grant_id=g, subject=subject, amount=Decimal(amount)))
            db.session.add(Tranche(grant_id=g, seq=1, planned_date=date(2024, 1, 2), amount=Decimal("1000000.00"),
                                   status=TrancheStatus.PAID, paid_on=date(2024, 1, 2)))
        db.session.commit()
        for inst in range(1, common.INSTITUTIONS + 1):
            _, tokens[inst] = create_user(f"bench-staff-{inst}", "institution", PASSWORD, inst)
        db.session.remove()
        db.engine.dispose()
    return tokens


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(url: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-http", "GRANTS_ENV": "production",
           "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
           "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "8")}
    proc = subprocess.Popen([sys.executable, "-m", "grants.cli", "serve", "--bind", f"127.0.0.1:{port}"],
                            env=env, cwd=common.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn not ready in 120 s")


def _expense(grant_id: int, n: int, amount: str = "1.00") -> dict:
    return {"grant_id": grant_id, "expense_date": "2025-06-01", "amount": amount, "subject": "operations",
            "purpose": "materials", "description": "实验试剂", "payee_name": "鄂尔多斯化玻仪器公司",
            "payee_kind": "vendor", "payment_method": "bank_transfer", "invoice_no": f"H-{grant_id}-{n}",
            "invoice_verified": True}


def _scenarios(tokens: dict[int, str]):
    counter = itertools.count()

    def auth(grant_id):
        return {"Authorization": f"Bearer {tokens[common.institution_of(grant_id)]}",
                "Content-Type": "application/json"}

    def readyz(i):
        return "GET", "/readyz", None, {}

    def get_grant(i):
        g = i % common.GRANTS + 1
        return "GET", f"/api/v1/grants/{g}", None, auth(g)

    def dry_run(i):
        g = i % common.GRANTS + 1
        return "POST", "/api/v1/expenses/check", _expense(g, next(counter)), auth(g)

    def post_spread(i):
        g = i % common.GRANTS + 1
        return "POST", "/api/v1/expenses", _expense(g, next(counter)), auth(g)

    def post_one(i):
        return "POST", "/api/v1/expenses", _expense(1, next(counter)), auth(1)

    return [("/readyz (baseline)", readyz), ("GET a grant", get_grant), ("dry run POST /expenses/check", dry_run),
            ("POST /expenses over 100 grants", post_spread), ("POST /expenses on one grant", post_one)]


def _run(port: int, make_request) -> dict:
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors = [0] * CLIENTS
    budget = itertools.count()
    stop_at = time.monotonic() + SECONDS
    start = threading.Barrier(CLIENTS)

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        i = k
        while time.monotonic() < stop_at and next(budget) < MAX_REQUESTS:
            method, path, body, headers = make_request(i)
            data = json.dumps(body).encode() if body is not None else None
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=headers)
                r = conn.getresponse()
                r.read()
                ok = r.status < 400
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ok = False
            latencies[k].append(time.perf_counter() - t0)
            errors[k] += not ok
            i += CLIENTS
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    all_ms = sorted(x * 1000 for xs in latencies for x in xs)
    return {"requests": len(all_ms), "errors": sum(errors), "rps": len(all_ms) / elapsed,
            "p50": statistics.median(all_ms) if all_ms else float("nan"),
            "p99": all_ms[min(len(all_ms) - 1, int(len(all_ms) * 0.99))] if all_ms else float("nan")}


def main() -> list[str]:
    url = common.fresh_database("postgresql", PG_URL)
    tokens = _seed(url)
    proc, port = _start_server(url)
    results = []
    try:
        print(f"gunicorn {os.environ.get('GUNICORN_WORKERS', '2')} workers × {os.environ.get('GUNICORN_THREADS', '8')} "
              f"threads on 127.0.0.1:{port}; {CLIENTS} clients × {SECONDS:g} s per scenario", flush=True)
        for name, make_request in _scenarios(tokens):
            r = _run(port, make_request)
            results.append((name, r))
            print(f"  {name:34s} {r['rps']:8.1f} req/s  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
                  f"({r['requests']} requests, {r['errors']} errors)", flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        mix = ", ".join(f"{v}/{st}: {n}" for v, st, n in c.execute(text(
            "SELECT verdict, status, count(*) FROM expenses GROUP BY 1, 2 ORDER BY 3 DESC")))
        posted = c.execute(text("SELECT count(*) FROM ledger_entries WHERE entry_type = 'expense'")).scalar_one()
    engine.dispose()
    print(f"  expenses stored by verdict/status: {mix}; ledger postings of expenses: {posted}", flush=True)
    base = results[0][1]["rps"]
    return [f"http {name}: {r['rps']:.1f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
            f"{r['rps'] / base:.2f}× the baseline" + (f", {r['errors']} errors" if r["errors"] else "")
            for name, r in results]


if __name__ == "__main__":
    for line in main():
        print(line)
