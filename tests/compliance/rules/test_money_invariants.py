"""The engine's money invariants, pure: no database, no Flask.

GRANT-FISCAL-TOTAL holds under every policy version (built in, replaceable only by a stated rule of its
kind); a subject without budgeted money waits for a 预算调剂 and the finding says which; the no-indirect
fund-source rule judges expenses too and fails closed on an unknown fund source.
"""
from __future__ import annotations

from decimal import Decimal as D

from compliance.rules import judge
from tests.compliance.rules.support import CONTENT_2021, NO_CTX, P2020, P2021, expense, grant, ids, line, only, with_rules


def test_the_fiscal_total_binds_under_every_policy_version():
    g = grant(fiscal_amount=D("1000"), lines={"operations": line("operations", "5000", spent="950")})
    for policy in (P2020, P2021):
        f = only(judge(expense(amount=D("100")), g, NO_CTX, policy), "GRANT-FISCAL-TOTAL")
        assert (f.severity, f.figures["excess"]) == ("reject", "50")


def test_reservations_alone_over_the_total_make_the_expense_wait():
    g = grant(fiscal_amount=D("1000"), lines={"operations": line("operations", "1000", spent="500", reserved="400")})
    j = judge(expense(amount=D("200")), g, NO_CTX, P2021)
    f = only(j, "GRANT-FISCAL-TOTAL")
    assert f.severity == "needs_approval" and f.figures["reserved_total"] == "400"


def test_spending_up_to_the_fiscal_amount_is_allowed_and_post_subsidy_is_not_bounded_by_it():
    g = grant(fiscal_amount=D("1000"), lines={"operations": line("operations", "1000", spent="900")})
    assert "GRANT-FISCAL-TOTAL" not in ids(judge(expense(amount=D("100")), g, NO_CTX, P2021))
    ps = grant(category="post_subsidy", fiscal_amount=D("0"), lines={})
    assert "GRANT-FISCAL-TOTAL" not in ids(judge(expense(amount=D("100")), ps, NO_CTX, P2021))


def test_a_stated_rule_of_the_kind_replaces_the_built_in_one():
    stated = {"id": "MY-TOTAL", "kind": "grant_total", "title": {"zh": "总额", "en": "total"},
              "source": {"doc": "TASK-BOOK"}, "severity": "needs_approval"}
    p = with_rules(CONTENT_2021, stated)
    g = grant(fiscal_amount=D("1000"), lines={"operations": line("operations", "5000", spent="950")})
    j = judge(expense(amount=D("100")), g, NO_CTX, p)
    assert "GRANT-FISCAL-TOTAL" not in ids(j) and only(j, "MY-TOTAL").severity == "needs_approval"


def test_a_subject_with_no_budgeted_money_names_the_adjustment_it_waits_for():
    g = grant(lines={"operations": line("operations"), "labour": line("labour", "0", reserved="300")})
    f = only(judge(expense(subject="labour", amount=D("200"), purpose="labour_fee", payee_kind="student"),
                   g, NO_CTX, P2021), "SUBJECT-IN-BUDGET")
    assert f.severity == "needs_approval"
    assert f.figures["adjustment_needed"] == {"to_subject": "labour", "min_amount": "500.00"}
    assert "预算调剂" in f.message_zh


def test_over_budget_operations_names_the_adjustment_it_waits_for():
    g = grant(lines={"operations": line("operations", "1000", spent="900"), "labour": line("labour")})
    f = only(judge(expense(amount=D("300")), g, NO_CTX, P2021), "BUDGET-AVAILABLE")
    assert f.figures["adjustment_needed"] == {"to_subject": "operations", "min_amount": "200.00"}
    assert "下放预算调剂权" in f.source


def test_indirect_costs_on_a_fund_source_that_allows_none_are_rejected_on_the_expense():
    g = grant(fund_source="central_guide_local")
    f = only(judge(expense(subject="indirect", purpose="performance_pay", invoice_verified=None), g, NO_CTX, P2021),
             "NO-INDIRECT-FUND-SOURCE")
    assert f.severity == "reject" and f.source
    # the expense's own fund source wins over the grant's
    j = judge(expense(subject="indirect", purpose="performance_pay", fund_source="central_guide_local"), grant(),
              NO_CTX, P2021)
    assert only(j, "NO-INDIRECT-FUND-SOURCE").severity == "reject"
    # direct costs on the same money are fine
    assert "NO-INDIRECT-FUND-SOURCE" not in ids(judge(expense(), g, NO_CTX, P2021))


def test_an_unknown_fund_source_fails_closed_naming_the_known_ones():
    f = only(judge(expense(), grant(fund_source="central-guide"), NO_CTX, P2021), "NO-INDIRECT-FUND-SOURCE")
    assert f.severity == "needs_approval" and f.missing_field == "fund_source"
    assert "central_guide_local" in f.figures["known_fund_sources"]
