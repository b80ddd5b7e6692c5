"""Judging: one expense against every expense rule in force, a budget being set, an adjustment's approver.

Every rule is data (``compliance/policies/*.yaml``); the kinds and their checks are in
:mod:`compliance.rules.registry`, and the loops below are the only places a check is called.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Mapping

from compliance.rules.facts import BudgetFacts, Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import Calculation, Finding, Judgement, worst_severity
from compliance.rules.rule import Rule
from compliance.text import normalise
from compliance.vocabulary import APPROVER_ORDER, FIELD_ZH, SEVERITY_ORDER, Verdict

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


def judge(expense: ExpenseFacts, grant: GrantFacts, ctx: Context, policy: "Policy") -> Judgement:
    """The verdict on one expense: every expense rule in scope and in force, worst severity wins."""
    text = normalise(expense.description)   # width, script, case, spaces: see compliance.text
    on = expense.expense_date
    findings: list[Finding] = []
    calcs: list[Calculation] = []
    for rule in policy.expense_rules_for(grant):
        if rule.dated and on is not None and not rule.in_force(on):
            continue
        r = rule.check(rule, expense, grant, ctx, policy, text)
        if r is None:
            continue
        if type(r) is Finding:
            findings.append(r)
        elif type(r) is Calculation:
            calcs.append(r)
        else:
            for x in r:
                (calcs if type(x) is Calculation else findings).append(x)

    subsidy_eligible = None
    if grant.category == "post_subsidy":
        findings, subsidy_eligible = _post_subsidy(findings, expense, grant, policy)
    elif not findings:
        return Judgement(Verdict.ALLOW.value, (), None, tuple(calcs))

    if len(findings) > 1:
        findings = one_per_rule(merge_missing(findings))
    return Judgement(worst_severity(findings), tuple(findings), subsidy_eligible, tuple(calcs))


def one_per_rule(findings: list[Finding]) -> list[Finding]:
    """Two checks may reach the same rule (the description screening and the rulebook's own check both cite
    NEG-EXTRA-MGMT-FEE for utilities charged to direct costs): the verdict cites each rule once — the first
    finding (the more severe one if they differ), with the other's sources and figures added to it."""
    order: list[str] = []
    kept: dict[str, Finding] = {}
    for f in findings:
        key = f"{f.rule_id}:{f.missing_field}" if f.missing_field else f.rule_id
        first = kept.get(key)
        if first is None:
            order.append(key)
            kept[key] = f
            continue
        if SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[first.severity]:
            first, f = f, first
        sources = list(dict.fromkeys(part.strip() for src in (first.source, f.source) for part in src.split(";")))
        kept[key] = replace(first, source="; ".join(s for s in sources if s), figures={**f.figures, **first.figures})
    return [kept[k] for k in order]


def _post_subsidy(findings: list[Finding], e: ExpenseFacts, g: GrantFacts, policy: "Policy"):
    """先立项后补助: eligible for the subsidy unless a negative-list rule found something; then the first
    subsidy rule in scope and in force rewrites the findings (its check)."""
    neg = policy.negative_list_ids
    if not any(f.rule_id in neg and f.figures.get("tier") != "suspect" for f in findings):
        return findings, True
    rules = [r for r in policy.subsidy_rules if r.applies_to(g) and (e.expense_date is None or r.in_force(e.expense_date))]
    if not rules:
        return findings, False
    rule = rules[0]
    return rule.check(rule, findings, e, policy), False


def merge_missing(findings: list[Finding]) -> list[Finding]:
    """Several rules failing closed on the same missing field become one finding naming all of them."""
    first: dict[str, int] = {}
    out: list[Finding] = []
    for f in findings:
        mf = f.missing_field
        if mf is None:
            out.append(f)
            continue
        i = first.get(mf)
        if i is None:
            first[mf] = len(out)
            out.append(f)
            continue
        prev = out[i]
        needing = list(prev.figures.get("rules_needing_it", [prev.rule_id]))
        if f.rule_id not in needing:
            needing.append(f.rule_id)
        sev = prev.severity if SEVERITY_ORDER[prev.severity] >= SEVERITY_ORDER[f.severity] else f.severity
        source = "; ".join(dict.fromkeys(prev.source.split("; ") + f.source.split("; ")))
        zh = (f"缺少「{FIELD_ZH.get(mf, mf)}」({mf})，{len(needing)} 条规则无法判定（{'、'.join(needing)}），"
              f"需人工审批")
        en = f"Field '{mf}' is missing, so {len(needing)} rules cannot be judged ({', '.join(needing)}); needs approval"
        out[i] = replace(prev, severity=sev, source=source, message_zh=zh, message_en=en,
                         figures={**prev.figures, "rules_needing_it": needing})
    return out



def check_budget(lines: Mapping[str, Decimal], fiscal_amount: Decimal, grant, policy: "Policy",
                 on_date: date | None = None) -> list[Finding]:
    """Budget-setting checks (编制预算): every budget rule in scope (and in force on ``on_date``) — known
    subjects, sum equals the fiscal amount, indirect within the tiered cap of (direct − equipment), no
    indirect for fund sources that allow none."""
    budget = BudgetFacts({getattr(k, "value", k): v for k, v in lines.items()}, fiscal_amount)
    findings: list[Finding] = []
    for rule in policy.budget_rules:
        if not rule.applies_to(grant) or (on_date is not None and not rule.in_force(on_date)):
            continue
        r = rule.check(rule, budget, grant, policy)
        if r is None:
            continue
        if type(r) is Finding:
            findings.append(r)
        else:
            findings.extend(r)
    return findings


def adjustment_approver(from_subject: str, to_subject: str, amount: Decimal, policy: "Policy") -> tuple[str, str]:
    """Who must approve moving ``amount`` from one subject to another (预算调剂): the strictest level among
    the matching non-fallback rules; the fallback rule (normally the funder) when none matches."""
    if from_subject == to_subject:
        raise ValueError("an adjustment moves money between two different subjects")
    if amount is None or amount <= 0:
        raise ValueError("an adjustment amount must be positive")
    best: Rule | None = None
    fallback: Rule | None = None
    for rule in policy.adjustment_rules:
        if rule.params.fallback:
            fallback = fallback or rule
            continue
        if not rule.check(rule, from_subject, to_subject):
            continue
        if best is None or APPROVER_ORDER[rule.params.approver] > APPROVER_ORDER[best.params.approver]:
            best = rule
    if best is None:
        best = fallback
    if best is None:  # no adjustment rules at all: fail closed to the funder
        return "funder", "FAIL-CLOSED"
    return best.params.approver, best.id
