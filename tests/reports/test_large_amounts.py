"""Issue 9 item 1: one large amount (≥ 21,474,836.48 yuan, the 32-bit fen limit) must not break any report."""
from datetime import date
from decimal import Decimal

from budgets.models import ExpenseStatus, Subject, Verdict
from grants.models import GrantStatus
from tests.factories import BudgetLineFactory, ExpenseFactory, GrantFactory, InstitutionFactory
from tests.reports.conftest import post

BIG = "30000000.00"


def test_a_30_million_tranche_and_expense_keep_every_report_exact(db, bureau, auditor):
    inst = InstitutionFactory()
    g = GrantFactory(institution=inst, fiscal_amount=Decimal("100000000.00"), status=GrantStatus.ACTIVE)
    BudgetLineFactory(grant=g, subject=Subject.EQUIPMENT, amount=Decimal("90000000.00"),
                      spent=Decimal(BIG), reserved=Decimal(BIG))
    ExpenseFactory(grant=g, expense_date=date(2025, 3, 1), amount=Decimal(BIG), verdict=Verdict.REJECT,
                   status=ExpenseStatus.REJECTED, findings=[])
    ExpenseFactory(grant=g, expense_date=date(2025, 3, 2), amount=Decimal(BIG), verdict=Verdict.NEEDS_APPROVAL,
                   status=ExpenseStatus.PENDING, findings=[])
    post(db, g, BIG, entry_type="disbursement", on=date(2025, 1, 10))
    post(db, g, BIG, subject="equipment", on=date(2025, 3, 2))
    db.session.flush()

    r = bureau.get("/api/v1/reports/compliance-overview")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["amount"] == "60000000.00"
    assert body["approval_queue"]["amount"] == BIG

    r = bureau.get("/api/v1/reports/budget-execution")
    assert r.status_code == 200, r.get_json()
    line = next(s for s in r.get_json()["subjects"] if s["grant_id"] == g.id)
    assert (line["spent"], line["pending"]) == (BIG, BIG)

    r = auditor.get("/api/v1/ledger/export/manifest?format=csv")
    assert r.status_code == 200, r.get_json()
    assert Decimal(r.get_json()["total_amount"]) >= Decimal("60000000.00")
