"""Rules of a grant category: 拨改投 conditions and 先立项后补助.

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D


from compliance.rules import judge
from tests.compliance.rules.support import NO_CTX, P2021, equipment, expense, grant, only


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
