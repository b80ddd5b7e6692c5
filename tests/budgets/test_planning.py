"""The indirect-cost cap shown while a budget is typed (budgets.planning) is the policy's tiered cap."""
from decimal import Decimal

from budgets.planning import indirect_preview
from tests.factories import GrantFactory

D = Decimal


def test_indirect_preview_tiers_and_balance(db):
    g = GrantFactory(fiscal_amount=D("1000000.00"))
    p = indirect_preview(g, {"equipment": D("400000"), "operations": D("400000"), "labour": D("100000"),
                             "indirect": D("100000")})
    assert (p["base"], p["cap"], p["fits"], p["balanced"]) == (D("500000"), D("150000.00"), True, True)
    p = indirect_preview(g, {"operations": D("8000000"), "indirect": D("2500000")})
    # 30% of the first 5,000,000 + 25% of the next 3,000,000 = 1,500,000 + 750,000
    assert (p["cap"], p["fits"], p["balanced"]) == (D("2250000.00"), False, False)


def test_pure_theory_has_higher_rates(db):
    g = GrantFactory(pure_theory=True)
    plain = GrantFactory()
    amounts = {"operations": D("1000000"), "indirect": D("0")}
    assert indirect_preview(g, amounts)["cap"] > indirect_preview(plain, amounts)["cap"]
