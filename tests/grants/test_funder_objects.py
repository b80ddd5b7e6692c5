"""Tranches, milestones, races, subsidy terms and equity are the funder's: institution staff read their
own and write none of them (issue #9, item 2)."""
from decimal import Decimal

import pytest

from grants.models import Category, GrantStatus, TrancheStatus
from tests.factories import EquityInvestmentFactory, GrantFactory, MilestoneFactory, TrancheFactory


def test_institution_cannot_ungate_a_milestone_tranche_and_get_it_paid(login, bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE)
    m = MilestoneFactory(grant=g)
    t = TrancheFactory(grant=g, amount=Decimal("1000.00"), milestone_id=m.id)
    staff = login("institution", g.institution)
    r = staff.patch(f"/api/v1/grants/{g.id}/tranches/{t.id}", json={"milestone_id": None})
    assert r.status_code == 403 and r.get_json()["code"] == "forbidden"
    db.session.refresh(t)
    assert t.milestone_id == m.id
    r = bureau.post(f"/api/v1/grants/{g.id}/tranches/{t.id}/pay", json={})
    assert r.status_code == 409 and r.get_json()["code"] == "gate_closed"
    db.session.refresh(t)
    assert t.status == TrancheStatus.PLANNED


@pytest.mark.parametrize("method, path, body", [
    ("post", "/grants/{g}/tranches", {"planned_date": "2025-01-10", "amount": "10.00"}),
    ("patch", "/grants/{g}/tranches/{t}", {"amount": "20.00"}),
    ("post", "/grants/{g}/tranches/{t}/pay", {}),
    ("post", "/grants/{g}/milestones", {"title": "验收", "due_date": "2026-01-01"}),
    ("patch", "/grants/{g}/milestones/{m}", {"title": "改名"}),
    ("post", "/grants/{g}/milestones/{m}/decision", {"accepted": True}),
    ("post", "/races", {"title": "赛马", "stages": ["初赛", "决赛"]}),
    ("put", "/grants/{s}/subsidy-terms", {"ratio_cap": "0.5", "absolute_cap": "100.00"}),
    ("post", "/grants/{e}/equity", {"investee_name": "甲公司", "amount": "10.00", "pre_money_valuation": "100.00",
                                    "invested_on": "2025-02-01"}),
    ("patch", "/grants/{e2}/equity", {"holder": "乙"}),
    ("post", "/grants/{e2}/equity/events", {"kind": "exit", "event_date": "2030-01-01", "fraction_sold": "0.5",
                                            "proceeds": "1.00"}),
])
def test_every_write_of_a_funders_object_is_refused_to_the_institution(login, db, method, path, body):
    inst_grant = GrantFactory(status=GrantStatus.ACTIVE)
    inst = inst_grant.institution
    t = TrancheFactory(grant=inst_grant, amount=Decimal("10.00"))
    m = MilestoneFactory(grant=inst_grant)
    sub = GrantFactory(institution=inst, category=Category.POST_SUBSIDY, status=GrantStatus.ACTIVE)
    eq = GrantFactory(institution=inst, category=Category.GRANT_TO_EQUITY, status=GrantStatus.ACTIVE)
    eq2 = GrantFactory(institution=inst, category=Category.GRANT_TO_EQUITY, status=GrantStatus.ACTIVE)
    EquityInvestmentFactory(grant=eq2)
    staff = login("institution", inst)
    url = "/api/v1" + path.format(g=inst_grant.id, t=t.id, m=m.id, s=sub.id, e=eq.id, e2=eq2.id)
    r = getattr(staff, method)(url, json=body)
    assert r.status_code == 403, (url, r.get_json())
