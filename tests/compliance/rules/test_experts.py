"""Expert fee rates (财科教〔2017〕128号).

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from compliance.rules import judge
from tests.compliance.rules.support import NO_CTX, P2021, expert, grant, ids, only


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
