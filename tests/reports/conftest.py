"""A small booked ledger shared by the reports tests: two institutions, three grants, awkward memos."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from grants import ledger
from grants.models import Category, InstitutionKind
from tests.factories import GrantFactory, InstitutionFactory


def post(db, grant, amount, *, subject=None, entry_type="expense", on=date(2025, 6, 1), memo="", ref_id=1,
         reverses_seq=None):
    return ledger.post(db.session, [ledger.Posting(entry_type, on, grant.id, grant.institution_id,
                                                   grant.category.value, subject, Decimal(amount), "test", ref_id,
                                                   reverses_seq=reverses_seq, memo=memo)])[0]


def restart_ledger_seq(db):
    """PostgreSQL draws the global seq from a sequence, which a rolled-back test does not rewind."""
    if db.session.get_bind().dialect.name == "postgresql":
        top = db.session.execute(text("SELECT coalesce(max(seq), 0) FROM ledger_entries")).scalar_one()
        db.session.execute(text("SELECT setval('ledger_entries_seq', :v, false)"), {"v": top + 1})


@pytest.fixture
def booked(db):
    """Six entries, seq 1 to 6; sums by subject: equipment 350000.00, operations 1200.40, none 500000.00 + 300000.00."""
    restart_ledger_seq(db)
    uni = InstitutionFactory(name="内蒙古大学", kind=InstitutionKind.UNIVERSITY)
    inst = InstitutionFactory(name="鄂尔多斯煤化工研究院")
    g1 = GrantFactory(institution=uni, code="KJ-A")
    g2 = GrantFactory(institution=inst, code="KJ-B", category=Category.STABLE)
    g3 = GrantFactory(institution=inst, code="KJ-C")
    rows = [
        post(db, g1, "500000.00", entry_type="disbursement", on=date(2025, 1, 10), memo="首笔拨款"),
        post(db, g1, "350000.00", subject="equipment", on=date(2025, 3, 2), memo='质谱仪, "高分辨"\n第二行'),
        post(db, g2, "1000.00", subject="operations", on=date(2025, 4, 1), memo=""),
        post(db, g2, "250.40", subject="operations", on=date(2025, 5, 1), memo="试剂，耗材"),
        post(db, g3, "300000.00", entry_type="disbursement", on=date(2025, 5, 20), memo="拨款"),
        post(db, g2, "-50.00", subject="operations", entry_type="reversal", on=date(2025, 6, 1), memo="冲销: 重复",
             reverses_seq=3),
    ]
    db.session.flush()
    return {"uni": uni, "inst": inst, "grants": (g1, g2, g3), "rows": rows}


@pytest.fixture
def after_midnight(monkeypatch):
    """Tomorrow, for the checkpoints: today's entries belong to a finished day (only those are checkpointed)."""
    from datetime import timedelta

    from grants.db import today
    from reports import checkpoints

    real = today()
    monkeypatch.setattr(checkpoints, "today", lambda: real + timedelta(days=1))
    return real
