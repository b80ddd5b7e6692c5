"""The rule engine, judged against the real 2021 policy file (and small dict-built policies).

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from compliance.policy import POLICY_DIR, Policy, load_policy_file
from compliance.rules import (
    BudgetGrant,
    Context,
    ExpenseFacts,
    GrantFacts,
    LineFacts,
    adjustment_approver,
    check_budget,
    indirect_cap,
    judge,
)

CONTENT_2021 = load_policy_file(POLICY_DIR / "ordos-research-funds-2021.yaml")
CONTENT_2020 = load_policy_file(POLICY_DIR / "ordos-research-funds-2020.yaml")
P2021 = Policy.from_content(CONTENT_2021)
P2020 = Policy.from_content(CONTENT_2020)
NO_CTX = Context()


def line(subject, amount="100000", spent="0", reserved="0", adjusted="0"):
    return LineFacts(subject, D(amount), D(adjusted), D(spent), D(reserved))


def grant(**kw) -> GrantFacts:
    base = dict(id=1, category="competitive", funding_mode="budgeted", management_mode="standard", status="active",
                start_date=date(2022, 1, 1), end_date=date(2025, 12, 31), fund_source="municipal",
                institution_kind="university", fiscal_amount=D("400000"), disbursed=D("400000"),
                spent_total=D("0"), lines={s: line(s) for s in ("equipment", "operations", "labour", "indirect")},
                equity_conditions=None)
    base.update(kw)
    return GrantFacts(**base)


def expense(**kw) -> ExpenseFacts:
    base = dict(expense_date=date(2023, 3, 1), amount=D("1200.00"), subject="operations", purpose="materials",
                description="采购实验试剂一批", payee_name="鄂尔多斯某试剂公司", payee_kind="vendor",
                payment_method="bank_transfer", invoice_no="044001900111", invoice_verified=True, unit_value=None,
                quantity=None, platform_registered=None, expert_title=None, expert_days=None, fund_source=None)
    base.update(kw)
    return ExpenseFacts(**base)


def ids(j):
    return [f.rule_id for f in j.findings]


def only(j, rule_id):
    found = [f for f in j.findings if f.rule_id == rule_id]
    assert len(found) == 1, f"expected one {rule_id} finding, got {ids(j)}"
    return found[0]


# --------------------------------------------------------------------------------- baseline

def test_clean_expense_is_allowed_with_no_findings():
    j = judge(expense(), grant(), NO_CTX, P2021)
    assert j.verdict == "allow"
    assert j.findings == ()
    assert j.subsidy_eligible is None


def test_verdict_is_the_worst_finding_severity():
    # cash (OFFICIAL-CARD-CASH: warn) + a fine (NEG-FINE-ETC: reject) → reject
    j = judge(expense(payment_method="cash", purpose="fine"), grant(), NO_CTX, P2021)
    assert {f.severity for f in j.findings} >= {"warn", "reject"}
    assert j.verdict == "reject"


def test_judgement_serialises_to_json_with_decimals_as_strings():
    j = judge(expense(purpose="fine", amount=D("5000.00"), invoice_verified=None), grant(), NO_CTX, P2021)
    data = json.loads(json.dumps(j.to_dict(), ensure_ascii=False))
    fine = next(f for f in data["findings"] if f["rule_id"] == "NEG-FINE-ETC")
    assert fine["figures"]["amount"] == "5000.00"
    assert fine["source"].startswith("机构负面清单")


# ----------------------------------------------------------------------- negative list (负面清单)

def test_fine_is_rejected_by_negative_list():
    """NEG-FINE-ETC — 机构负面清单 第八项; seed 001 (十九)."""
    f = only(judge(expense(purpose="fine", description="交通罚单"), grant(), NO_CTX, P2021), "NEG-FINE-ETC")
    assert f.severity == "reject"
    assert "seed 001 (十九)" in f.source
    assert f.figures["matched_by"] == "purpose"


def test_late_fee_named_only_in_the_chinese_description_is_rejected():
    """NEG-FINE-ETC by keyword: 滞纳金 with no purpose code."""
    j = judge(expense(purpose=None, description="缴纳电费滞纳金"), grant(), NO_CTX, P2021)
    f = only(j, "NEG-FINE-ETC")
    assert (f.figures["matched_by"], f.figures["matched"]) == ("keyword", "滞纳金")
    assert j.verdict == "reject"


def test_english_keywords_match_case_insensitively():
    """NEG-FINE-ETC keywords are lowercased once at load; descriptions are lowercased per call."""
    j = judge(expense(purpose=None, description="Conference SPONSORSHIP package"), grant(), NO_CTX, P2021)
    assert "NEG-FINE-ETC" in ids(j)


def test_fine_chemicals_are_not_mistaken_for_a_fine():
    """The English keyword list avoids bare 'fine' (精细化工 = fine chemicals is common in Ordos)."""
    j = judge(expense(description="fine chemicals reagents 精细化工试剂"), grant(), NO_CTX, P2021)
    assert j.verdict == "allow", ids(j)


def test_payment_to_a_charity_is_a_donation():
    """NEG-FINE-ETC payee_kinds: charity."""
    j = judge(expense(payee_kind="charity", purpose="other", description="转账"), grant(), NO_CTX, P2021)
    assert only(j, "NEG-FINE-ETC").figures["matched_by"] == "payee_kind"


def test_shopping_cards_are_rejected():
    """NEG-GIFTCARD — 机构负面清单 第六项."""
    j = judge(expense(purpose=None, description="购买超市购物卡10张"), grant(), NO_CTX, P2021)
    assert only(j, "NEG-GIFTCARD").severity == "reject"


def test_buying_shares_with_grant_money_is_neg_fine_etc():
    """DOMAIN 拨改投: the money stays research money until conversion; buying shares is NEG-FINE-ETC."""
    g = grant(category="grant_to_equity", equity_conditions={})
    j = judge(expense(purpose="share_purchase", description="认购某公司股份"), g, NO_CTX, P2021)
    assert "NEG-FINE-ETC" in ids(j)
    assert j.verdict == "reject"


def test_management_fee_is_forbidden_outside_indirect_costs():
    """NEG-EXTRA-MGMT-FEE — 国发〔2014〕11号: no management fee beyond the approved indirect costs."""
    outside = judge(expense(purpose="management_fee", description="单位管理费"), grant(), NO_CTX, P2021)
    inside = judge(expense(subject="indirect", purpose="management_fee", description="单位管理费"), grant(),
                   NO_CTX, P2021)
    assert "NEG-EXTRA-MGMT-FEE" in ids(outside)
    assert "NEG-EXTRA-MGMT-FEE" not in ids(inside)


def test_expense_with_neither_purpose_nor_description_fails_closed_once():
    """Fail closed (DOMAIN 'What an expense must carry'): the negative list cannot be checked; one merged
    finding names the field and every rule that needed it."""
    j = judge(expense(purpose=None, description="  "), grant(), NO_CTX, P2021)
    missing = [f for f in j.findings if f.missing_field == "purpose"]
    assert len(missing) == 1
    assert j.verdict == "needs_approval"
    assert "purpose" in missing[0].message_en and "用途" in missing[0].message_zh
    assert {"NEG-FINE-ETC", "NEG-GIFTCARD", "NEG-LAW"} <= set(missing[0].figures["rules_needing_it"])
    assert "NEG-FINE-ETC" in missing[0].message_zh and "NEG-GIFTCARD" in missing[0].message_en


# ---------------------------------------------------------------------------- invoices (NEG-FAKE)

def test_duplicate_invoice_is_rejected_as_fake():
    """NEG-FAKE-DUPLICATE-INVOICE — 机构负面清单 第二项 (duplicate reimbursement)."""
    j = judge(expense(), grant(), Context(duplicate_invoice_of=77), P2021)
    f = only(j, "NEG-FAKE-DUPLICATE-INVOICE")
    assert f.severity == "reject" and f.figures["duplicate_of"] == 77
    assert "#77" in f.message_zh


def test_invoice_that_failed_tax_verification_is_rejected():
    """NEG-FAKE-INVOICE-UNVERIFIED — fake or unverifiable invoices."""
    j = judge(expense(invoice_verified=False), grant(), NO_CTX, P2021)
    assert only(j, "NEG-FAKE-INVOICE-UNVERIFIED").severity == "reject"


@pytest.mark.parametrize("changes, field", [({"invoice_no": None}, "invoice_no"),
                                            ({"invoice_verified": None}, "invoice_verified")])
def test_missing_invoice_data_needs_approval_naming_the_field(changes, field):
    """Fail closed: NEG-FAKE-INVOICE-UNVERIFIED cannot be judged without the invoice and its check."""
    f = only(judge(expense(**changes), grant(), NO_CTX, P2021), "NEG-FAKE-INVOICE-UNVERIFIED")
    assert (f.severity, f.missing_field) == ("needs_approval", field)
    assert field in f.message_en


def test_labour_paid_to_a_student_needs_no_invoice():
    """NEG-FAKE-INVOICE-UNVERIFIED exempts 劳务费 (paid through payroll, no invoice)."""
    e = expense(subject="labour", purpose="stipend", payee_kind="student", payee_name="王同学",
                invoice_no=None, invoice_verified=None, description="3月助研津贴")
    assert judge(e, grant(), NO_CTX, P2021).verdict == "allow"


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


# ------------------------------------------------------------------------ equipment thresholds

def equipment(**kw):
    base = dict(subject="equipment", purpose="equipment_purchase", amount=D("350000"), unit_value=D("350000"),
                quantity=1, description="购置气相色谱仪", platform_registered=False)
    base.update(kw)
    return expense(**base)


def rich_grant(**kw):
    return grant(fiscal_amount=D("2000000"), disbursed=D("2000000"),
                 lines={"equipment": line("equipment", "1500000"), "operations": line("operations")}, **kw)


def test_unregistered_instrument_of_300k_needs_approval():
    """SEED-INSTRUMENT-30W — seed 001 (二十二): ≥ 300,000 yuan per unit joins the sharing platform."""
    f = only(judge(equipment(), rich_grant(), NO_CTX, P2021), "SEED-INSTRUMENT-30W")
    assert f.severity == "needs_approval" and f.source == "seed 001 (二十二)"
    assert "350,000.00" in f.message_zh and "300,000.00" in f.message_zh


def test_instrument_with_unknown_platform_registration_needs_approval_naming_the_field():
    f = only(judge(equipment(platform_registered=None), rich_grant(), NO_CTX, P2021), "SEED-INSTRUMENT-30W")
    assert f.missing_field == "platform_registered" and f.severity == "needs_approval"


def test_registered_instrument_below_500k_is_allowed():
    assert judge(equipment(platform_registered=True), rich_grant(), NO_CTX, P2021).verdict == "allow"


def test_instrument_just_below_300k_needs_no_registration():
    j = judge(equipment(amount=D("299999.99"), unit_value=D("299999.99")), rich_grant(), NO_CTX, P2021)
    assert "SEED-INSTRUMENT-30W" not in ids(j)


def test_instrument_rule_covers_universities_and_institutes_only():
    """seed 001 (二十二) names 高校、科研院所."""
    j = judge(equipment(), rich_grant(institution_kind="enterprise"), NO_CTX, P2021)
    assert "SEED-INSTRUMENT-30W" not in ids(j)


def test_equipment_without_unit_value_fails_closed():
    """A part payment may hide an expensive unit: the threshold rules need unit_value."""
    j = judge(equipment(amount=D("100000"), unit_value=None), rich_grant(), NO_CTX, P2021)
    f = next(f for f in j.findings if f.missing_field == "unit_value")
    assert set(f.figures["rules_needing_it"]) == {"SEED-INSTRUMENT-30W", "EQUIP-500K-JUSTIFY"}
    assert j.verdict == "needs_approval"


def test_equipment_of_500k_warns_that_a_justification_is_required():
    """EQUIP-500K-JUSTIFY — 国办发〔2021〕32号 (一) (50万元以上的设备费), NSFC practice."""
    j = judge(equipment(amount=D("600000"), unit_value=D("600000"), platform_registered=True), rich_grant(),
              NO_CTX, P2021)
    f = only(j, "EQUIP-500K-JUSTIFY")
    assert f.severity == "warn" and "justification" in f.message_en
    assert j.verdict == "warn"


# --------------------------------------------------------------------------------- payment method

def test_cash_payment_warns_unless_it_is_a_listed_exception():
    """OFFICIAL-CARD-CASH — 公务卡强制结算目录: cash only for taxis, tolls, places without card machines."""
    assert only(judge(expense(payment_method="cash"), grant(), NO_CTX, P2021), "OFFICIAL-CARD-CASH").severity == "warn"
    taxi = expense(payment_method="cash", purpose="travel", description="出租车费 机场至实验室")
    assert judge(taxi, grant(), NO_CTX, P2021).verdict == "allow"


def test_missing_payment_method_needs_approval_naming_the_field():
    f = only(judge(expense(payment_method=None), grant(), NO_CTX, P2021), "OFFICIAL-CARD-CASH")
    assert f.missing_field == "payment_method"


def expert(**kw):
    base = dict(purpose="expert_fee", description="中期评审专家咨询费", payee_name="李教授", payee_kind="external_expert",
                payment_method="bank_transfer", invoice_no=None, invoice_verified=None, expert_title="教授",
                expert_days=D("1"), amount=D("2400"))
    base.update(kw)
    return expense(**base)


def test_expert_fee_paid_in_cash_is_rejected():
    """EXPERT-FEE-TRANSFER — 财科教〔2017〕128号: by bank transfer to the individual."""
    f = only(judge(expert(payment_method="cash"), grant(), NO_CTX, P2021), "EXPERT-FEE-TRANSFER")
    assert f.severity == "reject"


# ---------------------------------------------------------------------------------- expert rates

@pytest.mark.parametrize("title, days, purpose, cap", [
    ("教授", "1", "expert_fee", "2400.00"),          # senior top rate per day
    ("教授", "2", "expert_fee", "4800.00"),
    ("研究员", "3", "expert_fee", "6000.00"),        # day 3 at 50%
    ("教授", "0.5", "expert_fee", "1440.00"),        # half day at 60%
    ("院士", "1", "expert_fee", "3600.00"),          # academician: senior +50%
    ("助理研究员", "1", "expert_fee", "1500.00"),    # intermediate title: 'other'
    ("教授", None, "expert_fee_correspondence", "1200.00"),  # correspondence ≤ 50% of the top daily rate
])
def test_expert_fee_caps_follow_caikejiao_2017_128(title, days, purpose, cap):
    """EXPERT-FEE-RATE — 财科教〔2017〕128号: the cap is allowed, a fen more is rejected."""
    e = expert(expert_title=title, expert_days=None if days is None else D(days), purpose=purpose, amount=D(cap))
    assert "EXPERT-FEE-RATE" not in ids(judge(e, grant(), NO_CTX, P2021))
    f = only(judge(replace(e, amount=D(cap) + D("0.01")), grant(), NO_CTX, P2021), "EXPERT-FEE-RATE")
    assert f.severity == "reject" and f.figures["cap"] == cap


def test_expert_fee_cap_scales_with_the_number_of_experts():
    e = expert(quantity=3, amount=D("7200"))
    assert "EXPERT-FEE-RATE" not in ids(judge(e, grant(), NO_CTX, P2021))


@pytest.mark.parametrize("changes, field", [({"expert_title": None}, "expert_title"),
                                            ({"expert_days": None}, "expert_days")])
def test_expert_fee_without_title_or_days_fails_closed(changes, field):
    f = only(judge(expert(**changes), grant(), NO_CTX, P2021), "EXPERT-FEE-RATE")
    assert (f.severity, f.missing_field) == ("needs_approval", field)


# -------------------------------------------------------------------------------- related payees

def test_labour_fee_to_salaried_staff_is_rejected():
    """PAYEE-LABOUR-SALARIED — 劳务费开支范围; DOMAIN related payee rules."""
    e = expense(subject="labour", purpose="labour_fee", payee_kind="salaried_staff", payee_name="张三")
    assert only(judge(e, grant(), NO_CTX, P2021), "PAYEE-LABOUR-SALARIED").severity == "reject"


def test_labour_fee_to_a_name_on_the_payroll_needs_approval():
    """PAYEE-LABOUR-SALARIED names_in: a name match may be a namesake, so a person checks."""
    e = expense(subject="labour", purpose="labour_fee", payee_kind="individual", payee_name="张三")
    f = only(judge(e, grant(), Context(salaried_staff_names=frozenset({"张三"})), P2021), "PAYEE-LABOUR-SALARIED")
    assert f.severity == "needs_approval" and "张三" in f.message_zh


def test_expert_fee_to_a_project_member_is_rejected():
    """PAYEE-EXPERT-NOT-MEMBER — 财科教〔2017〕128号."""
    j = judge(expert(payee_kind="project_member"), grant(), NO_CTX, P2021)
    assert only(j, "PAYEE-EXPERT-NOT-MEMBER").severity == "reject"
    j = judge(expert(payee_name="李教授"), grant(), Context(project_member_names=frozenset({"李教授"})), P2021)
    assert only(j, "PAYEE-EXPERT-NOT-MEMBER").severity == "needs_approval"


def test_civil_servant_may_not_be_paid_for_part_time_work():
    """PAYEE-CIVIL-SERVANT — 公务员法 第四十四条."""
    j = judge(expert(payee_kind="civil_servant"), grant(), NO_CTX, P2021)
    assert only(j, "PAYEE-CIVIL-SERVANT").source == "公务员法 第四十四条"


def test_payment_to_a_related_party_needs_approval():
    j = judge(expense(payee_kind="related_party"), grant(), NO_CTX, P2021)
    assert only(j, "PAYEE-RELATED-PARTY").severity == "needs_approval"
    assert j.verdict == "needs_approval"


def test_missing_payee_kind_fails_closed():
    j = judge(expense(payee_kind=None), grant(), NO_CTX, P2021)
    f = only(j, "PAYEE-RELATED-PARTY")
    assert f.missing_field == "payee_kind" and j.verdict == "needs_approval"


# -------------------------------------------------------------------------------- 拨改投 conditions

def test_grant_to_equity_without_agreed_conditions_fails_closed():
    """EQUITY-CONDITIONS — seed 001 (十九) 拨改投; seed 003 六 先投后股."""
    f = only(judge(expense(), grant(category="grant_to_equity"), NO_CTX, P2021), "EQUITY-CONDITIONS")
    assert f.missing_field == "equity_conditions"


def test_grant_to_equity_spending_is_held_to_its_conditions():
    cond = {"allowed_subjects": ["operations", "labour"], "forbidden_purposes": ["travel"],
            "max_single_amount": "50000"}
    g = grant(category="grant_to_equity", equity_conditions=cond)
    assert judge(expense(), g, NO_CTX, P2021).verdict == "allow"
    small_instrument = equipment(amount=D("1000"), unit_value=D("1000"))
    assert only(judge(small_instrument, g, NO_CTX, P2021), "EQUITY-CONDITIONS").severity == "reject"
    f = only(judge(expense(amount=D("60000")), g, NO_CTX, P2021), "EQUITY-CONDITIONS")
    assert f.severity == "needs_approval" and f.figures["max_single_amount"] == "50000"


# ------------------------------------------------------------------------------- 先立项后补助

def test_post_subsidy_negative_list_hit_warns_and_excludes_the_spend_from_the_subsidy_base():
    """POST-SUBSIDY-EXCLUDE — seed 001 (十九), seed 003 六: self-funded payment is not blocked."""
    g = grant(category="post_subsidy", lines={}, disbursed=D("0"))
    j = judge(expense(purpose="fine", amount=D("3000")), g, NO_CTX, P2021)
    assert j.verdict == "warn"
    assert j.subsidy_eligible is False
    fine = only(j, "NEG-FINE-ETC")
    assert fine.severity == "warn" and fine.figures["original_severity"] == "reject"
    excl = only(j, "POST-SUBSIDY-EXCLUDE")
    assert "不计入补助基数" in excl.message_zh and excl.figures["excluded_amount"] == "3000"


def test_post_subsidy_spend_with_missing_negative_list_data_stays_pending_and_ineligible():
    g = grant(category="post_subsidy", lines={}, disbursed=D("0"))
    j = judge(expense(invoice_verified=None), g, NO_CTX, P2021)
    assert j.verdict == "needs_approval" and j.subsidy_eligible is False


def test_post_subsidy_does_not_soften_non_negative_list_rules():
    g = grant(category="post_subsidy", lines={}, disbursed=D("0"))
    j = judge(expense(expense_date=date(2021, 1, 1)), g, NO_CTX, P2021)
    assert j.verdict == "reject" and j.subsidy_eligible is True


# ------------------------------------------------------------------------ policy data is the rules

def with_rules(content, *rules, drop=()):
    c = copy.deepcopy(content)
    c["rules"] = [r for r in c["rules"] if r["id"] not in drop] + list(rules)
    return Policy.from_content(c)


LOTTERY = {"id": "NEG-LOTTERY", "kind": "forbidden_purpose", "negative_list": True, "severity": "reject",
           "title": {"zh": "购买彩票", "en": "lottery tickets"}, "source": {"doc": "INST-NEGLIST"},
           "params": {"keywords": ["彩票", "lottery"]}}


def test_adding_a_rule_is_a_data_change():
    """A new rule of an existing kind, added as data only, fires without any code change."""
    e = expense(purpose=None, description="为课题组购买体育彩票")
    assert judge(e, grant(), NO_CTX, P2021).verdict == "allow"
    extended = with_rules(CONTENT_2021, LOTTERY)
    f = only(judge(e, grant(), NO_CTX, extended), "NEG-LOTTERY")
    assert f.severity == "reject" and f.source == "机构负面清单"
    assert "NEG-LOTTERY" in extended.negative_list_ids


def test_a_rule_applies_only_within_its_scope():
    scoped = with_rules(CONTENT_2021, {**LOTTERY, "scope": {"categories": ["stable"]}})
    e = expense(purpose=None, description="彩票")
    assert "NEG-LOTTERY" not in ids(judge(e, grant(), NO_CTX, scoped))
    assert "NEG-LOTTERY" in ids(judge(e, grant(category="stable"), NO_CTX, scoped))


def test_a_rule_applies_only_on_its_own_dates():
    dated = with_rules(CONTENT_2021, {**LOTTERY, "effective_from": "2024-01-01"})
    assert "NEG-LOTTERY" not in ids(judge(expense(description="彩票", expense_date=date(2023, 12, 31)), grant(),
                                          NO_CTX, dated))
    assert "NEG-LOTTERY" in ids(judge(expense(description="彩票", expense_date=date(2024, 1, 1)), grant(),
                                      NO_CTX, dated))


def test_the_same_spend_is_judged_by_the_version_of_its_date():
    """2020.1 (中办发〔2016〕50号) lets only operations be exceeded with approval; 2021.1 (国办发〔2021〕32号 (二))
    adds labour."""
    g = grant(lines={"labour": line("labour", "1000")})
    e = expense(subject="labour", purpose="labour_fee", payee_kind="student", amount=D("2000"),
                invoice_no=None, invoice_verified=None)
    assert only(judge(e, g, NO_CTX, P2021), "BUDGET-AVAILABLE").severity == "needs_approval"
    assert only(judge(e, g, NO_CTX, P2020), "BUDGET-AVAILABLE").severity == "reject"


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


def budget(**kw):
    return BudgetGrant(**{"category": "competitive", "funding_mode": "budgeted", "fund_source": "municipal", **kw})


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
