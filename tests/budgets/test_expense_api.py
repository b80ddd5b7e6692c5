"""Every verdict kind through the HTTP API, with the books (budget lines, ledger) as witness."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from budgets.models import BudgetLine, Expense
from grants import ledger
from grants.ledger import LedgerEntry
from grants.models import Category, FundingMode, Grant, GrantStatus, InstitutionKind, TrancheStatus
from tests.factories import (BudgetLineFactory, EquityInvestmentFactory, GrantFactory, InstitutionFactory,
                             SubsidyTermsFactory, TrancheFactory)


def active_grant(*, funding_mode=FundingMode.BUDGETED, category=Category.COMPETITIVE, lines=None,
                 disbursed="1000000.00", kind=InstitutionKind.RESEARCH_INSTITUTE, **kw):
    inst = InstitutionFactory(kind=kind)
    g = GrantFactory(institution=inst, status=GrantStatus.ACTIVE, funding_mode=funding_mode, category=category,
                     fiscal_amount=Decimal("1000000.00"), **kw)
    if lines is None:
        lines = ({"lump_sum": "1000000.00"} if funding_mode == FundingMode.LUMP_SUM else
                 {"equipment": "300000.00", "operations": "400000.00", "labour": "200000.00", "indirect": "100000.00"})
    if category != Category.POST_SUBSIDY:
        for subject, amount in lines.items():
            BudgetLineFactory(grant=g, subject=subject, amount=Decimal(amount))
        if disbursed:
            TrancheFactory(grant=g, amount=Decimal(disbursed), status=TrancheStatus.PAID, paid_on=date(2025, 1, 5))
    return g


def expense(g, **kw):
    body = {"grant_id": g.id, "expense_date": "2025-06-01", "amount": "5000.00", "subject": "operations",
            "purpose": "materials", "description": "实验试剂采购", "payee_name": "鄂尔多斯化玻仪器公司",
            "payee_kind": "vendor", "payment_method": "bank_transfer", "invoice_no": f"INV-{g.id}-{kw.get('amount', '5000.00')}",
            "invoice_verified": True}
    body.update(kw)
    return body


def line(db, g, subject):
    return db.session.execute(select(BudgetLine).where(BudgetLine.grant_id == g.id,
                                                       BudgetLine.subject == subject)).scalar_one()


def entries(db, g):
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.grant_id == g.id,
                                                        LedgerEntry.entry_type.in_(["expense", "reversal"]))
                              .order_by(LedgerEntry.seq)).all()


def test_a_clean_expense_is_allowed_posted_and_consumes_budget(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses", json=expense(g))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["verdict"], body["status"], body["findings"]) == ("allow", "posted", [])
    assert body["policy_version_id"] is not None
    db.session.expire_all()
    assert line(db, g, "operations").spent == Decimal("5000.00")
    assert [(e.entry_type, e.amount, e.subject) for e in entries(db, g)] == [("expense", Decimal("5000.00"), "operations")]


def test_a_fine_is_rejected_stored_but_never_posted(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses", json=expense(g, purpose="other", description="交通违章罚款"))
    body = r.get_json()
    assert body["verdict"] == "reject" and body["status"] == "rejected"
    f = next(f for f in body["findings"] if f["rule_id"] == "NEG-FINE-ETC")
    assert f["severity"] == "reject" and f["source"] and f["message_zh"] and f["message_en"]
    db.session.expire_all()
    assert line(db, g, "operations").spent == 0
    assert entries(db, g) == []
    # the bureau still sees the attempted violation
    assert db.session.get(Expense, body["id"]).verdict.value == "reject"


def test_cash_payment_is_a_warning_and_still_posted(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, payment_method="cash")).get_json()
    assert body["verdict"] == "warn" and body["status"] == "posted"
    assert [f["rule_id"] for f in body["findings"]] == ["OFFICIAL-CARD-CASH"]


def test_missing_field_fails_closed_and_reserves_until_decided(login, bureau, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, invoice_verified=None)).get_json()
    assert body["verdict"] == "needs_approval" and body["status"] == "pending"
    missing = [f for f in body["findings"] if f["missing_field"]]
    assert missing and missing[0]["missing_field"] == "invoice_verified"
    db.session.expire_all()
    assert line(db, g, "operations").reserved == Decimal("5000.00")
    queue = bureau.get("/api/v1/expenses/queue").get_json()
    assert body["id"] in [e["id"] for e in queue]
    assert bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": True, "reason": ""}).status_code == 422
    r = bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": True, "reason": "发票已人工查验"})
    assert r.status_code == 200 and r.get_json()["status"] == "posted"
    db.session.expire_all()
    ln = line(db, g, "operations")
    assert (ln.reserved, ln.spent) == (0, Decimal("5000.00"))
    assert len(entries(db, g)) == 1
    assert bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": False, "reason": "x"}).status_code == 409


def test_rejection_by_the_bureau_releases_the_reservation(login, bureau, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, invoice_verified=None)).get_json()
    r = bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": False, "reason": "无法查验"})
    assert r.get_json()["status"] == "rejected" and r.get_json()["decision_reason"] == "无法查验"
    db.session.expire_all()
    assert line(db, g, "operations").reserved == 0 and entries(db, g) == []


def test_institution_staff_cannot_decide_expenses(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, invoice_verified=None)).get_json()
    assert staff.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": True, "reason": "ok"}).status_code == 403


def test_overspending_equipment_is_rejected(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, subject="equipment", amount="300000.01", purpose="equipment_purchase",
                                                      unit_value="300000.01", quantity=1, platform_registered=True)).get_json()
    assert body["verdict"] == "reject"
    f = next(f for f in body["findings"] if f["kind"] == "budget_availability")
    assert f["figures"]["available"] == "300000.00"


def test_overspending_operations_may_go_ahead_with_approval(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, amount="400000.01")).get_json()
    assert body["verdict"] == "needs_approval"
    assert any(f["kind"] == "budget_availability" and f["severity"] == "needs_approval" for f in body["findings"])


def test_queued_expenses_reserve_so_two_cannot_exceed_a_line(login, db):
    g = active_grant(lines={"equipment": "100000.00", "operations": "800000.00", "labour": "50000.00",
                            "indirect": "50000.00"})
    staff = login("institution", g.institution)
    eq = dict(subject="equipment", purpose="equipment_purchase", unit_value="60000.00", quantity=1)
    first = staff.post("/api/v1/expenses", json=expense(g, amount="60000.00", invoice_verified=None, **eq)).get_json()
    assert first["verdict"] == "needs_approval"
    second = staff.post("/api/v1/expenses", json=expense(g, amount="60000.00", invoice_no="INV-2", **eq)).get_json()
    assert second["verdict"] == "reject"  # 100000 − 60000 reserved < 60000


def test_approval_rechecks_the_budget_as_it_is_now(login, bureau, db):
    g = active_grant()
    staff = login("institution", g.institution)
    eq = dict(subject="equipment", purpose="equipment_purchase", unit_value="200000.00", quantity=1,
              platform_registered=True)
    body = staff.post("/api/v1/expenses", json=expense(g, amount="200000.00", invoice_verified=None, **eq)).get_json()
    assert body["status"] == "pending"
    ln = line(db, g, "equipment")
    ln.spent = Decimal("250000.00")  # meanwhile the money went (e.g. a correction posted elsewhere)
    db.session.commit()
    r = bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": True, "reason": "同意"})
    assert r.status_code == 409 and r.get_json()["code"] == "budget_exceeded"
    assert bureau.get(f"/api/v1/expenses/{body['id']}").get_json()["status"] == "pending"


def test_lump_sum_grant_ignores_subject_limits_but_not_the_negative_list(login, db):
    g = active_grant(funding_mode=FundingMode.LUMP_SUM)
    staff = login("institution", g.institution)
    big = staff.post("/api/v1/expenses", json=expense(g, subject="operations", amount="900000.00")).get_json()
    assert big["verdict"] == "allow", big["findings"]
    card = staff.post("/api/v1/expenses", json=expense(g, subject="operations", purpose="gift_card",
                                                      description="购物卡", invoice_no="INV-card")).get_json()
    assert card["verdict"] == "reject" and "NEG-GIFTCARD" in [f["rule_id"] for f in card["findings"]]
    late = staff.post("/api/v1/expenses", json=expense(g, expense_date="2028-02-01", invoice_no="INV-late")).get_json()
    assert late["verdict"] == "reject" and "GRANT-PERIOD" in [f["rule_id"] for f in late["findings"]]


def test_duplicate_invoice_is_rejected(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    assert staff.post("/api/v1/expenses", json=expense(g, invoice_no="DUP-1")).get_json()["verdict"] == "allow"
    again = staff.post("/api/v1/expenses", json=expense(g, invoice_no="DUP-1", amount="10.00")).get_json()
    assert again["verdict"] == "reject"
    assert "NEG-FAKE-DUPLICATE-INVOICE" in [f["rule_id"] for f in again["findings"]]


def test_expense_on_an_inactive_grant_is_judged_not_skipped(login, db):
    g = active_grant()
    g.status = GrantStatus.SUSPENDED
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g)).get_json()
    assert body["verdict"] == "reject" and "suspended" in " ".join(f["message_en"] for f in body["findings"])


def test_unknown_subject_is_refused_with_the_accepted_codes(login, db):
    """Subjects are a closed vocabulary (issue #8): the API refuses an unknown one before judging; the engine
    still rejects one that reaches it another way (SUBJECT-IN-BUDGET, tests/compliance)."""
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses", json=expense(g, subject="hospitality"))
    assert r.status_code == 422
    message = " ".join(r.get_json()["errors"]["subject"])
    assert "hospitality" in message and "equipment, operations, labour, indirect, lump_sum" in message


def test_post_subsidy_negative_list_hit_is_paid_but_excluded_from_the_subsidy_base(login, db):
    terms = SubsidyTermsFactory()
    g = db.session.get(Grant, terms.grant_id)
    g.status = GrantStatus.ACTIVE
    staff = login("institution", g.institution)
    ok = staff.post("/api/v1/expenses", json=expense(g)).get_json()
    assert ok["status"] == "posted" and ok["subsidy_eligible"] is True
    fine = staff.post("/api/v1/expenses", json=expense(g, description="合同违约金", invoice_no="INV-pen")).get_json()
    assert fine["status"] == "posted" and fine["subsidy_eligible"] is False
    assert fine["verdict"] in ("warn", "allow")
    assert any("补助" in f["message_zh"] for f in fine["findings"])


def test_grant_to_equity_expense_is_judged_against_use_of_funds_conditions(login, db):
    g = active_grant(category=Category.GRANT_TO_EQUITY, funding_mode=FundingMode.LUMP_SUM)
    EquityInvestmentFactory(grant_id=g.id, conditions={"allowed_subjects": ["equipment", "lump_sum"],
                                                       "forbidden_purposes": ["debt_repayment"]})
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, subject="lump_sum", purpose="investment",
                                                      description="认购其他公司股份")).get_json()
    assert body["verdict"] == "reject"
    labour = staff.post("/api/v1/expenses", json=expense(g, subject="labour", invoice_no="INV-l")).get_json()
    assert any(f["kind"] == "equity_use_of_funds" for f in labour["findings"]) and labour["verdict"] != "allow"


def test_dry_run_returns_the_verdict_and_records_nothing(login, auditor, db):
    g = active_grant()
    staff = login("institution", g.institution)
    before = db.session.query(Expense).count()
    r = staff.post("/api/v1/expenses/check", json=expense(g, description="罚款"))
    assert r.status_code == 200
    assert r.get_json()["verdict"] == "reject" and r.get_json()["recorded"] is False
    assert auditor.post("/api/v1/expenses/check", json=expense(g)).get_json()["verdict"] == "allow"
    assert db.session.query(Expense).count() == before
    db.session.expire_all()
    assert line(db, g, "operations").spent == 0


def test_idempotency_key_never_books_twice(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    h = {"Idempotency-Key": "retry-123"}
    first = staff.post("/api/v1/expenses", json=expense(g), headers=h)
    second = staff.post("/api/v1/expenses", json=expense(g), headers=h)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]
    db.session.expire_all()
    assert line(db, g, "operations").spent == Decimal("5000.00") and len(entries(db, g)) == 1



def test_idempotency_key_with_a_different_body_is_refused_naming_the_key(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    h = {"Idempotency-Key": "retry-999"}
    assert staff.post("/api/v1/expenses", json={**expense(g), "amount": "5.00"}, headers=h).status_code == 201
    same = staff.post("/api/v1/expenses", json={**expense(g), "amount": "5.0"}, headers=h)  # same request
    assert same.status_code == 200
    r = staff.post("/api/v1/expenses", json={**expense(g), "amount": "999.00"}, headers=h)
    assert r.status_code == 422, r.get_json()
    assert "retry-999" in r.get_json()["message"] and "Idempotency-Key" in r.get_json()["errors"]
    db.session.expire_all()
    assert line(db, g, "operations").spent == Decimal("5.00") and len(entries(db, g)) == 1


def test_idempotency_keys_are_per_user(login, db):
    g = active_grant()
    h = {"Idempotency-Key": "shared-key"}
    first = login("institution", g.institution).post("/api/v1/expenses", json=expense(g, invoice_no="A-1"), headers=h)
    other = login("institution", g.institution).post("/api/v1/expenses", json=expense(g, invoice_no="B-1"), headers=h)
    assert (first.status_code, other.status_code) == (201, 201)
    assert first.get_json()["id"] != other.get_json()["id"]
    db.session.expire_all()
    assert line(db, g, "operations").spent == Decimal("10000.00") and len(entries(db, g)) == 2


def test_reversal_is_a_new_entry_never_an_edit(login, bureau, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g)).get_json()
    r = bureau.post(f"/api/v1/expenses/{body['id']}/reversal", json={"reason": "重复录入"})
    assert r.status_code == 200 and r.get_json()["status"] == "reversed"
    es = entries(db, g)
    assert [(e.entry_type, e.amount) for e in es] == [("expense", Decimal("5000.00")), ("reversal", Decimal("-5000.00"))]
    assert es[1].reverses_seq == es[0].seq
    db.session.expire_all()
    assert line(db, g, "operations").spent == 0
    assert bureau.post(f"/api/v1/expenses/{body['id']}/reversal", json={"reason": "again"}).status_code == 409
    assert ledger.verify(db.session).ok


def test_expenses_are_scoped_and_auditors_cannot_write(login, auditor, db):
    g, other = active_grant(), active_grant()
    staff = login("institution", g.institution)
    assert staff.post("/api/v1/expenses", json=expense(other)).status_code == 404
    mine = staff.post("/api/v1/expenses", json=expense(g)).get_json()
    theirs_staff = login("institution", other.institution)
    assert theirs_staff.get(f"/api/v1/expenses/{mine['id']}").status_code == 404
    assert [e["id"] for e in theirs_staff.get("/api/v1/expenses").get_json()] == []
    assert auditor.get(f"/api/v1/expenses/{mine['id']}").status_code == 200
    assert auditor.post("/api/v1/expenses", json=expense(g)).status_code == 403


@pytest.mark.parametrize("field,value", [("amount", "12.345"), ("amount", "-1.00"), ("amount", "0"),
                                         ("amount", "NaN"), ("expense_date", "2025-13-01"),
                                         ("payment_method", "bitcoin"), ("payee_kind", "friend")])
def test_bad_expense_input_names_the_field(login, db, field, value):
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses", json=expense(g, **{field: value}))
    assert r.status_code == 422 and field in r.get_json()["errors"]
