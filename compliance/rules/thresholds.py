"""Amount thresholds that call for a registration or a justification (kind ``amount_threshold``).

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list,
with ``text`` the normalised description (:func:`compliance.text.normalise`); every compile is ``compile(ParamReader)`` → typed params.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, missing, yuan
from compliance.rules.params import ParamReader
from compliance.rules.rule import Rule
from compliance.vocabulary import FIELD_ZH

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


# ---- amount_threshold (SEED-INSTRUMENT-30W, equipment ≥ 500k justification)
@dataclass(frozen=True, slots=True)
class Threshold:
    subjects: frozenset | None
    value_field: str
    at_least: Decimal
    require_true: str | None
    requirement: dict
    exempt_fund_sources: frozenset


def compile_threshold(p: ParamReader) -> Threshold:
    req = p.get("require_true")
    if req is not None and req not in ("platform_registered", "invoice_verified"):
        raise p.err("params.require_true must be a boolean expense field (platform_registered, invoice_verified)")
    return Threshold(p.strs("subjects", "subjects"), p.choice("value_field", ("unit_value", "amount"), "unit_value"),
                     p.decimal("at_least"), req, p.text("requirement", required=True),
                     p.strs("exempt_expense_fund_sources", "fund_sources") or frozenset())


def check_threshold(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Threshold = rule.params
    if P.subjects is not None and e.subject not in P.subjects:
        return None
    if e.fund_source is not None and e.fund_source in P.exempt_fund_sources:
        return None
    v = getattr(e, P.value_field)
    if v is None:
        return missing(rule, policy, P.value_field, f"需判断是否达到 {yuan(P.at_least)} 元",
                       f"needed to tell whether it reaches {yuan(P.at_least)} yuan")
    if v < P.at_least:
        return None
    figures = {P.value_field: str(v), "threshold": str(P.at_least)}
    head_zh = f"{FIELD_ZH[P.value_field]} {yuan(v)} 元 ≥ {yuan(P.at_least)} 元"
    head_en = f"{P.value_field} {yuan(v)} yuan ≥ {yuan(P.at_least)} yuan"
    if P.require_true:
        flag = getattr(e, P.require_true)
        figures[P.require_true] = flag
        if flag is True:
            return None
        if flag is None:
            f = missing(rule, policy, P.require_true, f"{head_zh}，{P.requirement['zh']}",
                        f"{head_en}; {P.requirement['en']}")
            return replace(f, figures={**f.figures, **figures})
        return finding(rule, rule.severity, f"{head_zh}：{P.requirement['zh']}（尚未满足）",
                       f"{head_en}: {P.requirement['en']} (not done)", figures)
    return finding(rule, rule.severity, f"{head_zh}：{P.requirement['zh']}", f"{head_en}: {P.requirement['en']}",
                   figures)

