"""The bureau's queue at scale (budgets.queue): filters, sorting, paging, bulk decisions, the adjustment queue."""
from datetime import timedelta
from decimal import Decimal

import pytest

from budgets import queue
from budgets.models import AdjustmentStatus, ExpenseStatus, Subject, Verdict
from grants.db import now
from grants.errors import DomainError
from grants.models import GrantStatus
from tests.factories import (BudgetAdjustmentFactory, BudgetLineFactory, ExpenseFactory, GrantFactory,
                             InstitutionFactory, make_user)


def finding(rule_id, kind="amount_threshold", severity="needs_approval"):
    return {"rule_id": rule_id, "kind": kind, "severity": severity, "message_zh": "", "message_en": "", "source": "",
            "figures": {}, "missing_field": None}


@pytest.fixture
def queued(db):
    a, b = InstitutionFactory(name="甲大学"), InstitutionFactory(name="乙研究院")
    ga = GrantFactory(institution=a, status=GrantStatus.ACTIVE)
    gb = GrantFactory(institution=b, status=GrantStatus.ACTIVE)
    BudgetLineFactory(grant=ga, subject=Subject.OPERATIONS, amount=Decimal("100000.00"), reserved=Decimal("3500.00"))
    BudgetLineFactory(grant=gb, subject=Subject.OPERATIONS, amount=Decimal("100000.00"), reserved=Decimal("9000.00"))

    def pending(grant, amount, age, *rules, verdict=Verdict.NEEDS_APPROVAL, **kw):
        return ExpenseFactory(grant=grant, amount=Decimal(amount), verdict=verdict, status=ExpenseStatus.PENDING,
                              findings=[finding(r, **kw) for r in rules], submitted_at=now() - timedelta(days=age))

    e1 = pending(ga, "1000.00", 1, "EXPERT-FEE-CAP")
    e2 = pending(ga, "2500.00", 10, "SEED-INSTRUMENT-30W", "EXPERT-FEE-CAP")
    e3 = pending(gb, "9000.00", 40, "BUDGET-AVAILABLE", kind="budget_availability")
    ExpenseFactory(grant=gb, amount=Decimal("7.00"), findings=[finding("EXPERT-FEE-CAP")])  # posted: not queued
    db.session.flush()
    bureau, _ = make_user("finance_bureau")
    return bureau, (ga, gb), (e1, e2, e3)


def ids(rows):
    return [e.id for e in rows]


def test_filters_sort_and_page(queued):
    bureau, (ga, gb), (e1, e2, e3) = queued
    q = lambda **f: ids(queue.queue_page(bureau, f)[0])  # noqa: E731
    assert q() == [e3.id, e2.id, e1.id]                                  # oldest first
    assert q(sort="amount", desc=True) == [e3.id, e2.id, e1.id]
    assert q(sort="amount") == [e1.id, e2.id, e3.id]
    assert q(institution_id=ga.institution_id) == [e2.id, e1.id]
    assert q(grant_id=gb.id) == [e3.id]
    assert q(rule_id="EXPERT-FEE-CAP") == [e2.id, e1.id]                 # the posted one is not in the queue
    assert q(rule_id="SEED-INSTRUMENT-30W") == [e2.id]
    assert q(verdict="warn") == []
    assert q(amount_min=Decimal("2000"), amount_max=Decimal("5000")) == [e2.id]
    assert q(min_age_days=7) == [e3.id, e2.id]
    assert q(max_age_days=7) == [e1.id]
    rows, total, amount = queue.queue_page(bureau, {}, page=2, size=2)
    assert (ids(rows), total, amount) == ([e1.id], 3, Decimal("12500.00"))
    assert queue.queue_rules(bureau) == ["BUDGET-AVAILABLE", "EXPERT-FEE-CAP", "SEED-INSTRUMENT-30W"]
    assert queue.needs_adjustment(e3) and not queue.needs_adjustment(e1)


def test_decide_many_with_one_reason_each_on_its_own(queued, db):
    bureau, _, (e1, e2, e3) = queued
    e3.status = ExpenseStatus.REJECTED  # decided meanwhile: it fails alone, the others go through
    db.session.flush()
    result = queue.decide_many([e1.id, e2.id, e3.id, e1.id], True, "符合规定", bureau)
    assert result.decided == [e1.id, e2.id] and list(result.failed) == [e3.id]
    assert (e1.status, e1.decision_reason, e2.status) == (ExpenseStatus.POSTED, "符合规定", ExpenseStatus.POSTED)
    with pytest.raises(DomainError):
        queue.decide_many([e1.id], False, "  ", bureau)


def test_auditor_may_read_but_not_decide_and_institution_may_not_read(queued):
    _, (ga, _), (e1, _, _) = queued
    auditor, _ = make_user("auditor")
    assert len(queue.queue_page(auditor, {})[0]) == 3
    with pytest.raises(DomainError) as e:
        queue.decide_many([e1.id], True, "ok", auditor)
    assert e.value.status == 403
    staff, _ = make_user("institution", ga.institution)
    with pytest.raises(DomainError):
        queue.filtered_queue(staff, {})


def test_adjustment_queue_by_level(queued, db):
    bureau, (ga, gb), _ = queued
    a1 = BudgetAdjustmentFactory(grant=ga, approver_level="institution", status=AdjustmentStatus.PENDING)
    a2 = BudgetAdjustmentFactory(grant=gb, approver_level="funder", status=AdjustmentStatus.PENDING)
    BudgetAdjustmentFactory(grant=gb, approver_level="funder", status=AdjustmentStatus.APPROVED)
    db.session.flush()
    assert [a.id for a in db.session.scalars(queue.adjustment_queue(bureau))] == [a1.id, a2.id]
    assert [a.id for a in db.session.scalars(queue.adjustment_queue(bureau, "funder"))] == [a2.id]
    assert queue.adjustment_counts(bureau) == {"institution": 1, "funder": 1}
