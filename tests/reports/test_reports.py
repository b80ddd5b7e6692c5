"""The finance bureau's reports, asserted against figures computed by hand from small fixtures."""
import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest

from budgets.models import ExpenseStatus, Subject, Verdict
from grants.db import now
from grants.models import Category, GrantStatus, GrantTransition, InstitutionKind
from reports import queries
from tests.factories import (BudgetLineFactory, ExpenseFactory, GrantFactory, InstitutionFactory,
                             ResearcherFactory)


def finding(rule_id, severity="reject"):
    return {"rule_id": rule_id, "kind": "forbidden_purpose", "severity": severity, "message_zh": "", "message_en": "",
            "source": "", "figures": {}, "missing_field": None}


def expense(grant, on, amount, verdict, *rules, status=None, age_days=0, **kw):
    status = status or {"allow": "posted", "warn": "posted", "reject": "rejected", "needs_approval": "pending"}[verdict]
    return ExpenseFactory(grant=grant, expense_date=on, amount=Decimal(amount), verdict=Verdict(verdict),
                          status=ExpenseStatus(status), findings=[finding(r) for r in rules],
                          submitted_at=now() - timedelta(days=age_days), **kw)


@pytest.fixture
def judged(db):
    a = InstitutionFactory(name="甲大学", kind=InstitutionKind.UNIVERSITY)
    b = InstitutionFactory(name="乙研究院")
    ga = GrantFactory(institution=a)
    gb = GrantFactory(institution=b, category=Category.STABLE)
    expense(ga, date(2025, 3, 5), "1000.00", "allow")
    expense(ga, date(2025, 3, 20), "2500.50", "warn", "PAY-CASH")
    expense(ga, date(2025, 4, 2), "800.00", "reject", "NEG-GIFTCARD", "NEG-FAKE")
    expense(gb, date(2025, 4, 10), "12000.00", "needs_approval", "SEED-INSTRUMENT-30W", age_days=10)
    expense(gb, date(2025, 4, 15), "300.00", "reject", "NEG-GIFTCARD")
    expense(gb, date(2025, 5, 1), "450.25", "reject", "NEG-FINE-ETC")
    expense(gb, date(2025, 5, 2), "99.75", "needs_approval", "EXPERT-FEE-CAP", age_days=40)
    return a, b


def test_compliance_overview_counts_by_verdict_rule_institution_category_and_month(judged, bureau):
    a, b = judged
    r = bureau.get("/api/v1/reports/compliance-overview").get_json()
    assert (r["expenses"], r["amount"]) == (7, "17150.50")
    assert [(v["verdict"], v["expenses"], v["amount"]) for v in r["by_verdict"]] == [
        ("allow", 1, "1000.00"), ("warn", 1, "2500.50"), ("needs_approval", 2, "12099.75"), ("reject", 3, "1550.25")]
    assert [(x["rule_id"], x["expenses"], x["amount"]) for x in r["by_rule"]] == [
        ("NEG-GIFTCARD", 2, "1100.00"), ("EXPERT-FEE-CAP", 1, "99.75"), ("NEG-FAKE", 1, "800.00"),
        ("NEG-FINE-ETC", 1, "450.25"), ("PAY-CASH", 1, "2500.50"), ("SEED-INSTRUMENT-30W", 1, "12000.00")]
    assert r["by_rule"][0]["reject"] == 2
    inst = {x["name"]: x for x in r["by_institution"]}
    assert (inst["甲大学"]["expenses"], inst["甲大学"]["amount"], inst["甲大学"]["reject"]) == (3, "4300.50", 1)
    assert (inst["乙研究院"]["amount"], inst["乙研究院"]["rejected_amount"]) == ("12850.00", "750.25")
    assert [(c["category"], c["expenses"], c["amount"]) for c in r["by_category"]] == [
        ("competitive", 3, "4300.50"), ("stable", 4, "12850.00")]
    assert [(m["month"], m["expenses"], m["amount"]) for m in r["by_month"]] == [
        ("2025-03", 2, "3500.50"), ("2025-04", 3, "13100.00"), ("2025-05", 2, "550.00")]
    assert [(t["name"], t["rejected"], t["rejected_amount"], t["rejected_share"])
            for t in r["top_violating_institutions"]] == [("乙研究院", 2, "750.25", "0.5000"),
                                                          ("甲大学", 1, "800.00", "0.3333")]
    q = r["approval_queue"]
    assert (q["pending"], q["amount"], q["oldest_age_days"]) == (2, "12099.75", 40)
    assert {x["age"]: x["expenses"] for x in q["buckets"]} == {"0-3d": 0, "4-7d": 0, "8-14d": 1, "15-30d": 0,
                                                               "over-30d": 1}


def test_compliance_overview_respects_the_period(judged, auditor):
    r = auditor.get("/api/v1/reports/compliance-overview?date_from=2025-04-01&date_to=2025-04-30").get_json()
    assert (r["expenses"], r["amount"]) == (3, "13100.00")


def test_compliance_overview_downloads_as_xlsx(judged, bureau):
    r = bureau.get("/api/v1/reports/compliance-overview?format=xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert {"summary", "by_verdict", "by_rule", "by_institution", "by_month", "approval_queue_buckets"} <= set(wb.sheetnames)
    rows = list(wb["by_verdict"].iter_rows(values_only=True))
    assert rows[0][:3] == ("verdict", "expenses", "amount") and rows[4][:3] == ("reject", 3, 1550.25)
    assert wb["by_verdict"].cell(row=2, column=3).number_format == "0.00"


def test_institution_staff_cannot_read_bureau_reports(judged, login):
    staff = login("institution", judged[0])
    assert staff.get("/api/v1/reports/compliance-overview").status_code == 403
    assert staff.get("/api/v1/reports/seed-figures").status_code == 403


def test_budget_execution_flags_under_and_over_spending(db, bureau):
    g = GrantFactory(code="KJ-EXEC", status=GrantStatus.ACTIVE, start_date=date(2025, 1, 1), end_date=date(2026, 12, 31))
    BudgetLineFactory(grant=g, subject=Subject.EQUIPMENT, amount=Decimal("600000.00"), spent=Decimal("60000.00"))
    BudgetLineFactory(grant=g, subject=Subject.OPERATIONS, amount=Decimal("300000.00"), adjusted=Decimal("50000.00"),
                      spent=Decimal("300000.00"), reserved=Decimal("40000.00"))
    BudgetLineFactory(grant=g, subject=Subject.LABOUR, amount=Decimal("100000.00"), spent=Decimal("50000.00"))
    late = GrantFactory(code="KJ-LATE", status=GrantStatus.ACTIVE, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))
    BudgetLineFactory(grant=late, subject=Subject.LUMP_SUM, amount=Decimal("200000.00"), spent=Decimal("20000.00"))
    GrantFactory(code="KJ-DRAFT")  # not running: not reported

    r = bureau.get("/api/v1/reports/budget-execution?as_of=2026-01-01").get_json()
    grants = {x["code"]: x for x in r["grants"]}
    assert set(grants) == {"KJ-EXEC", "KJ-LATE"}
    e = grants["KJ-EXEC"]
    assert (e["budget"], e["spent"], e["pending"], e["remaining"]) == ("1050000.00", "410000.00", "40000.00", "600000.00")
    assert (e["execution_rate"], e["time_elapsed"], e["at_risk"]) == ("0.3905", "0.5014", [])
    assert e["burn_vs_time"] == "0.7788"
    lines = {x["subject"]: x for x in r["subjects"] if x["grant_id"] == g.id}
    assert lines["equipment"]["at_risk"] == ["under_spending"] and lines["equipment"]["execution_rate"] == "0.1000"
    assert lines["operations"]["at_risk"] == ["over_spending"] and lines["operations"]["remaining"] == "10000.00"
    assert lines["labour"]["at_risk"] == []
    assert r["at_risk"] == [{"grant_id": late.id, "code": "KJ-LATE", "flags": ["under_spending"]}]
    assert grants["KJ-LATE"]["time_elapsed"] == "1.0000"


@pytest.fixture
def seeded(db):
    uni = InstitutionFactory(name="丙大学", kind=InstitutionKind.UNIVERSITY)
    firm = InstitutionFactory(name="丁公司", kind=InstitutionKind.ENTERPRISE)
    gu, gf = GrantFactory(institution=uni), GrantFactory(institution=firm)
    eq = dict(subject="equipment", quantity=1, fund_source="municipal")
    flagged = [expense(gu, date(2025, 3, 1), "350000.00", "needs_approval", "SEED-INSTRUMENT-30W",
                       unit_value=Decimal("350000.00"), platform_registered=False, **eq),
               expense(gu, date(2025, 3, 2), "300000.00", "allow", unit_value=Decimal("300000.00"),
                       platform_registered=None, **eq)]
    expense(gu, date(2025, 3, 3), "400000.00", "allow", unit_value=Decimal("400000.00"), platform_registered=True, **eq)
    expense(gu, date(2025, 3, 4), "299999.99", "allow", unit_value=Decimal("299999.99"), platform_registered=False, **eq)
    expense(gf, date(2025, 3, 5), "500000.00", "allow", unit_value=Decimal("500000.00"), platform_registered=False, **eq)
    expense(gu, date(2025, 3, 6), "500000.00", "allow", unit_value=Decimal("500000.00"), platform_registered=False,
            subject="equipment", fund_source="self_raised")
    expense(gu, date(2025, 3, 7), "900000.00", "reject", unit_value=Decimal("900000.00"), platform_registered=False, **eq)
    return flagged


def test_unregistered_instruments_of_universities_are_listed(seeded, db):
    r = queries.unregistered_instruments(db.session, queries.report_parameters(db.session, date(2025, 6, 1)))
    assert [i["expense_id"] for i in r["items"]] == [e.id for e in seeded]
    assert (r["count"], r["amount"], r["threshold"]) == (2, "650000.00", "300000.00")


def test_horizontal_projects_of_400k_become_eligible_after_acceptance(db):
    ok = GrantFactory(code="H-1", fund_source="horizontal", self_raised_amount=Decimal("400000.00"),
                      status=GrantStatus.ACCEPTED)
    GrantFactory(code="H-2", fund_source="horizontal", self_raised_amount=Decimal("500000.00"), status=GrantStatus.ACTIVE)
    GrantFactory(code="H-3", fund_source="horizontal", self_raised_amount=Decimal("399999.99"), status=GrantStatus.ACCEPTED)
    GrantFactory(code="M-1", fund_source="municipal", self_raised_amount=Decimal("900000.00"), status=GrantStatus.ACCEPTED)
    closed = GrantFactory(code="H-4", fund_source="horizontal", self_raised_amount=Decimal("600000.00"),
                          status=GrantStatus.CLOSED)
    db.session.add(GrantTransition(grant_id=closed.id, action="accept", from_status="closing", to_status="accepted"))
    db.session.flush()
    r = queries.horizontal_recognition(db.session, queries.ReportParameters())
    assert [(p["code"], p["eligible"]) for p in r["projects"]] == [("H-1", True), ("H-2", False), ("H-4", True)]
    assert (r["eligible"], r["awaiting_acceptance"]) == (2, 1)
    assert ok.id == r["projects"][0]["grant_id"]


def test_youth_share_of_basic_research_funds_counts_age_on_the_expense_date(db):
    x = InstitutionFactory(name="戊研究所")
    y = InstitutionFactory(name="己研究所")
    gx, gy = GrantFactory(institution=x), GrantFactory(institution=y)
    young = ResearcherFactory(institution=x, birth_date=date(1990, 6, 1))
    old = ResearcherFactory(institution=x, birth_date=date(1980, 1, 1))
    forty = ResearcherFactory(institution=x, birth_date=date(1984, 6, 2))   # 40 on 2025-06-01, 41 the next day
    turned = ResearcherFactory(institution=x, birth_date=date(1984, 6, 1))  # 41 on 2025-06-01
    on = date(2025, 6, 1)
    br = dict(fund_source="basic_research")
    expense(gx, on, "1000.00", "allow", researcher_id=young.id, **br)
    expense(gx, on, "3000.00", "allow", researcher_id=old.id, **br)
    expense(gx, on, "500.00", "allow", researcher_id=forty.id, **br)
    expense(gx, on, "250.00", "allow", researcher_id=turned.id, **br)
    expense(gx, on, "250.00", "allow", **br)  # nobody named: counts in the total, not as youth
    expense(gx, on, "9999.00", "reject", researcher_id=young.id, **br)
    expense(gx, on, "777.00", "allow", researcher_id=young.id, fund_source="municipal")
    ry = ResearcherFactory(institution=y, birth_date=date(1995, 1, 1))
    expense(gy, on, "800.00", "allow", researcher_id=ry.id, **br)
    expense(gy, on, "200.00", "allow", **br)

    r = queries.youth_share(db.session, queries.report_parameters(db.session, on))
    rows = {i["name"]: i for i in r["institutions"]}
    assert (rows["戊研究所"]["basic_research_amount"], rows["戊研究所"]["youth_amount"]) == ("5000.00", "1500.00")
    assert (rows["戊研究所"]["youth_share"], rows["戊研究所"]["meets_goal"]) == ("0.3000", False)
    assert rows["戊研究所"]["unattributed_amount"] == "250.00"
    assert (rows["己研究所"]["youth_share"], rows["己研究所"]["meets_goal"]) == ("0.8000", True)
    assert (r["goal"], r["max_age"]) == ("0.40", 40)


def test_soe_rd_add_back_counts_the_increment_at_150_percent(db, bureau):
    soe = InstitutionFactory(name="庚能源集团", kind=InstitutionKind.STATE_OWNED)
    uni = InstitutionFactory(kind=InstitutionKind.UNIVERSITY)
    for year, spend in ((2023, "10000000.00"), (2024, "12000000.00"), (2025, "11000000.00")):
        r = bureau.put("/api/v1/reports/rd-spend", json={"institution_id": soe.id, "year": year, "rd_spend": spend})
        assert r.status_code == 200, r.get_json()
    assert bureau.put("/api/v1/reports/rd-spend", json={"institution_id": uni.id, "year": 2024,
                                                         "rd_spend": "1.00"}).status_code == 422
    rows = bureau.get("/api/v1/reports/seed-figures").get_json()["soe_rd_add_back"]["rows"]
    assert [(x["year"], x["increment"], x["add_back"]) for x in rows] == [
        (2023, None, "10000000.00"), (2024, "2000000.00", "13000000.00"), (2025, "0.00", "11000000.00")]


def test_st_budget_growth_is_measured_against_20_percent(db, bureau, auditor):
    for year, amount in ((2023, "100000000.00"), (2024, "120000000.00"), (2025, "138000000.00")):
        assert bureau.put(f"/api/v1/reports/st-budget-years/{year}", json={"amount": amount}).status_code == 200
    assert auditor.put("/api/v1/reports/st-budget-years/2026", json={"amount": "1.00"}).status_code == 403
    r = auditor.get("/api/v1/reports/seed-figures").get_json()
    years = r["st_budget_growth"]["years"]
    assert [(y["year"], y["growth"], y["meets_target"]) for y in years] == [
        (2023, None, None), (2024, "0.2000", True), (2025, "0.1500", False)]
    assert r["parameters"]["source"].startswith("policy ordos-research-funds")


def test_seed_figures_download_as_xlsx(seeded, bureau):
    r = bureau.get("/api/v1/reports/seed-figures?format=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert "instruments_items" in wb.sheetnames
    assert len(list(wb["instruments_items"].iter_rows())) == 3
