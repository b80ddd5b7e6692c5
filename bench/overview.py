"""Compliance-overview benchmark: the bureau's full overview report over N expenses (default 1,000,000)
against the bare aggregate query (count and sum by verdict) on the same table in the same run.

The overview reads the totals the database keeps per day, institution, category, verdict and rule
(``expense_totals`` / ``expense_rule_totals``, kept by the triggers of migration 0011_expense_totals, which
also fire for the generator's INSERT … SELECT) and the pending rows through their partial index; target
≤ 2× the bare aggregate. The plan of every query the report runs is printed (``BENCH_PLANS=0`` to skip).
"""
from __future__ import annotations

import os
import time

from sqlalchemy import text

from bench import common

EXPENSES = int(os.environ.get("BENCH_EXPENSES", "1000000"))

F = '{{"rule_id": "{0}", "kind": "k", "severity": "{1}", "message_zh": "", "message_en": "", "source": "", "figures": {{}}, "missing_field": null}}'
FINDINGS = {
    "reject_a": "[" + F.format("NEG-GIFTCARD", "reject") + "]",
    "reject_b": "[" + F.format("NEG-FINE-ETC", "reject") + ", " + F.format("NEG-FAKE", "reject") + "]",
    "approval": "[" + F.format("SEED-INSTRUMENT-30W", "needs_approval") + "]",
    "warn": "[" + F.format("PAY-CASH", "warn") + "]",
}


def generate_expenses(app, n: int) -> None:
    """N expenses in one INSERT … SELECT (generate_series / a recursive CTE): a tenth rejected, a fifth
    waiting for approval, a tenth with a warning."""
    from grants.extensions import db

    g = common.GRANTS
    with app.app_context():
        conn = db.session.connection()
        pg = conn.dialect.name == "postgresql"
        verdict = ("CASE WHEN i % 10 = 0 THEN 'reject' WHEN i % 10 IN (1, 2) THEN 'needs_approval' "
                   "WHEN i % 10 = 3 THEN 'warn' ELSE 'allow' END")
        status = ("CASE WHEN i % 10 = 0 THEN 'rejected' WHEN i % 10 IN (1, 2) THEN 'pending' ELSE 'posted' END")
        findings = ("CASE WHEN i % 20 = 0 THEN :fa WHEN i % 10 = 0 THEN :fb WHEN i % 10 IN (1, 2) THEN :fc "
                    "WHEN i % 10 = 3 THEN :fd ELSE '[]' END")
        cols = ("grant_id, institution_id, expense_date, amount, subject, description, verdict, findings, status, "
                "decision_reason, submitted_at")
        if pg:
            sql = (f"INSERT INTO expenses ({cols}) SELECT 1 + i % {g}, 1 + (i % {g}) % {common.INSTITUTIONS}, "
                   f"DATE '2024-01-01' + (i % 730), ((i % 99701) / 100.0 + 1)::numeric(18, 2), 'operations', '', "
                   f"{verdict}, ({findings})::json, {status}, '', now() - make_interval(days => i % 60) "
                   f"FROM generate_series(1, :n) AS i")
        else:
            sql = (f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
                   f"INSERT INTO expenses ({cols}) SELECT 1 + i % {g}, 1 + (i % {g}) % {common.INSTITUTIONS}, "
                   f"date('2024-01-01', '+' || (i % 730) || ' days'), (i % 99701) / 100.0 + 1, 'operations', '', "
                   f"{verdict}, {findings}, {status}, '', datetime('now', '-' || (i % 60) || ' days') FROM s")
        conn.execute(text(sql), {"n": n, "fa": FINDINGS["reject_a"], "fb": FINDINGS["reject_b"],
                                 "fc": FINDINGS["approval"], "fd": FINDINGS["warn"]})
        if pg:
            conn.execute(text("ANALYZE expenses"))
        db.session.commit()


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def print_plans(session, fn) -> None:
    """EXPLAIN (ANALYZE on PostgreSQL) every statement ``fn`` runs."""
    from sqlalchemy import event

    engine = session.get_bind()
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    for statement, parameters in seen:
        explain = "EXPLAIN (ANALYZE, COSTS OFF) " if pg else "EXPLAIN QUERY PLAN "
        rows = conn.exec_driver_sql(explain + statement, parameters).all()
        print("  --", " ".join(statement.split())[:160], flush=True)
        for r in rows:
            print("    ", r[0] if pg else r[-1], flush=True)


def main() -> list[str]:
    from grants.extensions import db
    from reports import queries

    lines = []
    for backend in common.backends():
        t0 = time.perf_counter()
        url = common.fresh_database(backend)
        app = common.make_app(url)
        common.seed_registry(app)
        generate_expenses(app, EXPENSES)
        setup = time.perf_counter() - t0
        with app.app_context():
            s = db.session
            bare = best_of(lambda: s.execute(text(
                "SELECT verdict, count(*), sum(amount) FROM expenses GROUP BY verdict")).all())
            report = {}
            overview = best_of(lambda: report.update(queries.compliance_overview(s)))
            s.rollback()
            if os.environ.get("BENCH_PLANS", "1") != "0":
                print_plans(s, lambda: queries.compliance_overview(s))
                s.rollback()
        line = (f"overview [{backend}] {EXPENSES:,} expenses: report {overview:.2f}s, bare aggregate {bare:.2f}s "
                f"→ ratio {overview / bare:.1f}× ({len(report['by_rule'])} rules, {report['expenses']:,} expenses, "
                f"{report['approval_queue']['pending']:,} queued)")
        print(line, flush=True)
        print(f"  (set-up: {setup:.0f}s to generate {EXPENSES:,} expenses)", flush=True)
        lines.append(line)
    return lines


if __name__ == "__main__":
    main()
