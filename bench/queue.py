"""Approval-queue benchmark: the bureau's GET /api/v1/expenses/queue with N pending expenses (default 100,000).

Server time of the first page, a deep page by ``page`` (offset) and the same depth by ``cursor`` (keyset
seek on ``ix_expenses_pending``), measured through the app (Flask test client: routing, auth, the query,
serialisation). Target: < 100 ms.
"""
from __future__ import annotations

import os
import time

from sqlalchemy import create_engine, text

from bench import common
from bench.overview import best_of

PENDING = int(os.environ.get("BENCH_PENDING", "100000"))


def generate_pending(app, url: str, n: int) -> None:
    from grants.extensions import db

    g = common.GRANTS
    with app.app_context():
        conn = db.session.connection()
        cols = ("grant_id, institution_id, expense_date, amount, subject, description, verdict, findings, status, "
                "decision_reason, submitted_at")
        if conn.dialect.name == "postgresql":
            sql = (f"INSERT INTO expenses ({cols}) SELECT 1 + i % {g}, 1 + (i % {g}) % {common.INSTITUTIONS}, "
                   f"DATE '2025-01-01' + (i % 300), ((i % 99701) / 100.0 + 1)::numeric(18, 2), 'operations', '', "
                   f"'needs_approval', '[]'::json, 'pending', '', now() - make_interval(secs => i) "
                   f"FROM generate_series(1, :n) AS i")
        else:
            sql = (f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
                   f"INSERT INTO expenses ({cols}) SELECT 1 + i % {g}, 1 + (i % {g}) % {common.INSTITUTIONS}, "
                   f"date('2025-01-01', '+' || (i % 300) || ' days'), (i % 99701) / 100.0 + 1, 'operations', '', "
                   f"'needs_approval', '[]', 'pending', '', datetime('now', '-' || i || ' seconds') FROM s")
        conn.execute(text(sql), {"n": n})
        db.session.commit()
    # what autovacuum would have done by the time a queue is this long: statistics and the visibility map
    # (the count of the X-Pagination header is then an index-only scan)
    engine = create_engine(url, isolation_level="AUTOCOMMIT") if url.startswith("postgresql") else None
    if engine is not None:
        with engine.connect() as c:
            c.execute(text("VACUUM ANALYZE expenses"))
        engine.dispose()


def main() -> list[str]:
    from grants.accounts import create_user

    lines = []
    for backend in common.backends():
        url = common.fresh_database(backend)
        app = common.make_app(url)
        common.seed_registry(app)
        generate_pending(app, url, PENDING)
        with app.app_context():
            _, token = create_user("bench-bureau", "finance_bureau", "bench-password")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        deep_page = PENDING // 50 // 2

        def get(q):
            r = client.get(f"/api/v1/expenses/queue?{q}", headers=headers)
            assert r.status_code == 200, r.get_data(as_text=True)[:300]
            return r

        first = get("page_size=50")
        cursor = first.headers["X-Next-Cursor"]
        # the cursor at the same depth as deep_page
        deep = get(f"page_size=50&page={deep_page - 1}").headers["X-Next-Cursor"]
        t_first = best_of(lambda: get("page_size=50"), 5)
        t_next = best_of(lambda: get(f"page_size=50&cursor={cursor}"), 5)
        t_offset = best_of(lambda: get(f"page_size=50&page={deep_page}"), 5)
        t_seek = best_of(lambda: get(f"page_size=50&cursor={deep}"), 5)
        line = (f"queue [{backend}] {PENDING:,} pending: first page {t_first * 1000:.0f} ms, next by cursor "
                f"{t_next * 1000:.0f} ms, page {deep_page:,} by offset {t_offset * 1000:.0f} ms, same depth by cursor "
                f"{t_seek * 1000:.0f} ms (target < 100 ms)")
        print(line, flush=True)
        lines.append(line)
    return lines


if __name__ == "__main__":
    main()
