"""Card and cash: the 16 items that go on the official card (kind ``card_mandatory``) and the cash limit
(kind ``cash_limit``).

财库〔2011〕160号: 16 kinds of official spending are settled by the official card (bank transfer stays
allowed). 现金管理暂行条例 第五条、第六条: cash only for wages, labour pay, awards, welfare, farm products bought
from individuals, travel cash and items under the settlement threshold (1,000 yuan); above it, pay
individuals by transfer except for farm purchases and travel cash.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, yuan
from compliance.rules.params import ParamReader, any_match
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class CardMandatory:
    items: tuple              # ((item label zh, matchers), ...)
    cash_methods: frozenset
    exceptions: tuple | None


def compile_card(p: ParamReader) -> CardMandatory:
    raw = p.get("items")
    if not isinstance(raw, list) or not raw:
        raise p.err("params.items must list {item, purposes?, keywords?}")
    items = []
    for i, it in enumerate(raw):
        if not isinstance(it, dict) or not isinstance(it.get("item"), str):
            raise p.err(f"params.items[{i}] needs item (its Chinese name)")
        spec = {k: v for k, v in it.items() if k != "item"}
        if not spec:
            spec = {"keywords": [it["item"]]}
        items.append((it["item"], ParamReader(p.rule_id, {"m": spec}, p.vocab).matchers("m")))
    return CardMandatory(tuple(items), p.strs("cash_methods", "payment_methods", required=True),
                         p.matchers("exceptions"))


def check_card(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: CardMandatory = rule.params
    if e.payment_method not in P.cash_methods:
        return None
    if P.exceptions is not None and any_match(P.exceptions, e, text):
        return None
    for item, matchers in P.items:
        if any_match(matchers, e, text):
            return finding(rule, rule.severity,
                           f"{rule.title_zh}：「{item}」属公务卡强制结算目录，不应以现金（{e.payment_method}）支付 "
                           f"{yuan(e.amount)} 元",
                           f"{rule.title_en}: '{item}' is on the official-card list; it may not be paid in cash "
                           f"({e.payment_method}), {yuan(e.amount)} yuan",
                           {"item": item, "payment_method": e.payment_method, "amount": str(e.amount)})
    return None


@dataclass(frozen=True, slots=True)
class CashLimit:
    limit: Decimal
    cash_methods: frozenset
    any_amount: tuple         # matchers: cash allowed above the limit (farm products, travel cash)


def compile_cash(p: ParamReader) -> CashLimit:
    return CashLimit(p.decimal("limit"), p.strs("cash_methods", "payment_methods", required=True),
                     p.matchers("cash_allowed_above_limit") or ())


def check_cash(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: CashLimit = rule.params
    if e.payment_method not in P.cash_methods or e.amount <= P.limit:
        return None
    if any_match(P.any_amount, e, text):
        return None
    return finding(rule, rule.severity,
                   f"{rule.title_zh}：现金支付 {yuan(e.amount)} 元超过结算起点 {yuan(P.limit)} 元，应转账支付",
                   f"{rule.title_en}: {yuan(e.amount)} yuan in cash exceeds the settlement threshold of "
                   f"{yuan(P.limit)} yuan; pay by transfer",
                   {"payment_method": e.payment_method, "amount": str(e.amount), "cash_limit": str(P.limit)})
