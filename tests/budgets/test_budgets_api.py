"""Budgets (预算制 / 包干制), the tiered indirect-cost cap, and 预算调剂 adjustments, through the API."""
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from budgets.models import BudgetLine
from grants.ledger import LedgerEntry
from grants.models import FundingMode, GrantStatus
from tests.factories import BudgetLineFactory, GrantFactory


def _budget(api, g, **amounts):
    return api.put(f"/api/v1/grants/{g.id}/budget",
                   json={"lines": [{"subject": s, "amount": a} for s, a in amounts.items()]})


def test_budget_must_add_up_to_the_fiscal_amount(bureau, db):
    g = GrantFactory(fiscal_amount=Decimal("1000000.00"))
    r = _budget(bureau, g, equipment="100000.00", operations="400000.00", labour="200000.00", indirect="100000.00")
    assert r.status_code == 422 and "BUDGET-TOTAL" in str(r.get_json()["findings"])
    r = _budget(bureau, g, equipment="100000.00", operations="500000.00", labour="250000.00", indirect="150000.00")
    assert r.status_code == 200, r.get_json()
    assert {l["subject"]: l["available"] for l in r.get_json()["lines"]}["operations"] == "500000.00"


def test_indirect_cost_cap_is_tiered_after_the_2021_reform(bureau, db):
    """国办发〔2021〕32号: ≤30% up to 5M, ≤25% from 5M to 10M, ≤20% above, of (direct − equipment)."""
    fiscal = Decimal("16150000.00")
    g = GrantFactory(fiscal_amount=fiscal)
    # direct 13,000,000 with equipment 1,000,000 → base 12,000,000 → cap 1.5M + 1.25M + 0.4M = 3,150,000
    ok = _budget(bureau, g, equipment="1000000.00", operations="8000000.00", labour="4000000.00", indirect="3150000.00")
    assert ok.status_code == 200, ok.get_json()
    g2 = GrantFactory(fiscal_amount=fiscal + Decimal("0.01"))
    over = _budget(bureau, g2, equipment="1000000.00", operations="8000000.00", labour="4000000.00",
                   indirect="3150000.01")
    assert over.status_code == 422 and "INDIRECT-CAP" in str(over.get_json()["findings"])


def test_indirect_cap_of_a_grant_starting_before_the_reform_uses_the_old_tiers(bureau, db):
    """Before 2021-08-13 the tiers were 20/15/13% (dated policy version 2020.1)."""
    g = GrantFactory(fiscal_amount=Decimal("1200000.00"), start_date=date(2020, 1, 1), end_date=date(2022, 12, 31))
    # base 1,000,000 − 0 equipment → old cap 200,000 (new would be 300,000)
    r = _budget(bureau, g, operations="800000.00", labour="200000.00", indirect="200000.00")
    assert r.status_code == 200, r.get_json()
    g2 = GrantFactory(fiscal_amount=Decimal("1250000.00"), start_date=date(2020, 1, 1), end_date=date(2022, 12, 31))
    r = _budget(bureau, g2, operations="800000.00", labour="200000.00", indirect="250000.00")
    assert r.status_code == 422


def test_lump_sum_budget_is_a_single_pool(bureau, db):
    g = GrantFactory(funding_mode=FundingMode.LUMP_SUM, fiscal_amount=Decimal("500000.00"))
    r = _budget(bureau, g, operations="500000.00")
    assert r.status_code == 422 and "lines.0.subject" in r.get_json()["errors"]
    assert _budget(bureau, g, lump_sum="500000.00").status_code == 200


def test_budget_is_frozen_after_approval(bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE)
    r = _budget(bureau, g, operations="1000000.00")
    assert r.status_code == 409 and "预算调剂" in r.get_json()["message"]


def test_single_lines_cannot_exceed_the_fiscal_amount(bureau, db):
    g = GrantFactory(fiscal_amount=Decimal("1000.00"))
    assert bureau.post(f"/api/v1/grants/{g.id}/budget-lines", json={"subject": "operations", "amount": "800.00"}).status_code == 201
    r = bureau.post(f"/api/v1/grants/{g.id}/budget-lines", json={"subject": "labour", "amount": "200.01"})
    assert r.status_code == 422
    lid = bureau.get(f"/api/v1/grants/{g.id}/budget-lines").get_json()[0]["id"]
    assert bureau.patch(f"/api/v1/grants/{g.id}/budget-lines/{lid}", json={"amount": "1000.00"}).status_code == 200
    assert bureau.patch(f"/api/v1/grants/{g.id}/budget-lines/{lid}", json={"amount": "1000.01"}).status_code == 422


def _active_with_lines(**amounts):
    g = GrantFactory(status=GrantStatus.ACTIVE)
    for s, a in amounts.items():
        BudgetLineFactory(grant=g, subject=s, amount=Decimal(a))
    return g


def _line(db, g, subject):
    db.session.expire_all()
    return db.session.execute(select(BudgetLine).where(BudgetLine.grant_id == g.id, BudgetLine.subject == subject)).scalar_one()


def test_pi_moves_between_operations_and_labour_alone(login, db):
    g = _active_with_lines(equipment="300000.00", operations="400000.00", labour="200000.00", indirect="100000.00")
    staff = login("institution", g.institution)
    r = staff.post(f"/api/v1/grants/{g.id}/adjustments",
                   json={"from_subject": "operations", "to_subject": "labour", "amount": "50000.00", "reason": "增聘助研"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["status"], body["approver_level"], body["rule_id"]) == ("recorded", "pi", "ADJ-OPS-LABOUR")
    assert _line(db, g, "operations").available == Decimal("350000.00")
    assert _line(db, g, "labour").available == Decimal("250000.00")
    moves = db.session.scalars(select(LedgerEntry.amount).where(LedgerEntry.grant_id == g.id,
                                                                LedgerEntry.entry_type == "adjustment")).all()
    assert sorted(moves) == [Decimal("-50000.00"), Decimal("50000.00")]


def test_increasing_equipment_needs_approval_and_applies_only_when_approved(login, bureau, db):
    g = _active_with_lines(equipment="300000.00", operations="400000.00", labour="200000.00", indirect="100000.00")
    staff = login("institution", g.institution)
    body = staff.post(f"/api/v1/grants/{g.id}/adjustments",
                      json={"from_subject": "operations", "to_subject": "equipment", "amount": "80000.00"}).get_json()
    assert body["status"] == "pending" and body["approver_level"] == "institution"
    assert _line(db, g, "equipment").available == Decimal("300000.00")
    assert staff.post(f"/api/v1/grants/{g.id}/adjustments/{body['id']}/decision",
                      json={"approve": True}).status_code == 403
    assert bureau.post(f"/api/v1/grants/{g.id}/adjustments/{body['id']}/decision",
                       json={"approve": False}).status_code == 422  # a rejection needs a reason
    r = bureau.post(f"/api/v1/grants/{g.id}/adjustments/{body['id']}/decision", json={"approve": True, "reason": "同意"})
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    assert _line(db, g, "equipment").available == Decimal("380000.00")
    assert bureau.post(f"/api/v1/grants/{g.id}/adjustments/{body['id']}/decision",
                       json={"approve": True}).status_code == 409


def test_an_adjustment_cannot_move_more_than_is_left(login, db):
    g = _active_with_lines(equipment="300000.00", operations="400000.00", labour="200000.00", indirect="100000.00")
    staff = login("institution", g.institution)
    r = staff.post(f"/api/v1/grants/{g.id}/adjustments",
                   json={"from_subject": "labour", "to_subject": "operations", "amount": "200000.01"})
    assert r.status_code == 409 and "amount" in r.get_json()["errors"]


def test_lump_sum_grants_have_nothing_to_adjust(login, db):
    g = GrantFactory(status=GrantStatus.ACTIVE, funding_mode=FundingMode.LUMP_SUM)
    staff = login("institution", g.institution)
    r = staff.post(f"/api/v1/grants/{g.id}/adjustments",
                   json={"from_subject": "operations", "to_subject": "labour", "amount": "1.00"})
    assert r.status_code == 409
