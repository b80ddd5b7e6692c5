"""No global lock on the books (issue 12; issue 9 item 5): one chain per institution, so a long posting
for one institution never holds up another's. Real connections and threads on PostgreSQL."""
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from grants import ledger
from tests.factories import GrantFactory

BULK = 5_000  # posted through COPY, like an import's; the lock is held until commit whatever the size


def postings(grant, n, ref=0):
    return [ledger.Posting.for_grant(grant, ledger.EntryType.EXPENSE, date(2025, 6, 1), Decimal("1.00"), "bulk",
                                     ref + i) for i in range(n)]


def test_another_institutions_posting_commits_while_a_bulk_posting_is_open(app, committed_db, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer for the whole database by design (and says so in docs/ledger.md)")
    db = committed_db
    ga, gb = GrantFactory(), GrantFactory()
    db.session.commit()
    assert ga.institution_id != gb.institution_id
    bulk_a, one_a, one_b = postings(ga, BULK), postings(ga, 1, BULK), postings(gb, 1)
    engine, took = db.engine, {}

    def post_and_commit(key, rows):
        with Session(engine) as s:
            t0 = time.perf_counter()
            ledger.post(s, rows)
            s.commit()
            took[key] = time.perf_counter() - t0

    with Session(engine) as importer:  # an import for institution A: posted, not yet committed
        ledger.post(importer, bulk_a)
        b = threading.Thread(target=post_and_commit, args=("b", one_b))
        b.start()
        b.join(timeout=10)
        assert "b" in took and took["b"] < 1.0, took  # institution B did not wait for A's import
        a = threading.Thread(target=post_and_commit, args=("a", one_a))
        a.start()
        a.join(timeout=0.5)
        assert a.is_alive() and "a" not in took  # A's own chain takes its turn
        importer.commit()
    a.join(timeout=10)
    assert "a" in took
    r = ledger.verify(db.session)
    assert r.ok and r.entries == BULK + 2
    assert {h.institution_id: h.chain_seq for h in r.heads} == {ga.institution_id: BULK + 1, gb.institution_id: 1}
