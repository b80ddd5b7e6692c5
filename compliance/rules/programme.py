"""Rules a grant's programme brings (``compliance/data/programmes.yaml``): the reward-extraction share.

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list.
"""
from __future__ import annotations

from decimal import ROUND_DOWN
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import Finding, yuan
from compliance.rules.params import CENT
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy

REWARD_SHARE_ID = "PROG-REWARD-SHARE"


def reward_purposes(programme: str | None) -> frozenset:
    """The purposes that count as reward (绩效) extraction under a programme (empty: no such rule)."""
    from compliance.programmes import programmes

    p = programmes().get(programme) if programme else None
    return p.reward_extraction.purposes if p is not None and p.reward_extraction is not None else frozenset()


def check_reward_share(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    """基本科研业务费: reward extraction (posted and queued, with this one) at most max_share × fiscal amount."""
    if not g.programme:
        return None
    from compliance.programmes import programmes

    p = programmes().get(g.programme)
    r = p.reward_extraction if p is not None else None
    if r is None or e.purpose not in r.purposes:
        return None
    cap = (g.fiscal_amount * r.max_share).quantize(CENT, ROUND_DOWN)
    after = g.reward_total + e.amount
    if after <= cap:
        return None
    share = f"{r.max_share * 100:g}%"
    return Finding(rule.id, rule.kind, r.severity,
                   f"{p.title_zh}提取绩效（奖励）不得超过经费的 {share}（{yuan(cap)} 元）：已提取及待审批 "
                   f"{yuan(g.reward_total)} 元，本笔 {yuan(e.amount)} 元后为 {yuan(after)} 元",
                   f"{p.title_en}: reward extraction may not exceed {share} of the funds ({yuan(cap)} yuan); "
                   f"{yuan(g.reward_total)} yuan taken or queued, {yuan(after)} yuan with this one",
                   r.source, {"programme": p.code, "max_share": str(r.max_share), "cap": str(cap),
                              "reward_total": str(g.reward_total), "amount": str(e.amount),
                              "excess": str(after - cap)})
