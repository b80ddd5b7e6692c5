"""The dashboard's figures (reports.dashboard), on both databases, against sums worked out by hand."""
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from budgets.models import Subject
from evaluations.models import EvaluationStatus
from grants.errors import DomainError
from grants.models import Category, GrantStatus, TrancheStatus
from reports import dashboard as dash
from tests.factories import (BudgetLineFactory, EquityEventFactory, EquityInvestmentFactory, EvaluationFactory,
                             GrantFactory, InstitutionFactory, SubsidyAssessmentFactory, TrancheFactory, make_user)

AS_OF = date(2026, 1, 1)  # one year into 2025-01-01 … 2026-12-31: half the period elapsed


@pytest.fixture
def figures(db):
    a = InstitutionFactory(name="甲大学")
    b = InstitutionFactory(name="乙研究院")
    g1 = GrantFactory(institution=a, status=GrantStatus.ACTIVE, start_date=date(2025, 1, 1),
                      end_date=date(2026, 12, 31))
    g2 = GrantFactory(institution=b, status=GrantStatus.ACTIVE, category=Category.STABLE,
                      start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))
    g3 = GrantFactory(institution=b, status=GrantStatus.DRAFT)  # not active: not in execution
    BudgetLineFactory(grant=g1, subject=Subject.EQUIPMENT, amount=Decimal("300000.00"), spent=Decimal("100000.50"),
                      reserved=Decimal("20000.00"))
    BudgetLineFactory(grant=g1, subject=Subject.OPERATIONS, amount=Decimal("100000.00"), spent=Decimal("0.25"))
    BudgetLineFactory(grant=g2, subject=Subject.OPERATIONS, amount=Decimal("200000.00"), spent=Decimal("150000.00"))
    BudgetLineFactory(grant=g3, subject=Subject.OPERATIONS, amount=Decimal("999.00"))
    TrancheFactory(grant=g1, amount=Decimal("200000.00"), status=TrancheStatus.PAID, paid_on=date(2025, 2, 1))
    TrancheFactory(grant=g1, amount=Decimal("150000.10"))
    TrancheFactory(grant=g2, amount=Decimal("200000.00"), status=TrancheStatus.PAID, paid_on=date(2025, 2, 1))
    sub = GrantFactory(institution=a, category=Category.POST_SUBSIDY, status=GrantStatus.ACCEPTED)
    SubsidyAssessmentFactory(grant=sub, payable=Decimal("30000.00"), paid_on=date(2025, 9, 1))
    sub2 = GrantFactory(institution=b, category=Category.POST_SUBSIDY, status=GrantStatus.ACCEPTED)
    SubsidyAssessmentFactory(grant=sub2, payable=Decimal("12345.67"))
    eq = GrantFactory(institution=a, category=Category.GRANT_TO_EQUITY, status=GrantStatus.ACTIVE)
    inv = EquityInvestmentFactory(grant=eq, amount=Decimal("2000000.00"))
    EquityEventFactory(investment=inv)
    EquityEventFactory(investment=inv, kind="follow_on", amount=Decimal("500000.00"),
                       shareholding_after=Decimal("0.09"))
    EquityEventFactory(investment=inv, kind="exit", fraction_sold=Decimal("1"), proceeds=Decimal("4100000.01"),
                       shareholding_after=Decimal("0"))
    EvaluationFactory(grant=g1, due_date=date(2025, 12, 1))                                   # 31 days overdue
    EvaluationFactory(grant=g2, due_date=date(2025, 12, 20), status=EvaluationStatus.PASSED)  # done
    EvaluationFactory(grant=g2, due_date=date(2026, 2, 1))                                    # not yet due
    db.session.flush()
    return g1, g2


def test_execution_by_category_and_institution_weighs_elapsed_time_by_budget(figures):
    from grants.extensions import db

    by_cat = {r["category"]: r for r in dash.execution_by(db.session, "category", AS_OF)}
    comp = by_cat["competitive"]
    assert (comp["grants"], comp["budget"], comp["spent"], comp["reserved"], comp["available"]) == (
        1, "400000.00", "100000.75", "20000.00", "279999.25")
    assert comp["execution_rate"] == "0.2500"
    assert comp["time_elapsed"] == "0.5014"  # 366 of 730 days
    assert by_cat["stable"]["time_elapsed"] == "1.0000" and by_cat["stable"]["execution_rate"] == "0.7500"
    assert "post_subsidy" not in by_cat
    by_inst = {r["institution"]: r for r in dash.execution_by(db.session, "institution", AS_OF)}
    assert by_inst["乙研究院"]["budget"] == "200000.00"  # the draft grant's 999.00 is not counted


def test_money_by_category_sums_tranches_subsidies_and_equity(figures):
    from grants.extensions import db

    rows = {r["category"]: r for r in dash.money_by_category(db.session)}
    assert (rows["competitive"]["tranches_paid"], rows["competitive"]["tranches_planned"]) == ("200000.00", "150000.10")
    assert rows["stable"]["tranches_paid"] == "200000.00"
    assert (rows["post_subsidy"]["subsidy_assessed"], rows["post_subsidy"]["subsidy_paid"]) == ("42345.67", "30000.00")
    assert (rows["grant_to_equity"]["equity_cost"], rows["grant_to_equity"]["equity_proceeds"]) == (
        "2500000.00", "4100000.01")


def test_overdue_evaluations_are_scheduled_past_their_due_date(figures):
    from grants.extensions import db

    g1, _ = figures
    rows = dash.overdue_evaluations(db.session, AS_OF)
    assert [(r["code"], r["days_overdue"], r["evaluation_kind"]) for r in rows] == [(g1.code, 31, "mid_term")]


def test_dashboard_has_every_panel_and_the_workbook_reads_back(figures):
    from grants.extensions import db

    data = dash.dashboard(db.session, AS_OF)
    assert set(data["charts"]) >= {"verdicts_by_month", "violations_by_rule", "violations_by_institution",
                                   "violations_by_category", "top_findings", "execution_by_category",
                                   "execution_by_institution", "grants_at_risk", "overdue_evaluations",
                                   "money_by_category", "youth_share", "st_budget_growth", "soe_rd_add_back",
                                   "instruments", "horizontal_projects"}
    for chart in data["charts"].values():  # every drawn series is a column of the table
        keys = [k for k, _ in chart["columns"]]
        assert chart["x"] in keys and set(chart["series"]) <= set(keys)
    assert data["totals"]["grants_active"] == 2
    chart = data["charts"]["money_by_category"]
    wb = openpyxl.load_workbook(io.BytesIO(dash.chart_workbook(chart, "资金", {"tranches_paid": "已拨付批次"})))
    ws = wb.active
    assert ws["A1"].value == "资金" and ws["B2"].value == "已拨付批次"
    values = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert Decimal(str(values["competitive"][1])) == Decimal("200000.00")
    assert Decimal(str(values["grant_to_equity"][6])) == Decimal("4100000.01")


def test_dashboard_is_for_report_readers_only(db):
    inst = InstitutionFactory()
    user, _ = make_user("institution", inst)
    with pytest.raises(DomainError) as e:
        dash.dashboard_for(user)
    assert e.value.status == 403
