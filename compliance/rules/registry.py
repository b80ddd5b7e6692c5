"""The one table of rule kinds: every kind a policy may use, expense and budget-setting alike.

A kind names its target (what it judges), its ``compile`` (``ParamReader`` → typed params, run once when
the policy is built) and the ``check`` it offers. The check's signature is the target's:

- ``expense``: ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list (:func:`judge`)
- ``budget``: ``check(rule, budget, grant, policy)`` → None | Finding | list (:func:`check_budget`)
- ``adjustment``: ``check(rule, from_subject, to_subject)`` → bool, does the rule cover the move
  (:func:`adjustment_approver`)
- ``subsidy``: ``check(rule, findings, expense, policy)`` → findings after the 先立项后补助 treatment (:func:`judge`)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from compliance.rules import (budget, cash, categories, experts, indirect, labour, meetings, negative_list, partners,
                              payments, period, procurement, thresholds, travel)
from compliance.rules.params import ParamReader, no_params
from compliance.rules.rule import ADJUSTMENT, BUDGET, EXPENSE, SUBSIDY, TARGETS


@dataclass(frozen=True)
class KindSpec:
    name: str
    target: str  # expense | budget | adjustment | subsidy
    compile: Callable[[ParamReader], Any]
    check: Callable
    # an institution's layer may only tighten a kind's figures: every number it states must be ≤ the national
    # one, except the params named here, where a larger number is the stricter one (a longer look-back window)
    larger_is_stricter: frozenset = frozenset()

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"kind {self.name}: unknown target {self.target!r}")


KINDS: dict[str, KindSpec] = {k.name: k for k in (
    KindSpec("forbidden_purpose", EXPENSE, negative_list.compile_forbidden, negative_list.check_forbidden),
    KindSpec("budget_availability", EXPENSE, budget.compile_availability, budget.check_availability),
    KindSpec("subject_not_in_budget", EXPENSE, budget.compile_subject, budget.check_subject),
    KindSpec("grant_period", EXPENSE, period.compile_period, period.check_period),
    KindSpec("amount_threshold", EXPENSE, thresholds.compile_threshold, thresholds.check_threshold),
    KindSpec("payment_method", EXPENSE, payments.compile_payment, payments.check_payment),
    KindSpec("duplicate_invoice", EXPENSE, no_params, payments.check_duplicate),
    KindSpec("invoice_verification", EXPENSE, payments.compile_invoice, payments.check_invoice),
    KindSpec("related_party", EXPENSE, payments.compile_related, payments.check_related),
    KindSpec("expert_fee_rate", EXPENSE, experts.compile_expert_rate, experts.check_expert_rate),
    KindSpec("travel_allowance", EXPENSE, travel.compile_travel, travel.check_travel),
    KindSpec("meeting_cap", EXPENSE, meetings.compile_meeting, meetings.check_meeting),
    KindSpec("card_mandatory", EXPENSE, cash.compile_card, cash.check_card),
    KindSpec("cash_limit", EXPENSE, cash.compile_cash, cash.check_cash),
    KindSpec("procurement_threshold", EXPENSE, procurement.compile_threshold, procurement.check_threshold),
    KindSpec("procurement_split", EXPENSE, procurement.compile_split, procurement.check_split,
             larger_is_stricter=frozenset({"window_days"})),
    KindSpec("labour_recipient", EXPENSE, labour.compile_recipient, labour.check_recipient),
    KindSpec("hired_pay", EXPENSE, labour.compile_hired, labour.check_hired),
    KindSpec("fee_basis", EXPENSE, labour.compile_fee_basis, labour.check_fee_basis),
    KindSpec("indirect_double_charge", EXPENSE, indirect.compile_double, indirect.check_double),
    KindSpec("partner_transfer", EXPENSE, partners.compile_partner, partners.check_partner),
    KindSpec("disbursed_funds", EXPENSE, no_params, categories.check_disbursed),
    KindSpec("equity_use_of_funds", EXPENSE, categories.compile_equity, categories.check_equity),
    KindSpec("subsidy_eligibility", SUBSIDY, categories.compile_subsidy, categories.check_subsidy),
    KindSpec("budget_total", BUDGET, no_params, budget.check_budget_total),
    KindSpec("budget_subjects", BUDGET, no_params, budget.check_budget_subjects),
    KindSpec("indirect_cap", BUDGET, budget.compile_indirect_cap, budget.check_indirect_cap),
    KindSpec("no_indirect_fund_source", BUDGET, budget.compile_no_indirect, budget.check_no_indirect),
    KindSpec("budget_adjustment", ADJUSTMENT, budget.compile_adjust, budget.match_adjust),
)}
