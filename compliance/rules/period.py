"""The grant period and status (kind ``grant_period``).

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list,
with ``text`` the normalised description (:func:`compliance.text.normalise`); every compile is ``compile(ParamReader)`` → typed params.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, missing
from compliance.rules.params import ParamReader
from compliance.rules.rule import Rule
from compliance.vocabulary import GRANT_STATUSES

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


# ---- grant_period
@dataclass(frozen=True, slots=True)
class Period:
    allowed_statuses: frozenset


def compile_period(p: ParamReader) -> Period:
    statuses = p.strs("allowed_statuses", required=True)
    bad = sorted(statuses - GRANT_STATUSES)
    if bad:
        raise p.err(f"params.allowed_statuses: unknown grant statuses {bad}")
    return Period(statuses)


def check_period(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    out = []
    if g.status not in rule.params.allowed_statuses:
        out.append(finding(rule, rule.severity,
                           f"项目状态为「{g.status}」，不是执行中，不能列支",
                           f"The grant is '{g.status}', not active; no spending may be charged to it",
                           {"grant_status": g.status, "allowed_statuses": sorted(rule.params.allowed_statuses)}))
    d = e.expense_date
    if d is None:
        out.append(missing(rule, policy, "expense_date"))
    elif d < g.start_date or d > g.end_date:
        out.append(finding(rule, rule.severity,
                           f"支出日期 {d.isoformat()} 不在项目执行期 {g.start_date.isoformat()} 至 "
                           f"{g.end_date.isoformat()} 内",
                           f"Expense date {d.isoformat()} is outside the grant period {g.start_date.isoformat()} "
                           f"to {g.end_date.isoformat()}",
                           {"expense_date": d.isoformat(), "start_date": g.start_date.isoformat(),
                             "end_date": g.end_date.isoformat()}))
    return out or None

