"""Transfers to cooperating units only as the task book says (kind ``partner_transfer``).

A transfer (外拨) goes only to a unit named in the task book and only up to its share there; a new partner or
more than the share needs the funder's approval (项目任务书; DOMAIN.md "OUTSOURCE-TASKBOOK"). Buying a testing
or machining service is not a transfer (its purpose is ``testing``). The earlier transfers of the grant to the
same unit come from budgets' service (``Context.same_payee_before``).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import calculation, finding, missing, yuan
from compliance.rules.params import ParamReader, any_match
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class Partner:
    applies: tuple
    purposes: frozenset


def compile_partner(p: ParamReader) -> Partner:
    return Partner(p.matchers("applies_to", required=True), p.strs("purposes", "purpose_codes", required=True))


def check_partner(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Partner = rule.params
    if not any_match(P.applies, e, text):
        return None
    if e.partner_in_task_book is None:
        return missing(rule, policy, "partner_in_task_book", "外拨经费只能拨给任务书约定的合作单位",
                       "transfers go only to partners named in the task book")
    if e.partner_in_task_book is False:
        return finding(rule, rule.severity,
                       f"{rule.title_zh}：「{e.payee_name or '?'}」不是任务书约定的合作单位，外拨 {yuan(e.amount)} 元须经"
                       f"项目管理部门批准",
                       f"{rule.title_en}: '{e.payee_name or '?'}' is not a partner named in the task book; the "
                       f"transfer of {yuan(e.amount)} yuan needs the funder's approval",
                       {"payee_name": e.payee_name, "partner_in_task_book": False, "amount": str(e.amount)})
    if e.partner_share is None:
        return missing(rule, policy, "partner_share", "外拨金额不得超过任务书约定", "a transfer may not pass the task-book share")
    earlier = [p for p in ctx.same_payee_before if p.purpose in P.purposes]
    before = sum((p.amount for p in earlier), Decimal(0))
    total = before + e.amount
    figures = {"payee_name": e.payee_name, "partner_share": str(e.partner_share), "transferred_before": str(before),
               "amount": str(e.amount), "total": str(total), "earlier_expense_ids": [p.id for p in earlier if p.id is not None]}
    calc = calculation(rule, f"任务书约定 {yuan(e.partner_share)} 元，已外拨 {yuan(before)} 元，本笔 {yuan(e.amount)} 元，"
                             f"合计 {yuan(total)} 元",
                       f"task-book share {yuan(e.partner_share)}, transferred before {yuan(before)}, this "
                       f"{yuan(e.amount)}, total {yuan(total)}", figures)
    if total <= e.partner_share:
        return calc
    return [calc, finding(rule, rule.severity,
                          f"{rule.title_zh}：向「{e.payee_name}」外拨合计 {yuan(total)} 元超过任务书约定的 "
                          f"{yuan(e.partner_share)} 元，须经项目管理部门批准",
                          f"{rule.title_en}: transfers to '{e.payee_name}' add up to {yuan(total)} yuan, more than "
                          f"the task-book share of {yuan(e.partner_share)}; needs the funder's approval", figures)]
