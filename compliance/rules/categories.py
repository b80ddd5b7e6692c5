"""Rules of one grant category: money actually disbursed, 拨改投 conditions, 先立项后补助 eligibility.

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list,
with ``text`` the normalised description (:func:`compliance.text.normalise`); every compile is ``compile(ParamReader)`` → typed params.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import Finding, finding, missing, subject_zh, yuan
from compliance.rules.params import ParamReader, to_decimal
from compliance.rules.rule import Rule
from compliance.vocabulary import RULE_SEVERITIES, SEVERITY_ORDER

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


# ---- disbursed_funds (spend beyond the money actually paid out)
def check_disbursed(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    if g.category == "post_subsidy":
        return None
    after = g.spent_total + e.amount
    if after <= g.disbursed:
        return None
    return finding(rule, rule.severity,
                   f"已拨付 {yuan(g.disbursed)} 元，已支出及预留 {yuan(g.spent_total)} 元，本笔 {yuan(e.amount)} 元"
                   f"将超出已拨付资金 {yuan(after - g.disbursed)} 元",
                   f"Disbursed {yuan(g.disbursed)} yuan, spent or reserved {yuan(g.spent_total)} yuan; this "
                   f"{yuan(e.amount)} yuan would exceed the money paid out by {yuan(after - g.disbursed)} yuan",
                   {"disbursed": str(g.disbursed), "spent_total": str(g.spent_total), "amount": str(e.amount),
                     "excess": str(after - g.disbursed)})


# ---- equity_use_of_funds (拨改投: the agreed use-of-funds conditions)
@dataclass(frozen=True, slots=True)
class Equity:
    require_conditions: bool
    over_max_severity: str


def compile_equity(p: ParamReader) -> Equity:
    return Equity(p.boolean("require_conditions", True),
                  p.choice("over_max_severity", RULE_SEVERITIES, "needs_approval"))


def check_equity(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Equity = rule.params
    cond = g.equity_conditions
    if cond is None:
        if P.require_conditions:
            return missing(rule, policy, "equity_conditions", "拨改投项目须先约定资金使用条件",
                           "a grant-to-equity project must have agreed use-of-funds conditions")
        return None
    out = []
    allowed = cond.get("allowed_subjects")
    if allowed and e.subject not in allowed:
        out.append(finding(rule, rule.severity,
                           f"拨改投资金使用条件只允许 {'、'.join(allowed)}，不含「{subject_zh(policy, e.subject)}」",
                           f"The grant-to-equity conditions allow only {', '.join(allowed)}, not '{e.subject}'",
                           {"subject": e.subject, "allowed_subjects": list(allowed)}))
    forbidden = cond.get("forbidden_purposes")
    if forbidden and e.purpose in forbidden:
        out.append(finding(rule, rule.severity,
                           f"拨改投资金使用条件禁止用途「{e.purpose}」",
                           f"The grant-to-equity conditions forbid purpose '{e.purpose}'",
                           {"purpose": e.purpose, "forbidden_purposes": list(forbidden)}))
    kws = cond.get("forbidden_keywords")
    if kws and text:
        hit = next((k for k in kws if k.lower() in text), None)
        if hit:
            out.append(finding(rule, rule.severity, f"拨改投资金使用条件禁止的事项：摘要含「{hit}」",
                               f"The grant-to-equity conditions forbid this: description contains '{hit}'",
                               {"keyword": hit}))
    mx = cond.get("max_single_amount")
    if mx is not None:
        mx_d = to_decimal(mx, "equity_conditions.max_single_amount")
        if e.amount > mx_d:
            out.append(finding(rule, P.over_max_severity,
                               f"单笔 {yuan(e.amount)} 元超过拨改投约定的单笔上限 {yuan(mx_d)} 元",
                               f"{yuan(e.amount)} yuan exceeds the agreed single-payment limit of {yuan(mx_d)} yuan",
                               {"amount": str(e.amount), "max_single_amount": str(mx_d)}))
    return out or None


# ---- subsidy_eligibility (先立项后补助): applied by judge after the other rules
@dataclass(frozen=True, slots=True)
class Subsidy:
    cap_severity: str


def compile_subsidy(p: ParamReader) -> Subsidy:
    return Subsidy(p.choice("cap_severity", ("warn", "needs_approval", "reject"), "warn"))



def check_subsidy(rule: Rule, findings: list[Finding], e: ExpenseFacts, policy: "Policy") -> list[Finding]:
    """先立项后补助 after a negative-list finding: the institution spends its own money, so a negative-list hit
    does not block the payment (capped at ``cap_severity``), but the spend is excluded from the subsidy base;
    a negative-list rule that could not be judged (missing field) also excludes it until the data is there."""
    neg = policy.negative_list_ids
    neg_findings = [f for f in findings if f.rule_id in neg]
    cap = rule.params.cap_severity
    cap_rank = SEVERITY_ORDER[cap]
    out = []
    for f in findings:
        if f.rule_id in neg and f.missing_field is None and SEVERITY_ORDER[f.severity] > cap_rank:
            f = replace(f, severity=cap, figures={**f.figures, "original_severity": f.severity})
        out.append(f)
    ids = sorted({f.rule_id for f in neg_findings})
    hits = [f.rule_id for f in neg_findings if f.missing_field is None]
    if hits:
        zh = (f"先立项后补助：本笔支出 {yuan(e.amount)} 元触及负面清单（{'、'.join(ids)}），不阻止支付，"
              f"但不计入补助基数")
        en = (f"Post-subsidy grant: this {yuan(e.amount)} yuan hits the negative list ({', '.join(ids)}); the "
              f"payment is not blocked but it is excluded from the subsidy base")
    else:
        zh = (f"先立项后补助：本笔支出 {yuan(e.amount)} 元缺少负面清单判定所需信息（{'、'.join(ids)}），"
              f"在补齐前不计入补助基数")
        en = (f"Post-subsidy grant: this {yuan(e.amount)} yuan lacks the data the negative list needs "
              f"({', '.join(ids)}); excluded from the subsidy base until it is supplied")
    out.append(finding(rule, rule.severity, zh, en, {"excluded_amount": str(e.amount), "negative_list_rules": ids}))
    return out
