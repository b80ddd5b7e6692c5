"""The rule engine: pure functions from facts and a policy to findings.

No database, no Flask. The service turns an expense, its grant and its budget lines into the frozen
facts (:mod:`.facts`), picks the :class:`~compliance.policy.Policy` in force on the expense date and
calls :func:`judge`. Every rule is data (``compliance/policies/*.yaml``); this package only knows the
rule *kinds*, listed once in :mod:`.registry`: a kind's ``compile`` turns a rule's ``params`` into typed
params once, when the policy is built (:mod:`.params`), and its ``check`` judges. One module per rule
family (:mod:`.negative_list`, :mod:`.budget`, :mod:`.period`, :mod:`.thresholds`, :mod:`.payments`,
:mod:`.experts`, :mod:`.categories`, and the rulebook's :mod:`.travel`, :mod:`.meetings`, :mod:`.cash`,
:mod:`.procurement`, :mod:`.labour`, :mod:`.indirect`, :mod:`.partners`); :mod:`.judge` runs them.

Findings carry the rule id, the source to cite and the figures that decided them. A rule that needs a
field the expense lacks fails closed: ``needs_approval`` with ``missing_field`` set (DOMAIN.md, "What an
expense must carry").
"""
from compliance.rules.budget import GRANT_TOTAL_ID, adjustment_needed, check_grant_total, indirect_cap
from compliance.rules.experts import expert_fee_cap
from compliance.rules.facts import BudgetFacts, BudgetGrant, Context, ExpenseFacts, GrantFacts, LineFacts, PriorPayment
from compliance.rules.findings import Calculation, Finding, Judgement
from compliance.rules.judge import adjustment_approver, check_budget, judge
from compliance.rules.params import CENT, ZERO, ParamReader, PolicyError, parse_tiers, to_decimal
from compliance.rules.registry import INVARIANTS, KINDS, KindSpec
from compliance.rules.rule import Rule
from compliance.vocabulary import (
    APPROVER_ORDER,
    CATEGORIES,
    FIELD_ZH,
    FUNDING_MODES,
    GRANT_STATUSES,
    INSTITUTION_KINDS,
    MANAGEMENT_MODES,
    RULE_SEVERITIES,
    SCOPE_KEYS,
    SEVERITY_ORDER,
)

__all__ = [
    "APPROVER_ORDER", "CATEGORIES", "CENT", "FIELD_ZH", "FUNDING_MODES", "GRANT_STATUSES", "INSTITUTION_KINDS",
    "KINDS", "MANAGEMENT_MODES", "RULE_SEVERITIES", "SCOPE_KEYS", "SEVERITY_ORDER", "ZERO",
    "BudgetFacts", "BudgetGrant", "Calculation", "Context", "PriorPayment", "ExpenseFacts", "Finding", "GrantFacts", "Judgement", "KindSpec",
    "LineFacts", "ParamReader", "PolicyError", "Rule",
    "GRANT_TOTAL_ID", "INVARIANTS", "adjustment_needed", "check_grant_total",
    "adjustment_approver", "check_budget", "expert_fee_cap", "indirect_cap", "judge", "parse_tiers", "to_decimal",
]
