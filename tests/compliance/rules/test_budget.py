"""Money available (预算制/包干制), the grant period, budget setting (编制) and adjustments (预算调剂).

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from compliance.rules import adjustment_approver, check_budget, indirect_cap, judge
from tests.compliance.rules.support import CONTENT_2021, NO_CTX, P2020, P2021, budget, expense, grant, ids, line, only


# ------------------------------------------------------------------------ budget (预算制/包干制)

def test_overspending_equipment_is_rejected_with_the_figures():
    """BUDGET-AVAILABLE — 国办发〔2021〕32号 (一): budgeted grants spend within each subject."""
    g = grant(lines={"equipment": line("equipment", "10000", spent="8800")})
    e = expense(subject="equipment", amount=D("5000.00"), purpose="equipment_purchase", unit_value=D("5000"),
                quantity=1)
    f = only(judge(e, g, NO_CTX, P2021), "BUDGET-AVAILABLE")
    assert f.severity == "reject"
    assert f.message_zh == "设备费可用余额 1,200.00 元，不足以支付 5,000.00 元"
    assert f.figures == {"subject": "equipment", "available": "1200", "amount": "5000.00", "shortfall": "3800.00"}


def test_overspending_operations_needs_approval_because_the_pi_may_move_money_from_labour():
    """BUDGET-AVAILABLE over_with_approval_subjects — 国办发〔2021〕32号 (二): PI adjusts operations↔labour."""
    g = grant(lines={"operations": line("operations", "1000", reserved="500"), "labour": line("labour")})
    f = only(judge(expense(amount=D("600")), g, NO_CTX, P2021), "BUDGET-AVAILABLE")
    assert f.severity == "needs_approval"
    assert "500.00" in f.message_zh and "600.00" in f.message_zh


def test_spending_exactly_the_available_money_is_allowed():
    g = grant(lines={"operations": line("operations", "1200.00")})
    assert judge(expense(amount=D("1200.00")), g, NO_CTX, P2021).verdict == "allow"


def test_lump_sum_grant_ignores_subject_limits():
    """SEED-LUMPSUM — seed 001 (十九), 004 四: 包干制 has no per-subject budget."""
    g = grant(funding_mode="lump_sum", lines={"lump_sum": line("lump_sum", "50000")})
    j = judge(expense(subject="equipment", amount=D("9000"), purpose="equipment_purchase", unit_value=D("9000")),
              g, NO_CTX, P2021)
    assert j.verdict == "allow", ids(j)


def test_lump_sum_grant_beyond_its_total_needs_approval():
    """SEED-LUMPSUM: the total still binds."""
    g = grant(funding_mode="lump_sum", lines={"lump_sum": line("lump_sum", "50000", spent="49000")})
    f = only(judge(expense(amount=D("2000")), g, NO_CTX, P2021), "SEED-LUMPSUM")
    assert f.severity == "needs_approval" and f.figures["available_total"] == "1000"


def test_new_rd_institution_is_limited_by_its_total_budget_not_by_subject():
    """SEED-BUDGET-NEGLIST — seed 000 三, 001 (二十一): 经费预算+负面清单."""
    lines = {"operations": line("operations", "1000", spent="1000"), "labour": line("labour", "50000")}
    g = grant(institution_kind="new_rd_institution", lines=lines)
    within_total = judge(expense(amount=D("3000")), g, NO_CTX, P2021)
    assert within_total.verdict == "allow", ids(within_total)
    # a subject without a line is the institution's own decision, but it must still be a known subject
    assert judge(expense(subject="equipment", unit_value=D("1200")), g, NO_CTX, P2021).verdict == "allow"
    f = only(judge(expense(amount=D("60000")), g, NO_CTX, P2021), "SEED-BUDGET-NEGLIST")
    assert f.severity == "reject" and f.figures["available_total"] == "50000"


def test_post_subsidy_grant_skips_budget_checks_because_it_is_self_funded():
    """先立项后补助 (seed 001 (十九)): no budget lines, nothing disbursed yet, still judged for the rest."""
    g = grant(category="post_subsidy", lines={}, disbursed=D("0"), fiscal_amount=D("0"))
    j = judge(expense(amount=D("80000")), g, NO_CTX, P2021)
    assert j.verdict == "allow", ids(j)
    assert j.subsidy_eligible is True


def test_subject_missing_from_the_budget_needs_approval():
    """SUBJECT-IN-BUDGET — 国办发〔2021〕32号 (一): never skipped silently."""
    g = grant(lines={"operations": line("operations")})
    f = only(judge(expense(subject="labour", purpose="labour_fee", payee_kind="student"), g, NO_CTX, P2021),
             "SUBJECT-IN-BUDGET")
    assert f.severity == "needs_approval" and "劳务费" in f.message_zh


def test_subject_the_policy_does_not_know_is_rejected_even_on_a_lump_sum_grant():
    """SUBJECT-IN-BUDGET unknown_subject_severity: reject."""
    g = grant(funding_mode="lump_sum", lines={"lump_sum": line("lump_sum")})
    f = only(judge(expense(subject="travel"), g, NO_CTX, P2021), "SUBJECT-IN-BUDGET")
    assert f.severity == "reject" and f.figures["subject"] == "travel"


def test_spending_beyond_the_money_disbursed_needs_approval():
    """DISBURSED-FUNDS — seed 001 (十九) 里程碑: the next tranche waits for the stage check."""
    g = grant(disbursed=D("240000"), spent_total=D("239500"))
    f = only(judge(expense(amount=D("1200.00")), g, NO_CTX, P2021), "DISBURSED-FUNDS")
    assert f.severity == "needs_approval"
    assert f.figures == {"disbursed": "240000", "spent_total": "239500", "amount": "1200.00", "excess": "700.00"}


# ---------------------------------------------------------------------------------- grant period

def test_expense_outside_the_grant_period_is_rejected():
    """GRANT-PERIOD — 项目任务书 执行期."""
    f = only(judge(expense(expense_date=date(2026, 1, 1)), grant(), NO_CTX, P2021), "GRANT-PERIOD")
    assert f.severity == "reject" and "2025-12-31" in f.message_zh


def test_expense_on_a_suspended_grant_is_rejected_naming_its_status():
    """GRANT-PERIOD allowed_statuses: [active] — judged, not skipped."""
    f = only(judge(expense(), grant(status="suspended"), NO_CTX, P2021), "GRANT-PERIOD")
    assert f.severity == "reject" and "suspended" in f.message_zh and "suspended" in f.message_en


# ------------------------------------------------------------------------ budget setting (编制)

def test_indirect_cap_is_applied_tier_by_tier():
    """INDIRECT-CAP — 国办发〔2021〕32号 (七): 30% to 5M, 25% to 10M, 20% above."""
    assert indirect_cap(D("12000000"), P2021.indirect_tiers) == D("3150000.00")
    assert indirect_cap(D("5000000"), P2021.indirect_tiers) == D("1500000.00")
    assert indirect_cap(D("3333333.33"), P2021.indirect_tiers) == D("999999.99")   # rounded down to the fen
    assert indirect_cap(D("0"), P2021.indirect_tiers) == D("0.00")


def test_indirect_tiers_before_2021_were_20_15_13_percent():
    """中办发〔2016〕50号 — the 2020.1 version."""
    assert indirect_cap(D("12000000"), P2020.indirect_tiers) == D("2010000.00")


def test_indirect_cap_accepts_the_yaml_tier_list():
    assert indirect_cap(D("6000000"), CONTENT_2021["parameters"]["indirect_tiers"]) == D("1750000.00")


def test_a_sound_budget_has_no_findings():
    lines = {"equipment": D("200000"), "operations": D("500000"), "labour": D("150000"), "indirect": D("150000")}
    assert check_budget(lines, D("1000000"), budget(), P2021) == []


def test_budget_lines_must_add_up_to_the_fiscal_amount():
    f = check_budget({"operations": D("900000")}, D("1000000"), budget(), P2021)
    assert [x.rule_id for x in f] == ["BUDGET-TOTAL"] and f[0].figures["difference"] == "-100000"


def test_indirect_costs_above_the_tiered_cap_are_rejected():
    """base = direct − equipment = 500,000 → cap 150,000 (30%)."""
    lines = {"equipment": D("200000"), "operations": D("300000"), "labour": D("200000"), "indirect": D("150000.01")}
    f = check_budget(lines, sum(lines.values()), budget(), P2021)
    assert [x.rule_id for x in f] == ["INDIRECT-CAP"] and f[0].figures["cap"] == "150000.00"


def test_pure_theory_research_may_take_60_percent():
    """国办发〔2021〕32号 (七): 数学等纯理论基础研究 up to 60%; not before 2021."""
    lines = {"operations": D("100000"), "indirect": D("60000")}
    assert check_budget(lines, D("160000"), budget(pure_theory=True), P2021) == []
    assert [x.rule_id for x in check_budget(lines, D("160000"), budget(pure_theory=True), P2020)] == ["INDIRECT-CAP"]


def test_central_guide_funds_allow_no_indirect_costs():
    """NO-INDIRECT-FUND-SOURCE — 中央引导地方科技发展资金."""
    lines = {"operations": D("100000"), "indirect": D("10000")}
    f = check_budget(lines, D("110000"), budget(fund_source="central_guide_local"), P2021)
    assert [x.rule_id for x in f] == ["NO-INDIRECT-FUND-SOURCE"]


def test_check_budget_accepts_a_grant_and_lines_keyed_by_the_model_enums():
    """The budgets service passes the ORM grant (str enums) and may key lines by Subject."""
    from types import SimpleNamespace

    from budgets.models import Subject
    from grants.models import Category, FundingMode

    g = SimpleNamespace(category=Category.COMPETITIVE, funding_mode=FundingMode.LUMP_SUM,
                        fund_source="municipal", pure_theory=False)
    f = check_budget({Subject.EQUIPMENT: D("300000")}, D("300000"), g, P2021)
    assert [x.rule_id for x in f] == ["BUDGET-SUBJECTS"]
    assert "lump_sum grant" in f[0].message_en and "FundingMode" not in f[0].message_en


def test_lump_sum_budget_has_a_single_pool():
    """BUDGET-SUBJECTS — 国办发〔2021〕32号 (三): 包干制 prepares no budget by subject."""
    assert check_budget({"lump_sum": D("300000")}, D("300000"), budget(funding_mode="lump_sum"), P2021) == []
    f = check_budget({"equipment": D("300000")}, D("300000"), budget(funding_mode="lump_sum"), P2021)
    assert [x.rule_id for x in f] == ["BUDGET-SUBJECTS"]


# ------------------------------------------------------------------------- adjustments (预算调剂)

@pytest.mark.parametrize("src, dst, level, rule_id", [
    ("operations", "labour", "pi", "ADJ-OPS-LABOUR"),
    ("labour", "operations", "pi", "ADJ-OPS-LABOUR"),
    ("equipment", "operations", "pi", "ADJ-DECREASE-EQUIP-INDIRECT"),
    ("indirect", "labour", "pi", "ADJ-DECREASE-EQUIP-INDIRECT"),
    ("operations", "equipment", "institution", "ADJ-INCREASE-EQUIPMENT"),
    ("equipment", "indirect", "institution", "ADJ-INCREASE-INDIRECT"),   # the stricter side wins
    ("lump_sum", "operations", "funder", "ADJ-OTHER"),
])
def test_adjustment_approver_follows_guobanfa_2021_32(src, dst, level, rule_id):
    """国办发〔2021〕32号 (二) and the typical institutional procedure (DOMAIN 预算调剂)."""
    assert adjustment_approver(src, dst, D("1000"), P2021) == (level, rule_id)


def test_before_2021_moving_money_into_labour_needed_the_funder():
    assert adjustment_approver("operations", "labour", D("1000"), P2020) == ("funder", "ADJ-INCREASE-EQUIP-LABOUR")
    assert adjustment_approver("equipment", "operations", D("1000"), P2020) == ("institution", "ADJ-TO-OPERATIONS")


def test_an_adjustment_must_move_a_positive_amount_between_two_subjects():
    with pytest.raises(ValueError):
        adjustment_approver("operations", "operations", D("1"), P2021)
    with pytest.raises(ValueError):
        adjustment_approver("operations", "labour", D("0"), P2021)
