"""Keyset pagination of the approval queue and expense lists: the cursor walks every row once, in order."""
from datetime import timedelta

from budgets.models import ExpenseStatus, Verdict
from grants.db import now
from tests.factories import ExpenseFactory, GrantFactory, InstitutionFactory


def _walk(client, url):
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.get_json()
        seen += [e["id"] for e in r.get_json()]
        pages += 1
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            return seen, pages


def test_queue_and_list_walk_by_cursor_and_by_page_alike(db, bureau):
    g = GrantFactory(institution=InstitutionFactory())
    t0 = now() - timedelta(days=3)
    queued = [ExpenseFactory(grant=g, verdict=Verdict.NEEDS_APPROVAL, status=ExpenseStatus.PENDING,
                             submitted_at=t0 + timedelta(minutes=i // 2)) for i in range(7)]  # ties on the time
    ExpenseFactory(grant=g)  # posted: not queued
    db.session.flush()
    oldest_first = [e.id for e in sorted(queued, key=lambda e: (e.submitted_at, e.id))]

    seen, pages = _walk(bureau, "/api/v1/expenses/queue?page_size=3")
    assert seen == oldest_first and pages == 3
    import json
    pagination = json.loads(bureau.get("/api/v1/expenses/queue?page_size=3").headers["X-Pagination"])
    assert pagination["total"] == 7  # from the maintained totals, not a count(*)
    by_page = []
    for page in (1, 2, 3):
        by_page += [e["id"] for e in bureau.get(f"/api/v1/expenses/queue?page_size=3&page={page}").get_json()]
    assert by_page == oldest_first

    seen, _ = _walk(bureau, f"/api/v1/expenses?grant_id={g.id}&page_size=2")
    assert seen == sorted(e.id for e in queued) + [max(seen)] and len(seen) == 8

    r = bureau.get("/api/v1/expenses/queue?cursor=not-a-cursor")
    assert r.status_code == 422 and "cursor" in r.get_json()["errors"]
