"""The one table of rule kinds: every kind a policy may use, expense and budget-setting alike.

A kind names its target (what it judges), its ``compile`` (``ParamReader`` → typed params, run once when
the policy is built) and the ``check`` it offers. The check's signature is the target's:

- ``expense``: ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list (:func:`judge`);
  a budget kind with an ``expense_check`` judges expenses too (no-indirect fund sources)
- ``budget``: ``check(rule, budget, grant, policy)`` → None | Finding | list (:func:`check_budget`)
- ``adjustment``: ``check(rule, from_subject, to_subject)`` → bool, does the rule cover the move
  (:func:`adjustment_approver`)
- ``subsidy``: ``check(rule, findings, expense, policy)`` → findings after the 先立项后补助 treatment (:func:`judge`)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from compliance.rules import (budget, cash, categories, experts, indirect, labour, meetings, negative_list, partners,
                              payments, period, procurement, programme, thresholds, travel, vocabularies)
from compliance.rules.params import ParamReader, no_params
from compliance.rules.rule import ADJUSTMENT, BUDGET, EXPENSE, SUBSIDY, TARGETS, Rule


@dataclass(frozen=True)
class KindSpec:
    name: str
    target: str  # expense | budget | adjustment | subsidy
    compile: Callable[[ParamReader], Any]
    check: Callable
    # a budget-setting kind may judge expenses too (the same rule, same id and source): its expense check
    expense_check: Callable | None = None
    # an institution's layer may only tighten a kind's figures: every number it states must be ≤ the national
    # one, except the params named here, where a larger number is the stricter one (a longer look-back window)
    larger_is_stricter: frozenset = frozenset()
    # a kind that reads earlier payments to the same payee (``Context.same_payee_before``) says which:
    # params → (purpose codes, look-back in days or None for the grant's whole life), so the look-up
    # fetches only the rows some rule can use
    prior_payments: Callable[[Any], tuple[frozenset, int | None]] | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"kind {self.name}: unknown target {self.target!r}")


KINDS: dict[str, KindSpec] = {k.name: k for k in (
    KindSpec("forbidden_purpose", EXPENSE, negative_list.compile_forbidden, negative_list.check_forbidden),
    KindSpec("closed_vocabulary", EXPENSE, vocabularies.compile_closed, vocabularies.check_closed),
    KindSpec("required_fields", EXPENSE, no_params, vocabularies.check_required),
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
             larger_is_stricter=frozenset({"window_days"}), prior_payments=lambda p: (p.purposes, p.window_days)),
    KindSpec("labour_recipient", EXPENSE, labour.compile_recipient, labour.check_recipient),
    KindSpec("hired_pay", EXPENSE, labour.compile_hired, labour.check_hired),
    KindSpec("fee_basis", EXPENSE, labour.compile_fee_basis, labour.check_fee_basis),
    KindSpec("indirect_double_charge", EXPENSE, indirect.compile_double, indirect.check_double),
    KindSpec("partner_transfer", EXPENSE, partners.compile_partner, partners.check_partner,
             prior_payments=lambda p: (p.purposes, None)),
    KindSpec("disbursed_funds", EXPENSE, no_params, categories.check_disbursed),
    KindSpec("equity_use_of_funds", EXPENSE, categories.compile_equity, categories.check_equity),
    KindSpec("subsidy_eligibility", SUBSIDY, categories.compile_subsidy, categories.check_subsidy),
    KindSpec("budget_total", BUDGET, no_params, budget.check_budget_total),
    KindSpec("budget_subjects", BUDGET, no_params, budget.check_budget_subjects),
    KindSpec("indirect_cap", BUDGET, budget.compile_indirect_cap, budget.check_indirect_cap),
    KindSpec("no_indirect_fund_source", BUDGET, budget.compile_no_indirect, budget.check_no_indirect,
             expense_check=budget.check_no_indirect_expense),
    KindSpec("grant_total", EXPENSE, no_params, budget.check_grant_total),
    KindSpec("programme_reward_share", EXPENSE, no_params, programme.check_reward_share),
    KindSpec("budget_adjustment", ADJUSTMENT, budget.compile_adjust, budget.match_adjust),
)}


# Engine invariants: applied under every policy version, whether or not its file states them (a landed
# version never changes, and no version may switch them off). A policy that states a rule of the same
# kind replaces the built-in one (its own id, source and severity).
INVARIANTS: tuple[Rule, ...] = (
    Rule(budget.GRANT_TOTAL_ID, "grant_total", EXPENSE,
         "支出合计不得超过项目财政资金", "total spending may not exceed the grant's fiscal amount",
         "项目任务书（合同书）核定的财政资金; 国办发〔2021〕32号 （一）", "reject", False, None, None, (), None,
         budget.check_grant_total),
    Rule(programme.REWARD_SHARE_ID, "programme_reward_share", EXPENSE,
         "资助计划的绩效（奖励）提取比例", "a programme's reward-extraction share",
         "compliance/data/programmes.yaml（各计划的来源）", "reject", False, None, None, (), None,
         programme.check_reward_share),
)
