"""Policy-change replay: the bureau sees which verdicts a draft policy would change, and nothing changes."""
import copy
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from budgets.models import BudgetLine, Expense, ExpenseStatus, Subject, Verdict
from compliance.models import PolicyVersion
from compliance.policy import content_hash
from budgets.expenses.service import expense_facts, judge_expense, load_grant_state
from compliance.service import policy_version_on
from grants.ledger import LedgerEntry
from grants.models import GrantStatus, InstitutionKind, TrancheStatus
from tests.factories import (BudgetLineFactory, ExpenseFactory, GrantFactory, InstitutionFactory,
                             PolicyVersionFactory, TrancheFactory)

ON = date(2025, 6, 1)


def instrument(grant, unit_value, invoice):
    """A well-documented instrument purchase, judged and stored the way the service stores it."""
    data = dict(expense_date=ON, amount=Decimal(unit_value), subject="equipment", purpose="equipment_purchase",
                description="购置气相色谱仪", payee_name="鄂尔多斯仪器有限公司", payee_kind="vendor",
                payment_method="bank_transfer", invoice_no=invoice, invoice_verified=True,
                unit_value=Decimal(unit_value), quantity=1, platform_registered=False, fund_source="municipal")
    version, policy = policy_version_on(ON)
    j = judge_expense(expense_facts(data), load_grant_state(grant, lock=False), policy, None)
    return ExpenseFactory(grant=grant, verdict=Verdict(j.verdict), findings=[f.to_dict() for f in j.findings],
                          status=ExpenseStatus.POSTED if j.verdict in ("allow", "warn") else ExpenseStatus.PENDING,
                          policy_version_id=version.id, **data)


@pytest.fixture
def draft(db):
    """The 2021 policy with the instrument threshold lowered from 300,000 to 200,000 yuan."""
    active = db.session.scalars(select(PolicyVersion).where(PolicyVersion.version == "2021.1")).one()
    content = copy.deepcopy(active.content)
    content.update(version="2026.0", status="draft", effective_from="2026-01-01")
    rule = next(r for r in content["rules"] if r["id"] == "SEED-INSTRUMENT-30W")
    rule["params"]["at_least"] = "200000"
    return PolicyVersionFactory(policy_set=content["policy_set"], version="2026.0", status="draft",
                                effective_from=date(2026, 1, 1), content=content, content_hash=content_hash(content))


def test_replay_names_expenses_whose_verdict_a_draft_would_change(db, draft, bureau):
    uni = InstitutionFactory(kind=InstitutionKind.UNIVERSITY)
    g = GrantFactory(institution=uni, status=GrantStatus.ACTIVE, start_date=date(2025, 1, 1))
    BudgetLineFactory(grant=g, subject=Subject.EQUIPMENT, amount=Decimal("1000000.00"), spent=Decimal("400000.00"))
    TrancheFactory(grant=g, amount=Decimal("1000000.00"), status=TrancheStatus.PAID, paid_on=date(2025, 1, 10))
    caught = instrument(g, "250000.00", "INV-250")
    instrument(g, "150000.00", "INV-150")
    assert caught.verdict == Verdict.ALLOW
    before = {e.id: (e.verdict, e.status, list(e.findings)) for e in db.session.scalars(select(Expense))}
    ledger_rows = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    line = db.session.scalars(select(BudgetLine).where(BudgetLine.grant_id == g.id)).one()

    r = bureau.get(f"/api/v1/reports/policy-replay?version_id={draft.id}&date_from=2025-01-01&date_to=2025-12-31")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["examined"] == 2 and body["policy"]["status"] == "draft"
    assert [c["expense_id"] for c in body["changes"]] == [caught.id]
    change = body["changes"][0]
    assert (change["old_verdict"], change["new_verdict"]) == ("allow", "needs_approval")
    assert change["rules_added"] == ["SEED-INSTRUMENT-30W"] and change["rules_removed"] == []
    assert body["transitions"] == {"allow→needs_approval": 1} and body["amount_with_changed_verdict"] == "250000.00"

    db.session.expire_all()
    assert {e.id: (e.verdict, e.status, list(e.findings)) for e in db.session.scalars(select(Expense))} == before
    assert db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == ledger_rows
    assert (line.spent, line.reserved) == (Decimal("400000.00"), Decimal("0.00"))


def test_replay_outside_the_period_examines_nothing(db, draft, auditor):
    body = auditor.get(f"/api/v1/reports/policy-replay?version_id={draft.id}&date_from=2030-01-01").get_json()
    assert body["examined"] == 0 and body["changes"] == []


def test_replay_of_an_unknown_version_is_404(db, bureau):
    assert bureau.get("/api/v1/reports/policy-replay?version_id=999999").status_code == 404
