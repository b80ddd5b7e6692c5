"""负面清单 (forbidden purposes), judged against the real 2021 policy file.

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations



from compliance.rules import judge
from tests.compliance.rules.support import NO_CTX, P2021, expense, grant, ids, only


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
