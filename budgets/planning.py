"""Budget planning aids for the pages: the tiered indirect-cost cap of a draft budget, as the policy in
force computes it (the same function the budget check uses), shown while the budget is typed."""
from __future__ import annotations

from decimal import Decimal

from budgets.service import policy_on
from compliance.rules.budget import indirect_cap
from grants.db import today
from grants.models import Grant

ZERO = Decimal("0.00")


def indirect_preview(grant: Grant, amounts: dict[str, Decimal]) -> dict:
    """Base (direct costs less equipment), the cap by tiers, the indirect asked for and whether it fits."""
    policy = policy_on(today())
    st = policy.structure
    base = sum((amounts.get(s, ZERO) for s in st.direct), ZERO) - amounts.get(st.equipment, ZERO)
    pure = bool(grant.pure_theory)
    tiers = policy.tiers("indirect_tiers_pure_theory") if pure else policy.indirect_tiers
    cap = indirect_cap(base, tiers)
    indirect = amounts.get(st.indirect, ZERO)
    total = sum(amounts.values(), ZERO)
    return {"base": base, "cap": cap, "indirect": indirect, "fits": indirect <= cap, "pure_theory": pure,
            "tiers": [(u, r) for u, r in tiers], "total": total, "fiscal_amount": grant.fiscal_amount,
            "balanced": total == grant.fiscal_amount}
