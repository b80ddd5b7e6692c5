"""Each funding category's money flow, through the API, with the ledger as witness."""
from decimal import Decimal

from sqlalchemy import select

from budgets.models import ExpenseStatus
from grants.ledger import LedgerEntry
from grants.models import Category, GrantStatus, ManagementMode
from grants.equity import initial_shareholding, shareholding_after
from grants.models import EquityEventKind
from tests.factories import (ExpenseFactory, GrantFactory, MilestoneFactory, RaceFactory, RaceStageFactory,
                             SubsidyTermsFactory)


def _ledger(db, grant_id):
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.grant_id == grant_id).order_by(LedgerEntry.seq)).all()


# ---------------------------------------------------------------- competitive / stable: tranches and milestones
def test_milestone_gated_tranche_waits_for_acceptance(bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE, management_mode=ManagementMode.MILESTONE)
    m = MilestoneFactory(grant=g)
    first = bureau.post(f"/api/v1/grants/{g.id}/tranches", json={"planned_date": "2025-01-10", "amount": "600000.00"})
    gated = bureau.post(f"/api/v1/grants/{g.id}/tranches",
                        json={"planned_date": "2026-01-10", "amount": "400000.00", "milestone_id": m.id})
    assert first.status_code == gated.status_code == 201
    assert bureau.post(f"/api/v1/grants/{g.id}/tranches/{first.get_json()['id']}/pay", json={}).status_code == 200

    r = bureau.post(f"/api/v1/grants/{g.id}/tranches/{gated.get_json()['id']}/pay", json={})
    assert r.status_code == 409 and r.get_json()["code"] == "gate_closed"
    assert "中期检查" in r.get_json()["message"]

    r = bureau.post(f"/api/v1/grants/{g.id}/milestones/{m.id}/decision", json={"accepted": True, "note": "通过"})
    assert r.get_json()["status"] == "accepted"
    r = bureau.post(f"/api/v1/grants/{g.id}/tranches/{gated.get_json()['id']}/pay", json={"paid_on": "2026-01-12"})
    assert r.status_code == 200 and r.get_json()["status"] == "paid"
    entries = _ledger(db, g.id)
    assert [(e.entry_type, e.amount) for e in entries] == [("disbursement", Decimal("600000.00")),
                                                           ("disbursement", Decimal("400000.00"))]
    assert bureau.post(f"/api/v1/grants/{g.id}/tranches/{gated.get_json()['id']}/pay", json={}).status_code == 409


def test_rejected_milestone_keeps_its_tranche_closed(bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE)
    m = MilestoneFactory(grant=g)
    t = bureau.post(f"/api/v1/grants/{g.id}/tranches",
                    json={"planned_date": "2026-01-10", "amount": "1000.00", "milestone_id": m.id}).get_json()
    bureau.post(f"/api/v1/grants/{g.id}/milestones/{m.id}/decision", json={"accepted": False, "note": "未达标"})
    assert bureau.post(f"/api/v1/grants/{g.id}/tranches/{t['id']}/pay", json={}).status_code == 409


def test_tranches_cannot_exceed_the_fiscal_amount(bureau, db):
    g = GrantFactory(fiscal_amount=Decimal("1000.00"))
    assert bureau.post(f"/api/v1/grants/{g.id}/tranches", json={"planned_date": "2025-01-10", "amount": "600.00"}).status_code == 201
    r = bureau.post(f"/api/v1/grants/{g.id}/tranches", json={"planned_date": "2025-02-10", "amount": "400.01"})
    assert r.status_code == 422 and "amount" in r.get_json()["errors"]


def test_tranche_of_an_inactive_grant_is_not_paid(bureau, db):
    g = GrantFactory(status=GrantStatus.APPROVED)
    t = bureau.post(f"/api/v1/grants/{g.id}/tranches", json={"planned_date": "2025-01-10", "amount": "10.00"}).get_json()
    r = bureau.post(f"/api/v1/grants/{g.id}/tranches/{t['id']}/pay", json={})
    assert r.status_code == 409 and "approved" in r.get_json()["message"]


def test_only_the_bureau_pays(login, bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE)
    staff = login("institution", g.institution)
    # tranches are the funder's to set: the institution may not plan one ...
    r = staff.post(f"/api/v1/grants/{g.id}/tranches", json={"planned_date": "2025-01-10", "amount": "10.00"})
    assert r.status_code == 403
    # ... nor pay the one the bureau planned
    t = bureau.post(f"/api/v1/grants/{g.id}/tranches", json={"planned_date": "2025-01-10", "amount": "10.00"}).get_json()
    assert staff.post(f"/api/v1/grants/{g.id}/tranches/{t['id']}/pay", json={}).status_code == 403


def test_horse_race_funds_later_stages_only_for_chosen_teams(bureau, db):
    race = bureau.post("/api/v1/races", json={"title": "氢能装备赛马", "stages": ["初赛", "复赛", "决赛"]}).get_json()
    teams = [GrantFactory(status=GrantStatus.ACTIVE, management_mode=ManagementMode.HORSE_RACE, race_id=race["id"])
             for _ in range(3)]
    stage1, stage2 = race["stages"][0]["id"], race["stages"][1]["id"]
    paid = {}
    for t in teams:
        first = bureau.post(f"/api/v1/grants/{t.id}/tranches",
                            json={"planned_date": "2025-01-10", "amount": "100000.00", "race_stage_id": stage1}).get_json()
        assert bureau.post(f"/api/v1/grants/{t.id}/tranches/{first['id']}/pay", json={}).status_code == 200
        paid[t.id] = bureau.post(f"/api/v1/grants/{t.id}/tranches",
                                 json={"planned_date": "2025-07-10", "amount": "300000.00", "race_stage_id": stage2}).get_json()
    r = bureau.post(f"/api/v1/races/{race['id']}/stages/2/selection", json={"grant_ids": [teams[0].id, teams[2].id]})
    assert r.status_code == 200
    assert r.get_json()["stages"][1]["selected_grant_ids"] == sorted([teams[0].id, teams[2].id])
    assert bureau.post(f"/api/v1/grants/{teams[0].id}/tranches/{paid[teams[0].id]['id']}/pay", json={}).status_code == 200
    dropped = bureau.post(f"/api/v1/grants/{teams[1].id}/tranches/{paid[teams[1].id]['id']}/pay", json={})
    assert dropped.status_code == 409 and "stage 2" in dropped.get_json()["message"]
    # a team dropped at stage 2 cannot be picked for stage 3
    r = bureau.post(f"/api/v1/races/{race['id']}/stages/3/selection", json={"grant_ids": [teams[1].id]})
    assert r.status_code == 409


def test_a_stage_of_another_race_is_refused(bureau, db):
    other = RaceStageFactory()
    race = RaceFactory()
    g = GrantFactory(management_mode=ManagementMode.HORSE_RACE, race_id=race.id)
    r = bureau.post(f"/api/v1/grants/{g.id}/tranches",
                    json={"planned_date": "2025-01-10", "amount": "1.00", "race_stage_id": other.id})
    assert r.status_code == 422 and "race_stage_id" in r.get_json()["errors"]


# ---------------------------------------------------------------- 先立项后补助
def _post_subsidy_grant(status, ratio="0.3000", cap="500000.00"):
    terms = SubsidyTermsFactory(ratio_cap=Decimal(ratio), absolute_cap=Decimal(cap))
    g = terms.grant if hasattr(terms, "grant") else None
    from grants.extensions import db as _db
    from grants.models import Grant

    g = _db.session.get(Grant, terms.grant_id)
    g.status = status
    _db.session.flush()
    return g


def test_post_subsidy_pays_nothing_before_acceptance(bureau, db):
    g = _post_subsidy_grant(GrantStatus.ACTIVE)
    ExpenseFactory(grant=g, amount=Decimal("100000.00"), subsidy_eligible=True)
    for url in (f"/api/v1/grants/{g.id}/subsidy", f"/api/v1/grants/{g.id}/subsidy/pay"):
        r = bureau.post(url, json={})
        assert r.status_code == 409 and "acceptance" in r.get_json()["message"]
    assert _ledger(db, g.id) == []
    r = bureau.post(f"/api/v1/grants/{g.id}/tranches", json={"planned_date": "2025-01-10", "amount": "1.00"})
    assert r.status_code == 409


def test_post_subsidy_is_ratio_of_eligible_spend_when_under_the_cap(bureau, db):
    g = _post_subsidy_grant(GrantStatus.ACCEPTED, ratio="0.3000", cap="500000.00")
    ExpenseFactory(grant=g, amount=Decimal("100000.10"), subsidy_eligible=True)
    ExpenseFactory(grant=g, amount=Decimal("200000.00"), subsidy_eligible=True)
    ExpenseFactory(grant=g, amount=Decimal("50000.00"), subsidy_eligible=False)  # negative-list hit
    ExpenseFactory(grant=g, amount=Decimal("70000.00"), subsidy_eligible=True, status=ExpenseStatus.REJECTED)
    r = bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={})
    assert r.status_code == 200, r.get_json()
    a = r.get_json()
    assert a["eligible_spend"] == "300000.10"
    assert a["ineligible_spend"] == "50000.00"
    assert a["by_ratio"] == "90000.03"          # 300000.10 × 0.3 = 90000.030
    assert a["payable"] == "90000.03"
    assert a["explanation"]["limited_by"] == "ratio"
    assert "50000.00" in a["explanation"]["zh"]
    r = bureau.post(f"/api/v1/grants/{g.id}/subsidy/pay", json={"paid_on": "2027-03-01"})
    assert r.status_code == 200
    assert [(e.entry_type, e.amount) for e in _ledger(db, g.id)] == [("subsidy_payment", Decimal("90000.03"))]
    assert bureau.post(f"/api/v1/grants/{g.id}/subsidy/pay", json={}).status_code == 409
    assert bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={}).status_code == 409


def test_post_subsidy_is_capped_and_rounds_down(bureau, db):
    g = _post_subsidy_grant(GrantStatus.ACCEPTED, ratio="0.3333", cap="100000.00")
    ExpenseFactory(grant=g, amount=Decimal("1000000.00"), subsidy_eligible=True)
    a = bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={}).get_json()
    assert a["by_ratio"] == "333300.00" and a["payable"] == "100000.00"
    assert a["explanation"]["limited_by"] == "absolute_cap"
    g2 = _post_subsidy_grant(GrantStatus.ACCEPTED, ratio="0.3333", cap="100000.00")
    ExpenseFactory(grant=g2, amount=Decimal("100.01"), subsidy_eligible=True)
    assert bureau.post(f"/api/v1/grants/{g2.id}/subsidy", json={}).get_json()["payable"] == "33.33"  # 33.333333 ↓


def test_subsidy_terms_only_for_post_subsidy_and_ratio_validated(bureau, db):
    g = GrantFactory(category=Category.COMPETITIVE)
    assert bureau.put(f"/api/v1/grants/{g.id}/subsidy-terms", json={"ratio_cap": "0.2", "absolute_cap": "1.00"}).status_code == 409
    p = GrantFactory(category=Category.POST_SUBSIDY)
    r = bureau.put(f"/api/v1/grants/{p.id}/subsidy-terms", json={"ratio_cap": "1.5", "absolute_cap": "1.00"})
    assert r.status_code == 422 and "ratio_cap" in r.get_json()["errors"]
    r = bureau.put(f"/api/v1/grants/{p.id}/subsidy-terms", json={"ratio_cap": "0.25", "absolute_cap": "5000000.00"})
    assert r.status_code == 200 and r.get_json()["ratio_cap"] == "0.2500"


def test_post_subsidy_grant_cannot_be_approved_without_terms(bureau, db):
    g = GrantFactory(category=Category.POST_SUBSIDY)
    assert bureau.post(f"/api/v1/grants/{g.id}/actions/approve", json={}).status_code == 409


# ---------------------------------------------------------------- 拨改投
def test_shareholding_arithmetic():
    assert initial_shareholding(Decimal("2000000"), Decimal("18000000")) == Decimal("0.1000000000")
    # our 10% at pre-money 40M, a 10M round we do not join → 10% × 40/50 = 8%
    assert shareholding_after(Decimal("0.1"), EquityEventKind.DILUTION, round_size=Decimal("10000000"),
                              pre_money=Decimal("40000000")) == Decimal("0.0800000000")
    # follow-on: we put 1M of a 5M round at pre-money 20M: (0.08×20M + 1M)/25M = 0.104
    assert shareholding_after(Decimal("0.08"), EquityEventKind.FOLLOW_ON, amount=Decimal("1000000"),
                              round_size=Decimal("5000000"), pre_money=Decimal("20000000")) == Decimal("0.1040000000")
    assert shareholding_after(Decimal("0.1040000000"), EquityEventKind.EXIT,
                              fraction_sold=Decimal("0.5")) == Decimal("0.0520000000")


def test_grant_to_equity_investment_events_and_return(bureau, db):
    g = GrantFactory(category=Category.GRANT_TO_EQUITY, status=GrantStatus.ACTIVE, fiscal_amount=Decimal("3000000.00"))
    r = bureau.post(f"/api/v1/grants/{g.id}/equity", json={
        "investee_name": "鄂尔多斯绿氢装备有限公司", "amount": "2000000.00", "pre_money_valuation": "18000000.00",
        "invested_on": "2025-03-01", "lock_up_end": "2027-03-01", "holder": "市国投",
        "conditions": {"allowed_subjects": ["equipment"]}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["shareholding"] == "0.1000000000"
    ev = bureau.post(f"/api/v1/grants/{g.id}/equity/events", json={
        "kind": "dilution", "event_date": "2026-01-01", "round_size": "10000000.00", "pre_money_valuation": "40000000.00"})
    assert ev.status_code == 201 and ev.get_json()["shareholding_after"] == "0.0800000000"
    early = bureau.post(f"/api/v1/grants/{g.id}/equity/events", json={
        "kind": "buy_back", "event_date": "2026-06-01", "fraction_sold": "0.5", "proceeds": "1500000.00"})
    assert early.status_code == 409 and "lock" in early.get_json()["message"]
    bb = bureau.post(f"/api/v1/grants/{g.id}/equity/events", json={
        "kind": "buy_back", "event_date": "2027-06-01", "fraction_sold": "0.5", "proceeds": "1500000.00"})
    assert bb.status_code == 201 and bb.get_json()["shareholding_after"] == "0.0400000000"
    pos = bureau.get(f"/api/v1/grants/{g.id}/equity").get_json()
    assert pos["invested"] == "2000000.00"
    assert pos["proceeds"] == "1500000.00"
    assert pos["cost_of_disposed"] == "1000000.00"
    assert pos["realised_gain"] == "500000.00"
    assert pos["remaining_cost"] == "1000000.00"
    assert pos["multiple"] == "1.5000"
    assert [(e.entry_type, e.amount) for e in _ledger(db, g.id)] == [
        ("equity_investment", Decimal("2000000.00")), ("equity_event", Decimal("-1500000.00"))]


def test_equity_event_needs_its_figures(bureau, db):
    g = GrantFactory(category=Category.GRANT_TO_EQUITY, status=GrantStatus.ACTIVE)
    bureau.post(f"/api/v1/grants/{g.id}/equity", json={"investee_name": "X", "amount": "1.00",
                                                       "pre_money_valuation": "9.00", "invested_on": "2025-03-01"})
    r = bureau.post(f"/api/v1/grants/{g.id}/equity/events", json={"kind": "exit", "event_date": "2026-01-01"})
    assert r.status_code == 422 and {"fraction_sold", "proceeds"} <= set(r.get_json()["errors"])


def test_equity_only_for_grant_to_equity(bureau, db):
    g = GrantFactory(category=Category.COMPETITIVE, status=GrantStatus.ACTIVE)
    r = bureau.post(f"/api/v1/grants/{g.id}/equity", json={"investee_name": "X", "amount": "1.00",
                                                           "pre_money_valuation": "9.00", "invested_on": "2025-03-01"})
    assert r.status_code == 409
