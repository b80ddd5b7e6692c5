"""Programmes on grants (policy data with their own rules), the acceptance date as entered, and the
subsidy payment of min(claimed, assessed, programme cap)."""
import copy
from datetime import date, timedelta
from decimal import Decimal

import pytest
import yaml
from sqlalchemy import select

from compliance.programmes import PROGRAMMES_FILE, compile_programmes, programmes
from compliance.rules import PolicyError
from grants.ledger import LedgerEntry
from grants.models import Category, GrantStatus, GrantTransition
from tests.budgets.test_expense_api import active_grant
from tests.budgets.test_money_invariants import spend
from tests.factories import ExpenseFactory, GrantFactory, InstitutionFactory, ResearcherFactory, SubsidyTermsFactory
from tests.grants.test_registry_api import _grant_body

RAW = yaml.safe_load(PROGRAMMES_FILE.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the data
def test_every_programme_has_labels_a_source_and_the_domain_figures():
    p = programmes()
    assert {"basic_research_funds", "enterprise_rd_post_subsidy", "horizontal_contract", "municipal_general"} <= set(p)
    assert all(x.title_zh and x.title_en and x.source for x in p.values())
    brf = p["basic_research_funds"]
    assert brf.reward_extraction.max_share == Decimal("0.20") and brf.youth_share.min_share == Decimal("0.40")
    assert "基本科研业务费" in brf.reward_extraction.source
    assert p["enterprise_rd_post_subsidy"].subsidy_cap.per_institution_per_year == Decimal("5000000")


@pytest.mark.parametrize("breakage", ["float", "unknown_key", "no_source", "bad_category", "unlisted_doc"])
def test_broken_programme_data_is_refused(breakage):
    c = copy.deepcopy(RAW)
    brf = c["programmes"]["basic_research_funds"]
    if breakage == "float":
        brf["reward_extraction"]["max_share"] = 0.2
    elif breakage == "unknown_key":
        brf["reward_share"] = "0.2"
    elif breakage == "no_source":
        del brf["reward_extraction"]["source"]
    elif breakage == "bad_category":
        brf["categories"] = ["stabel"]
    else:
        brf["source"] = {"doc": "NOWHERE"}
    with pytest.raises(PolicyError):
        compile_programmes(c)


# ------------------------------------------------------------------ the grant's programme
def test_a_grant_takes_a_known_programme_that_fits_its_category(login, db):
    inst = InstitutionFactory()
    pi = ResearcherFactory(institution=inst)
    staff = login("institution", inst)
    r = staff.post("/api/v1/grants", json=_grant_body(inst, pi, programme="municipal_general"))
    assert r.status_code == 201 and r.get_json()["programme"] == "municipal_general"
    r = staff.post("/api/v1/grants", json=_grant_body(inst, pi, code="KJ-T-2", programme="basic_research_fund"))
    assert r.status_code == 422 and "basic_research_funds" in r.get_json()["errors"]["programme"][0]
    r = staff.post("/api/v1/grants", json=_grant_body(inst, pi, code="KJ-T-3", programme="enterprise_rd_post_subsidy"))
    assert r.status_code == 422 and "post_subsidy" in r.get_json()["errors"]["programme"][0]
    gid = staff.post("/api/v1/grants", json=_grant_body(inst, pi, code="KJ-T-4")).get_json()["id"]
    assert staff.patch(f"/api/v1/grants/{gid}", json={"programme": "nope"}).status_code == 422
    r = staff.patch(f"/api/v1/grants/{gid}", json={"programme": "municipal_general"})
    assert r.status_code == 200 and r.get_json()["programme"] == "municipal_general"
    listed = staff.get("/api/v1/programmes").get_json()
    assert {x["code"] for x in listed} == set(programmes()) and all(x["zh"] and x["source"] for x in listed)


def test_reward_extraction_from_basic_research_funds_is_capped_at_20_percent(login, bureau, db):
    g = active_grant(category=Category.STABLE, programme="basic_research_funds")   # fiscal 1,000,000; indirect 100,000
    g.fiscal_amount = Decimal("400000.00")   # cap 80,000 of a smaller grant (lines stay as they are)
    staff = login("institution", g.institution)
    assert spend(staff, g, "indirect", "60000.00", 1)["verdict"] == "allow"
    over = spend(staff, g, "indirect", "20000.01", 2)
    f = next(f for f in over["findings"] if f["rule_id"] == "PROG-REWARD-SHARE")
    assert over["verdict"] == "reject" and f["figures"]["cap"] == "80000.00" and "基本科研业务费" in f["source"]
    assert spend(staff, g, "indirect", "20000.00", 3)["verdict"] == "allow"
    # another programme has no such rule
    g2 = active_grant(programme="municipal_general")
    staff2 = login("institution", g2.institution)
    assert spend(staff2, g2, "indirect", "100000.00", 4)["verdict"] == "allow"


# ------------------------------------------------------------------ acceptance date and the subsidy
def _accepted_post_subsidy(bureau, db, *, programme=None, institution=None, cap="5000000.00", ratio="0.5000",
                           spend_on=(("2025-06-01", "1000000.00"),), accepted_on="2026-03-01"):
    inst = institution or InstitutionFactory()
    g = GrantFactory(category=Category.POST_SUBSIDY, institution=inst, status=GrantStatus.CLOSING,
                     programme=programme)
    SubsidyTermsFactory(grant=g, ratio_cap=Decimal(ratio), absolute_cap=Decimal(cap))
    for day, amount in spend_on:
        ExpenseFactory(grant=g, amount=Decimal(amount), subsidy_eligible=True, expense_date=date.fromisoformat(day))
    r = bureau.post(f"/api/v1/grants/{g.id}/actions/accept", json={"reason": "验收通过", "effective_on": accepted_on})
    assert r.status_code == 200, r.get_json()
    return g


def test_the_acceptance_date_is_entered_recorded_with_who_and_bounds_the_assessed_spend(bureau, db):
    g = _accepted_post_subsidy(bureau, db, spend_on=(("2025-06-01", "100000.00"), ("2026-04-01", "50000.00")))
    assert bureau.get(f"/api/v1/grants/{g.id}").get_json()["accepted_on"] == "2026-03-01"
    t = db.session.scalars(select(GrantTransition).where(GrantTransition.grant_id == g.id)).one()
    assert (t.effective_on, t.user_id) == (date(2026, 3, 1), bureau.user.id)
    a = bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={}).get_json()
    assert a["eligible_spend"] == "100000.00"     # the spend after 验收 is not the accepted project's
    assert a["explanation"]["acceptance"]["accepted_on"] == "2026-03-01"
    assert a["explanation"]["acceptance"]["entered_by"] == bureau.user.username
    assert "2026-03-01" in a["explanation"]["zh"]


def test_an_acceptance_date_in_the_future_or_on_another_action_is_refused(bureau, db):
    g = GrantFactory(status=GrantStatus.CLOSING)
    future = (date.today() + timedelta(days=2)).isoformat()
    r = bureau.post(f"/api/v1/grants/{g.id}/actions/accept", json={"effective_on": future})
    assert r.status_code == 422 and "effective_on" in r.get_json()["errors"]
    r = bureau.post(f"/api/v1/grants/{g.id}/actions/suspend", json={"effective_on": "2025-06-01"})
    assert r.status_code == 422
    # without a date it is today's, still recorded with who entered it
    assert bureau.post(f"/api/v1/grants/{g.id}/actions/accept", json={}).get_json()["accepted_on"] is not None


def test_the_payment_is_the_least_of_claimed_assessed_and_recorded_with_the_explanation(bureau, db):
    g = _accepted_post_subsidy(bureau, db)            # assessed 500,000
    assert bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={}).get_json()["payable"] == "500000.00"
    r = bureau.post(f"/api/v1/grants/{g.id}/subsidy/pay", json={"paid_on": "2026-04-01", "claimed_amount": "320000.00"})
    a = r.get_json()
    assert r.status_code == 200, a
    assert (a["claimed_amount"], a["paid_amount"], a["payment_explanation"]["limited_by"]) == \
        ("320000.00", "320000.00", "claimed")
    assert "320000.00" in a["payment_explanation"]["zh"]
    amounts = db.session.scalars(select(LedgerEntry.amount).where(LedgerEntry.grant_id == g.id)).all()
    assert amounts == [Decimal("320000.00")]
    # claiming more than assessed pays what was assessed
    g2 = _accepted_post_subsidy(bureau, db)
    bureau.post(f"/api/v1/grants/{g2.id}/subsidy", json={})
    a = bureau.post(f"/api/v1/grants/{g2.id}/subsidy/pay", json={"claimed_amount": "900000.00"}).get_json()
    assert (a["paid_amount"], a["payment_explanation"]["limited_by"]) == ("500000.00", "payable")
    # without a claim: the assessed amount, as before
    g3 = _accepted_post_subsidy(bureau, db)
    bureau.post(f"/api/v1/grants/{g3.id}/subsidy", json={})
    assert bureau.post(f"/api/v1/grants/{g3.id}/subsidy/pay", json={}).get_json()["paid_amount"] == "500000.00"
    r = bureau.post(f"/api/v1/grants/{g3.id}/subsidy/pay", json={"claimed_amount": "-1.00"})
    assert r.status_code == 422


def test_enterprise_rd_post_subsidies_are_capped_at_five_million_per_enterprise_per_year(bureau, db):
    firm = InstitutionFactory()
    big = dict(programme="enterprise_rd_post_subsidy", institution=firm, cap="4000000.00",
               spend_on=(("2025-06-01", "8000000.00"),))
    first = _accepted_post_subsidy(bureau, db, **big)
    second = _accepted_post_subsidy(bureau, db, **big)
    other_year = _accepted_post_subsidy(bureau, db, **big)
    for g in (first, second, other_year):
        assert bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={}).get_json()["payable"] == "4000000.00"
    a1 = bureau.post(f"/api/v1/grants/{first.id}/subsidy/pay", json={"paid_on": "2026-04-01"}).get_json()
    a2 = bureau.post(f"/api/v1/grants/{second.id}/subsidy/pay", json={"paid_on": "2026-09-01"}).get_json()
    assert (a1["paid_amount"], a2["paid_amount"]) == ("4000000.00", "1000000.00")
    cap = a2["payment_explanation"]["programme_cap"]
    assert (cap["paid_in_year"], cap["remaining"], a2["payment_explanation"]["limited_by"]) == \
        ("4000000.00", "1000000.00", "programme_cap")
    assert "500万元" in cap["source"]
    a3 = bureau.post(f"/api/v1/grants/{other_year.id}/subsidy/pay", json={"paid_on": "2027-01-05"}).get_json()
    assert a3["paid_amount"] == "4000000.00"


def test_programme_reward_purposes_are_purpose_codes_of_the_policies():
    from tests.compliance.rules.support import P2020, P2021

    for p in programmes().values():
        if p.reward_extraction is not None:
            for policy in (P2020, P2021):
                assert p.reward_extraction.purposes <= policy.vocab["purpose_codes"], p.code
