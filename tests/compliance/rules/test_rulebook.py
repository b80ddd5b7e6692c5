"""The rulebook of issue #14 at its boundaries: exactly at a cap passes, one fen over does not.

Pure tests against the real 2026 policy file (no database).
"""
from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal as D

import pytest

from compliance.policy import POLICY_DIR, Policy, PolicyError, load_policy_file
from compliance.rules import Context, PriorPayment, judge
from compliance.rules.labour import withholding
from tests.compliance.rules.support import expense, grant, ids, line, only

CONTENT_2026 = load_policy_file(POLICY_DIR / "ordos-research-funds-2026.yaml")
P2026 = Policy.from_content(CONTENT_2026)
LINES = {s: line(s, "5000000") for s in ("equipment", "operations", "labour", "indirect")}
G = grant(start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), fiscal_amount=D("20000000"),
          disbursed=D("20000000"), lines=LINES)
ON = date(2026, 5, 12)
CTX = Context()


def trip(**kw):
    base = dict(expense_date=ON, purpose="travel", description="赴北京参加项目推进会差旅费", payee_name="张三",
                payee_kind="project_member", payment_method="official_card", invoice_no="TRV-1",
                trip_city="beijing", traveller_rank="other", nights=2, travel_days=3, hotel_invoice=True,
                lodging_amount=D("1000"), fare_amount=D("1100"), amount=D("2640"))
    base.update(kw)
    return expense(**base)


def calc(j, rule_id):
    found = [c for c in j.calculations if c.rule_id == rule_id]
    assert len(found) == 1, j
    return found[0]


# ------------------------------------------------------------------------------------------- travel
def test_travel_allowance_is_computed_from_city_rank_and_nights_and_exactly_at_it_passes():
    # Beijing, 其余人员: lodging min(1000, 500×2) = 1000; meals 100×3; local 80×3; fares 1100 → 2640
    j = judge(trip(), G, CTX, P2026)
    assert j.verdict == "allow", j
    c = calc(j, "TRAVEL-ALLOWANCE")
    assert c.figures["allowance"] == "2640.00" and c.figures["lodging_allowed"] == "1000.00"
    assert c.figures["meals"] == "300.00" and c.figures["local_transport"] == "240.00"
    assert "500.00×2" in c.message_zh and "2,640.00" in c.message_en


def test_travel_one_fen_over_the_allowance_is_rejected_and_shows_the_calculation():
    j = judge(trip(amount=D("2640.01")), G, CTX, P2026)
    f = only(j, "TRAVEL-ALLOWANCE")
    assert j.verdict == "reject" and f.figures["excess"] == "0.01" and f.figures["allowance"] == "2640.00"
    assert "伙食补助" in f.message_zh and "财行〔2013〕531号" in f.source


def test_a_1500_yuan_night_in_ordos_pays_only_the_cap():
    j = judge(trip(trip_city="鄂尔多斯市", nights=1, travel_days=2, lodging_amount=D("1500"), fare_amount=D("0"),
                   amount=D("1500")), G, CTX, P2026)
    f = only(j, "TRAVEL-ALLOWANCE")
    assert f.figures["nightly_cap"] == "320.00" and f.figures["lodging_allowed"] == "320.00"
    assert f.figures["allowance"] == "680.00"


def test_no_hotel_invoice_means_no_lodging_but_the_allowances_are_paid():
    j = judge(trip(hotel_invoice=False, lodging_amount=None, fare_amount=D("1100"), amount=D("1640")), G, CTX, P2026)
    assert j.verdict == "allow" and calc(j, "TRAVEL-ALLOWANCE").figures["lodging_allowed"] == "0.00"
    j = judge(trip(hotel_invoice=False, amount=D("1640.01")), G, CTX, P2026)
    assert j.verdict == "reject"


def test_peak_season_caps_apply_in_their_months_only():
    july = judge(trip(expense_date=date(2026, 7, 20), trip_city="hailar", lodging_amount=D("960"),
                      amount=D("960") + 300 + 240 + 1100), G, CTX, P2026)
    assert july.verdict == "allow" and calc(july, "TRAVEL-ALLOWANCE").figures["nightly_cap"] == "480.00"
    june = judge(trip(expense_date=date(2026, 6, 20), trip_city="hailar", lodging_amount=D("960"),
                      amount=D("960") + 300 + 240 + 1100), G, CTX, P2026)
    assert june.verdict == "reject" and only(june, "TRAVEL-ALLOWANCE").figures["nightly_cap"] == "320.00"


def test_meals_are_120_a_day_in_tibet_qinghai_xinjiang_and_none_for_provided_days():
    j = judge(trip(trip_city="urumqi", hotel_invoice=False, lodging_amount=None, meals_provided_days=1,
                   amount=D("1100") + 120 * 2 + 240), G, CTX, P2026)
    assert j.verdict == "allow" and calc(j, "TRAVEL-ALLOWANCE").figures["meals"] == "240.00"


def test_missing_travel_facts_are_named_and_an_unknown_city_needs_approval():
    j = judge(trip(trip_city=None, traveller_rank=None), G, CTX, P2026)
    assert j.verdict == "needs_approval"
    assert {f.missing_field for f in j.findings} >= {"trip_city", "traveller_rank"}
    j = judge(trip(trip_city="火星"), G, CTX, P2026)
    assert j.verdict == "needs_approval" and "火星" in only(j, "TRAVEL-ALLOWANCE").message_zh
    j = judge(trip(trip_city="lhasa"), G, CTX, P2026)   # no lodging cap stated for Lhasa: fail closed
    assert j.verdict == "needs_approval"


# ------------------------------------------------------------------------------------------- meetings
def meeting(**kw):
    base = dict(expense_date=ON, purpose="meeting", description="项目年度学术研讨会会议费", payee_name="鄂尔多斯某酒店",
                payee_kind="vendor", payment_method="official_card", meeting_class="class3", attendees=40,
                meeting_days=2, amount=D("44000"))
    base.update(kw)
    return expense(**base)


def test_meeting_cap_is_class_rate_times_attendees_times_days():
    j = judge(meeting(), G, CTX, P2026)   # 550 × 40 × 2 = 44,000
    assert j.verdict == "allow" and calc(j, "MEETING-CAP").figures["cap"] == "44000.00"
    j = judge(meeting(amount=D("44000.01")), G, CTX, P2026)
    assert j.verdict == "needs_approval" and only(j, "MEETING-CAP").figures["excess"] == "0.01"


def test_a_900_yuan_a_head_meeting_day_is_flagged_and_class_one_allows_760():
    j = judge(meeting(meeting_class="class1", attendees=10, meeting_days=1, amount=D("7600")), G, CTX, P2026)
    assert j.verdict == "allow"
    j = judge(meeting(meeting_class="class2", attendees=10, meeting_days=1, amount=D("9000")), G, CTX, P2026)
    assert j.verdict == "needs_approval"


def test_meeting_size_length_and_staff_limits():
    assert judge(meeting(attendees=150, amount=D("1000")), G, CTX, P2026).verdict == "allow"
    assert judge(meeting(attendees=151, amount=D("1000")), G, CTX, P2026).verdict == "needs_approval"
    assert judge(meeting(meeting_days=3, amount=D("1000")), G, CTX, P2026).verdict == "needs_approval"
    assert judge(meeting(meeting_staff=4, amount=D("1000")), G, CTX, P2026).verdict == "allow"
    assert judge(meeting(meeting_staff=5, amount=D("1000")), G, CTX, P2026).verdict == "needs_approval"
    j = judge(meeting(attendees=None), G, CTX, P2026)
    assert j.verdict == "needs_approval" and j.findings[0].missing_field == "attendees"


# ------------------------------------------------------------------------------------------- card and cash
def test_cash_up_to_1000_passes_the_cash_limit_and_one_fen_over_needs_approval():
    base = dict(expense_date=ON, purpose="other", description="零星支出", payment_method="cash", payee_kind="vendor")
    assert "CASH-LIMIT" not in ids(judge(expense(amount=D("1000"), **base), G, CTX, P2026))
    j = judge(expense(amount=D("1000.01"), **base), G, CTX, P2026)
    assert "CASH-LIMIT" in ids(j) and j.verdict == "needs_approval"
    farm = judge(expense(amount=D("5000"), **{**base, "description": "向牧民收购农副产品（样品）"}), G, CTX, P2026)
    assert "CASH-LIMIT" not in ids(farm)


def test_card_mandatory_items_in_cash_are_flagged_and_by_card_or_transfer_pass():
    cash = judge(expense(expense_date=ON, amount=D("300"), payment_method="cash"), G, CTX, P2026)   # 专用材料
    assert "CARD-MANDATORY" in ids(cash) and cash.verdict == "needs_approval"
    card = judge(expense(expense_date=ON, amount=D("300"), payment_method="official_card"), G, CTX, P2026)
    assert card.verdict == "allow"
    taxi = judge(expense(expense_date=ON, amount=D("45"), purpose="taxi", description="出租车费", invoice_no="T1",
                         payment_method="cash"), G, CTX, P2026)
    assert "CARD-MANDATORY" not in ids(taxi)


# ------------------------------------------------------------------------------------------- procurement
def purchase(**kw):
    base = dict(expense_date=ON, subject="equipment", purpose="equipment_purchase", description="购置质谱仪",
                payee_name="某仪器公司", amount=D("999999.99"), unit_value=D("999999.99"), quantity=1,
                platform_registered=True)
    base.update(kw)
    return expense(**base)


def test_procurement_threshold_boundaries_and_the_public_tender_threshold():
    assert "PROC-THRESHOLD" not in ids(judge(purchase(), G, CTX, P2026))
    j = judge(purchase(amount=D("1000000"), unit_value=D("1000000")), G, CTX, P2026)
    assert {f.missing_field for f in j.findings if f.rule_id == "PROC-THRESHOLD"} == {"procurement_method",
                                                                                       "procurement_record_no"}
    ok = judge(purchase(amount=D("1999999.99"), unit_value=D("1999999.99"), procurement_method="competitive_negotiation",
                        procurement_record_no="CG-2026-1"), G, CTX, P2026)
    assert "PROC-THRESHOLD" not in ids(ok)
    j = judge(purchase(amount=D("2000000"), unit_value=D("2000000"), procurement_method="competitive_negotiation",
                       procurement_record_no="CG-2026-1"), G, CTX, P2026)
    f = only(j, "PROC-THRESHOLD")
    assert f.severity == "needs_approval" and f.figures["unconfirmed"] == ["goods_services", "works", "public_tender"]
    tender = judge(purchase(amount=D("2000000"), unit_value=D("2000000"), procurement_method="public_tender",
                            procurement_record_no="CG-2026-2"), G, CTX, P2026)
    assert "PROC-THRESHOLD" not in ids(tender)


def test_works_use_the_1_2_million_threshold_and_enterprises_are_out_of_scope():
    works = dict(subject="operations", purpose="equipment_upgrade", description="实验室改造工程施工", unit_value=None)
    assert "PROC-THRESHOLD" not in ids(judge(purchase(amount=D("1199999.99"), **works), G, CTX, P2026))
    assert "PROC-THRESHOLD" in ids(judge(purchase(amount=D("1200000"), **works), G, CTX, P2026))
    ent = grant(start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), institution_kind="enterprise",
                fiscal_amount=D("20000000"), disbursed=D("20000000"), lines=LINES)
    assert "PROC-THRESHOLD" not in ids(judge(purchase(amount=D("3000000"), unit_value=D("3000000")), ent, CTX, P2026))


def test_split_purchases_within_the_window_that_pass_the_threshold_need_approval_naming_the_earlier_ones():
    earlier = (PriorPayment(11, date(2026, 4, 20), D("400000"), "equipment_purchase", "equipment"),
               PriorPayment(12, date(2026, 5, 1), D("300000"), "equipment_purchase", "equipment"))
    ctx = Context(same_payee_before=earlier)
    j = judge(purchase(amount=D("300000"), unit_value=D("300000")), G, ctx, P2026)
    f = only(j, "PROC-SPLIT")
    assert j.verdict == "needs_approval" and f.figures["earlier_expense_ids"] == [11, 12] and "#11" in f.message_zh
    under = judge(purchase(amount=D("299999.99"), unit_value=D("299999.99")), G, ctx, P2026)
    assert "PROC-SPLIT" not in ids(under)
    old = Context(same_payee_before=(PriorPayment(11, date(2026, 4, 11), D("700000"), "equipment_purchase",
                                                  "equipment"),))   # 31 days before: outside the window
    assert "PROC-SPLIT" not in ids(judge(purchase(amount=D("300000"), unit_value=D("300000")), G, old, P2026))
    edge = Context(same_payee_before=(PriorPayment(11, date(2026, 4, 12), D("700000"), "equipment_purchase",
                                                   "equipment"),))  # exactly 30 days before: inside
    assert "PROC-SPLIT" in ids(judge(purchase(amount=D("300000"), unit_value=D("300000")), G, edge, P2026))


# ------------------------------------------------------------------------------------------- labour
def labour(**kw):
    base = dict(expense_date=ON, subject="labour", purpose="labour_fee", description="研究生劳务费", payee_name="王同学",
                payee_kind="student", payment_method="bank_transfer", invoice_no=None, invoice_verified=None,
                amount=D("3000"))
    base.update(kw)
    return expense(**base)


def test_labour_fees_go_only_to_the_listed_people():
    assert judge(labour(), G, CTX, P2026).verdict == "allow"
    j = judge(labour(payee_kind="enterprise", payee_name="某劳务公司"), G, CTX, P2026)
    assert "LABOUR-WHO" in ids(j) and j.verdict == "needs_approval"
    j = judge(labour(payee_kind=None), G, CTX, P2026)
    assert j.verdict == "needs_approval" and any(f.missing_field == "payee_kind" for f in j.findings)


def test_hired_staff_pay_above_twice_the_local_wage_needs_approval_and_says_the_figure_is_unconfirmed():
    hired = dict(purpose="salary_hired", description="项目聘用科研助理工资", payee_kind="individual")
    assert judge(labour(amount=D("54000"), pay_months=3, **hired), G, CTX, P2026).verdict == "allow"   # 18,000/month
    j = judge(labour(amount=D("54000.03"), pay_months=3, **hired), G, CTX, P2026)                   # 18,000.01
    f = only(j, "LABOUR-HIRED-PAY")
    assert j.verdict == "needs_approval" and f.figures["unconfirmed"] == ["local_average_monthly_wage"]
    assert "待核实" in f.message_zh
    j = judge(labour(amount=D("9000"), **hired), G, CTX, P2026)
    assert j.findings[0].missing_field == "pay_months"


def test_expert_fees_state_net_or_gross_and_gross_is_taken_net_of_withheld_tax():
    base = dict(expense_date=ON, purpose="expert_fee", description="中期评审专家咨询费", payee_name="李教授",
                payee_kind="external_expert", payment_method="bank_transfer", invoice_no=None, invoice_verified=None,
                expert_title="senior", expert_days=D("1"))
    j = judge(expense(amount=D("2400"), **base), G, CTX, P2026)
    assert j.verdict == "needs_approval" and j.findings[0].missing_field == "fee_basis"
    assert judge(expense(amount=D("2400"), fee_basis="net", **base), G, CTX, P2026).verdict == "allow"
    assert judge(expense(amount=D("2400.01"), fee_basis="net", **base), G, CTX, P2026).verdict == "reject"
    # gross 2,900: taxable 2,100, tax 420, net 2,480 > 2,400 → over; gross 2,800: tax 400, net 2,400 → at the cap
    assert withholding(P2026.rule("EXPERT-FEE-BASIS").params, D("2800")) == (D("2000.00"), D("400.00"))
    at = judge(expense(amount=D("2800"), fee_basis="gross", **base), G, CTX, P2026)
    assert at.verdict == "allow" and calc(at, "EXPERT-FEE-BASIS").figures["net"] == "2400.00"
    over = judge(expense(amount=D("2800.02"), fee_basis="gross", **base), G, CTX, P2026)
    assert over.verdict == "reject" and only(over, "EXPERT-FEE-RATE").figures["net"] == "2400.02"


# ------------------------------------------------------------------------------------------- indirect and partners
def test_utilities_charged_to_direct_costs_cite_the_extra_management_fee_rule():
    j = judge(expense(expense_date=ON, purpose="other", description="实验楼水电费分摊", amount=D("5000")), G, CTX, P2026)
    f = only(j, "NEG-EXTRA-MGMT-FEE")
    assert j.verdict == "reject" and "国发〔2014〕11号 （十七）" in f.source
    metered = judge(expense(expense_date=ON, purpose="fuel_power", description="质谱仪单独计量电费", amount=D("5000")),
                    G, CTX, P2026)
    assert "NEG-EXTRA-MGMT-FEE" not in ids(metered)
    perf = judge(expense(expense_date=ON, subject="indirect", purpose="performance_pay", description="绩效支出（含水电）",
                         payee_kind="salaried_staff", invoice_no=None, invoice_verified=None), G, CTX, P2026)
    assert perf.verdict == "allow"


def test_transfers_to_partners_only_as_the_task_book_says():
    base = dict(expense_date=ON, purpose="partner_transfer", description="外拨合作单位经费", payee_name="内蒙古某研究院",
                payee_kind="institution", payment_method="bank_transfer", invoice_no=None, invoice_verified=None,
                partner_in_task_book=True, partner_share=D("200000"), amount=D("120000"))
    earlier = Context(same_payee_before=(PriorPayment(21, date(2026, 2, 1), D("80000"), "partner_transfer", "operations"),))
    assert judge(expense(**base), G, earlier, P2026).verdict in ("allow", "warn")
    j = judge(expense(**{**base, "amount": D("120000.01")}), G, earlier, P2026)
    assert j.verdict == "needs_approval" and only(j, "PARTNER-TASKBOOK").figures["earlier_expense_ids"] == [21]
    j = judge(expense(**{**base, "partner_in_task_book": False}), G, CTX, P2026)
    assert j.verdict == "needs_approval"
    testing = judge(expense(**{**base, "purpose": "testing", "description": "委托测试加工"}), G, CTX, P2026)
    assert "PARTNER-TASKBOOK" not in ids(testing)


# ------------------------------------------------------------------------------------------- institution layers
def layered(*layers):
    c = copy.deepcopy(CONTENT_2026)
    c["sources"]["INST-RULES"] = {"title": "某大学科研经费管理办法（示例）", "short": "某大学办法"}
    c["institution_layers"] = list(layers)
    return Policy.from_content(c)


LAYER = {"id": "UNIV-7", "title": {"zh": "某大学更严格的标准", "en": "a university's stricter figures"},
         "source": {"doc": "INST-RULES", "article": "第十条"}, "institution_ids": [7],
         "rules": {"TRAVEL-ALLOWANCE": {"lodging_caps": {"beijing": {"other": "450"}}},
                   "CASH-LIMIT": {"limit": "500"}}}


def test_an_institution_may_tighten_a_national_figure_and_the_verdict_cites_both_layers():
    p = layered(LAYER)
    mine = grant(start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), institution_id=7, lines=LINES,
                 fiscal_amount=D("20000000"), disbursed=D("20000000"))
    j = judge(trip(amount=D("2540")), mine, CTX, p)   # 450 × 2 = 900 lodging: 2,540 allowed
    assert j.verdict == "allow" and calc(j, "TRAVEL-ALLOWANCE").figures["nightly_cap"] == "450.00"
    j = judge(trip(amount=D("2540.01")), mine, CTX, p)
    assert j.verdict == "reject" and "某大学办法 第十条" in j.findings[0].source and "财行〔2013〕531号" in j.findings[0].source
    cash = judge(expense(expense_date=ON, purpose="other", description="零星", payment_method="cash",
                         amount=D("500.01")), mine, CTX, p)
    assert "CASH-LIMIT" in ids(cash)
    other = judge(trip(amount=D("2640")), G, CTX, p)   # another institution keeps the national cap
    assert other.verdict == "allow"


@pytest.mark.parametrize("rules, msg", [
    ({"CASH-LIMIT": {"limit": "1000.01"}}, "looser"),
    ({"TRAVEL-ALLOWANCE": {"lodging_caps": {"beijing": {"other": "501"}}}}, "looser"),
    ({"PROC-SPLIT": {"window_days": 29}}, "looser"),
    ({"TRAVEL-ALLOWANCE": {"lodging_caps": {"atlantis": {"other": "1"}}}}, "not in the national rule"),
    ({"CARD-MANDATORY": {"cash_methods": ["cash"]}}, "only change numbers"),
    ({"BUDGET-TOTAL": {}}, "not an expense rule"),
])
def test_the_loader_refuses_a_looser_or_unknown_institution_figure(rules, msg):
    with pytest.raises(PolicyError, match=msg):
        layered({**LAYER, "rules": rules})


def test_a_longer_splitting_window_is_stricter_and_allowed():
    p = layered({**LAYER, "rules": {"PROC-SPLIT": {"window_days": 90}}})
    assert p.layers[0][4] == {"PROC-SPLIT": {"window_days": 90}}
