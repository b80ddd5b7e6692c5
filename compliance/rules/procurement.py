"""Procurement: thresholds (kind ``procurement_threshold``) and the ban on splitting (kind ``procurement_split``).

国办发〔2019〕55号 三、四: goods and services from 1,000,000 yuan (works from 1,200,000) per item or batch follow
the Government Procurement Law, from 2,000,000 they are publicly tendered; 政府采购法 第二条 binds public
bodies, not enterprises (the rules' scope), 第二十八条 forbids splitting a purchase to avoid tendering, and
第三十一条 gives single source its statutory grounds. The splitting check needs the earlier expenses of the
grant to the same payee: budgets' service gives them as ``Context.same_payee_before``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, missing, yuan
from compliance.rules.params import ParamReader, any_match
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class Threshold:
    applies: tuple
    goods_services: Decimal
    works: Decimal
    works_keywords: tuple
    public_tender: Decimal
    tender_methods: frozenset
    record_required: bool


def compile_threshold(p: ParamReader) -> Threshold:
    t = Threshold(p.matchers("applies_to", required=True), p.decimal("goods_services"), p.decimal("works"),
                  p.keywords("works_keywords") or (), p.decimal("public_tender"),
                  p.strs("tender_methods", "procurement_methods", required=True),
                  p.boolean("record_required", True))
    if t.public_tender < t.goods_services:
        raise p.err("params.public_tender is below the procurement threshold")
    return t


def threshold_of(P: Threshold, text: str) -> tuple[Decimal, str]:
    if any(k in text for k in P.works_keywords):
        return P.works, "works"
    return P.goods_services, "goods_services"


def check_threshold(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Threshold = rule.params
    if not any_match(P.applies, e, text):
        return None
    limit, what = threshold_of(P, text)
    if e.amount < limit:
        return None
    figures = {"amount": str(e.amount), "threshold": str(limit), "category": what,
               "public_tender_threshold": str(P.public_tender), "procurement_method": e.procurement_method}
    gaps = []
    if e.procurement_method is None:
        gaps.append(missing(rule, policy, "procurement_method", f"金额达到 {yuan(limit)} 元政府采购限额",
                            f"the amount reaches the procurement threshold of {yuan(limit)} yuan"))
    if P.record_required and not (e.procurement_record_no or "").strip():
        gaps.append(missing(rule, policy, "procurement_record_no", "达到限额须有采购备案/合同编号",
                            "above the threshold the procurement record is required"))
    if gaps:
        return gaps
    if e.amount >= P.public_tender and e.procurement_method not in P.tender_methods:
        return finding(rule, rule.severity,
                       f"{rule.title_zh}：{yuan(e.amount)} 元达到公开招标数额 {yuan(P.public_tender)} 元，采购方式为"
                       f"「{e.procurement_method}」，须公开招标或经批准的其他方式，需审批",
                       f"{rule.title_en}: {yuan(e.amount)} yuan reaches the public-tender threshold of "
                       f"{yuan(P.public_tender)} yuan but was bought by '{e.procurement_method}'; needs approval",
                       figures)
    return None


@dataclass(frozen=True, slots=True)
class Split:
    applies: tuple
    purposes: frozenset
    window_days: int
    goods_services: Decimal
    works: Decimal
    works_keywords: tuple


def compile_split(p: ParamReader) -> Split:
    days = p.get("window_days")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise p.err("params.window_days must be a whole number of days ≥ 1")
    return Split(p.matchers("applies_to", required=True), p.strs("purposes", "purpose_codes", required=True), days,
                 p.decimal("goods_services"), p.decimal("works"), p.keywords("works_keywords") or ())


def check_split(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Split = rule.params
    if not any_match(P.applies, e, text):
        return None
    limit = P.works if any(k in text for k in P.works_keywords) else P.goods_services
    if e.amount >= limit:
        return None                 # one purchase over the threshold: procurement_threshold judges it
    if not (e.payee_name or "").strip():
        return missing(rule, policy, "payee_name", "需判断是否拆分采购", "needed to tell whether a purchase was split")
    earlier = [p for p in ctx.same_payee_before
               if p.purpose in P.purposes and 0 <= (e.expense_date - p.expense_date).days <= P.window_days]
    total = e.amount + sum((p.amount for p in earlier), Decimal(0))
    if not earlier or total < limit:
        return None
    ids = [p.id for p in earlier if p.id is not None]
    named = "、".join(f"{p.label}（{p.expense_date}，{yuan(p.amount)} 元）" for p in earlier)
    named_en = ", ".join(f"{p.label} ({p.expense_date}, {yuan(p.amount)})" for p in earlier)
    return finding(rule, rule.severity,
                   f"{rule.title_zh}：{P.window_days} 天内向「{e.payee_name}」的采购合计 {yuan(total)} 元，达到限额 "
                   f"{yuan(limit)} 元（本笔 {yuan(e.amount)} 元，此前 {named}），疑似拆分采购，需审批",
                   f"{rule.title_en}: purchases from '{e.payee_name}' within {P.window_days} days add up to "
                   f"{yuan(total)} yuan, reaching the threshold of {yuan(limit)} (this one {yuan(e.amount)}, "
                   f"earlier {named_en}); possibly split; needs approval",
                   {"payee_name": e.payee_name, "window_days": P.window_days, "threshold": str(limit),
                    "total": str(total), "amount": str(e.amount), "earlier_expense_ids": ids,
                    "earlier_rows": [p.row for p in earlier if p.id is None]})
