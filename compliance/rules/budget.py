"""The budget: money available on a line or in total, known subjects, and the budget-setting kinds
(编制预算: total, subjects, indirect cap, no-indirect fund sources) and adjustments (预算调剂).

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list,
with ``text`` the normalised description (:func:`compliance.text.normalise`); every compile is ``compile(ParamReader)`` → typed params.
Budget-setting checks are ``check(rule, budget: BudgetFacts, grant, policy)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from compliance.rules.facts import BudgetFacts, Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import Finding, finding, missing, subject_zh, yuan
from compliance.rules.params import CENT, ZERO, ParamReader, parse_tiers
from compliance.rules.rule import Rule
from compliance.vocabulary import APPROVER_ORDER, RULE_SEVERITIES

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


# ---- budget_availability (预算制 per subject; total for 包干制 and 经费预算+负面清单)
@dataclass(frozen=True, slots=True)
class Availability:
    level: str
    over_with_approval: frozenset


def compile_availability(p: ParamReader) -> Availability:
    return Availability(p.choice("level", ("subject", "total"), "subject"),
                        p.strs("over_with_approval_subjects", "subjects") or frozenset())


def check_availability(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    if g.category == "post_subsidy":        # self-funded: no budget to exhaust
        return None
    P: Availability = rule.params
    if P.level == "subject":
        if g.funding_mode != "budgeted":    # 包干制: no subject limits
            return None
        line = g.lines.get(e.subject)
        if line is None or not line.budgeted:   # subject_not_in_budget judges this
            return None
        avail = line.available
        if e.amount <= avail:
            return None
        sev = "needs_approval" if e.subject in P.over_with_approval else rule.severity
        name = subject_zh(policy, e.subject)
        figures = {"subject": e.subject, "available": str(avail), "amount": str(e.amount),
                   "shortfall": str(e.amount - avail)}
        tail_zh = tail_en = ""
        if sev == "needs_approval":
            # the policy lets this subject go over only through a 预算调剂 approved first: say which one
            need = adjustment_needed(e.subject, e.amount - avail)
            figures["adjustment_needed"] = need
            tail_zh = f"，须先经批准的预算调剂向{name}调入至少 {yuan(e.amount - avail)} 元后方可审批"
            tail_en = (f"; may be approved only after a budget adjustment moving at least "
                       f"{yuan(e.amount - avail)} yuan into {e.subject} is approved")
        return finding(rule, sev,
                       f"{name}可用余额 {yuan(avail)} 元，不足以支付 {yuan(e.amount)} 元{tail_zh}",
                       f"{e.subject} has {yuan(avail)} yuan available, not enough for {yuan(e.amount)} yuan"
                       f"{tail_en}", figures)
    if g.lines:
        avail = sum((ln.available for ln in g.lines.values()), ZERO)
    else:
        avail = g.fiscal_amount - g.spent_total
    if e.amount <= avail:
        return None
    return finding(rule, rule.severity,
                   f"项目经费可用余额合计 {yuan(avail)} 元，不足以支付 {yuan(e.amount)} 元（{rule.title_zh}）",
                   f"The grant has {yuan(avail)} yuan available in total, not enough for {yuan(e.amount)} yuan "
                   f"({rule.title_en})",
                   {"available_total": str(avail), "amount": str(e.amount), "shortfall": str(e.amount - avail)})


# ---- subject_not_in_budget
@dataclass(frozen=True, slots=True)
class SubjectKnown:
    unknown_severity: str
    check_lines: bool   # False: only "is it a subject the policy knows" (经费预算+负面清单)


def compile_subject(p: ParamReader) -> SubjectKnown:
    return SubjectKnown(p.choice("unknown_subject_severity", RULE_SEVERITIES, "reject"),
                        p.boolean("check_lines", True))


def check_subject(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    s = e.subject
    if not s:
        return missing(rule, policy, "subject")
    if s not in policy.subjects:
        known = "、".join(sorted(policy.subjects))
        return finding(rule, rule.params.unknown_severity,
                       f"预算科目「{s}」不是本政策认可的科目（认可：{known}）",
                       f"Budget subject '{s}' is not a subject this policy knows (known: {', '.join(sorted(policy.subjects))})",
                       {"subject": s, "known_subjects": sorted(policy.subjects)})
    if not rule.params.check_lines or g.category == "post_subsidy" or g.funding_mode != "budgeted":
        return None
    line = g.lines.get(s)
    if line is not None and line.budgeted:
        return None
    # no line, or a line with no money budgeted on it: only an approved 预算调剂 into the subject can fund it
    return finding(rule, rule.severity,
                   f"本项目预算中没有「{subject_zh(policy, s)}」科目的经费，支出 {yuan(e.amount)} 元须先经批准的预算调剂"
                   f"向该科目调入至少 {yuan(e.amount)} 元后方可审批",
                   f"The grant's budget has no money under '{s}'; spending {yuan(e.amount)} yuan may be approved "
                   f"only after a budget adjustment moving at least {yuan(e.amount)} yuan into {s} is approved",
                   {"subject": s, "budget_subjects": sorted(k for k, v in g.lines.items() if v.budgeted),
                    "adjustment_needed": adjustment_needed(s, e.amount - line.available if line else e.amount)})


def adjustment_needed(subject: str, amount: Decimal) -> dict:
    """The 预算调剂 an over-budget expense waits for: money into ``subject``, at least ``amount``."""
    return {"to_subject": subject, "min_amount": str(amount.quantize(CENT))}


# ---- grant_total (an engine invariant: what is posted never exceeds the grant's fiscal amount)
GRANT_TOTAL_ID = "GRANT-FISCAL-TOTAL"


def check_grant_total(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    """Posted spending (every posted expense draws on a budget line) plus this expense may not exceed the
    fiscal amount; if only the queued reservations push it over, the expense waits for them."""
    if g.category == "post_subsidy":        # self-funded: the subsidy is assessed separately
        return None
    posted = sum((ln.spent for ln in g.lines.values()), ZERO)
    reserved = sum((ln.reserved for ln in g.lines.values()), ZERO)
    fiscal = g.fiscal_amount
    if posted + reserved + e.amount <= fiscal:
        return None
    over = posted + e.amount > fiscal
    sev = rule.severity if over else "needs_approval"
    figures = {"fiscal_amount": str(fiscal), "posted_total": str(posted), "reserved_total": str(reserved),
               "amount": str(e.amount), "excess": str(posted + reserved + e.amount - fiscal)}
    if over:
        return finding(rule, sev,
                       f"项目财政资金 {yuan(fiscal)} 元，已入账 {yuan(posted)} 元，本笔 {yuan(e.amount)} 元将使支出合计"
                       f"超过财政资金 {yuan(posted + e.amount - fiscal)} 元",
                       f"The grant's fiscal amount is {yuan(fiscal)} yuan and {yuan(posted)} yuan is posted; this "
                       f"{yuan(e.amount)} yuan would take total spending {yuan(posted + e.amount - fiscal)} yuan past it",
                       figures)
    return finding(rule, sev,
                   f"项目财政资金 {yuan(fiscal)} 元，已入账 {yuan(posted)} 元，待审批 {yuan(reserved)} 元；本笔 "
                   f"{yuan(e.amount)} 元须待其他待审批支出处理后审批",
                   f"The grant's fiscal amount is {yuan(fiscal)} yuan: {yuan(posted)} yuan posted and "
                   f"{yuan(reserved)} yuan awaiting approval; this {yuan(e.amount)} yuan waits for those decisions",
                   figures)


# ---- budget-setting kinds (check_budget)
@dataclass(frozen=True, slots=True)
class NoIndirect:
    fund_sources: frozenset


def compile_no_indirect(p: ParamReader) -> NoIndirect:
    return NoIndirect(p.strs("fund_sources", "fund_sources", required=True))


@dataclass(frozen=True, slots=True)
class IndirectCap:
    pure_theory_param: str


def compile_indirect_cap(p: ParamReader) -> IndirectCap:
    return IndirectCap(p.get("pure_theory_tiers_param", "indirect_tiers_pure_theory"))


# ---- budget_adjustment (预算调剂 approver matrix)
@dataclass(frozen=True, slots=True)
class Adjust:
    from_subjects: frozenset | None
    to_subjects: frozenset | None
    approver: str
    fallback: bool


def compile_adjust(p: ParamReader) -> Adjust:
    return Adjust(p.strs("from", "subjects"), p.strs("to", "subjects"),
                  p.choice("approver", tuple(APPROVER_ORDER)), p.boolean("fallback", False))




def match_adjust(rule: Rule, from_subject: str, to_subject: str) -> bool:
    """Whether a (non-fallback) adjustment rule covers moving money from one subject to another."""
    P: Adjust = rule.params
    if P.fallback:
        return False
    if P.from_subjects is not None and from_subject not in P.from_subjects:
        return False
    return P.to_subjects is None or to_subject in P.to_subjects


# ---- budget-setting checks: check(rule, budget, grant, policy) -> None | Finding | list
def _value(obj: Any, attr: str) -> Any:
    v = getattr(obj, attr, None)
    return getattr(v, "value", v)


def indirect_cap(base: Decimal, tiers) -> Decimal:
    """Indirect-cost ceiling on ``base`` (direct costs − equipment), applied tier by tier, rounded down to
    the fen. ``tiers``: ((up_to | None, rate), …) or the YAML list of {up_to, rate}."""
    if tiers and not (isinstance(tiers[0], tuple) and isinstance(tiers[0][1], Decimal)):
        tiers = parse_tiers(tiers, "tiers")
    if base <= 0:
        return Decimal("0.00")
    cap = ZERO
    lower = ZERO
    for up_to, rate in tiers:
        top = base if up_to is None else min(base, up_to)
        if top <= lower:
            break
        cap += (top - lower) * rate
        if up_to is None or base <= up_to:
            break
        lower = up_to
    return cap.quantize(CENT, ROUND_DOWN)


def check_budget_total(rule: Rule, b: BudgetFacts, grant: Any, policy: "Policy"):
    total = sum(b.lines.values(), ZERO)
    fiscal = b.fiscal_amount
    if total == fiscal:
        return None
    return finding(
        rule, rule.severity,
        f"预算合计 {yuan(total)} 元与财政资金 {yuan(fiscal)} 元不一致（差 {yuan(total - fiscal)} 元）",
        f"Budget lines total {yuan(total)} yuan but the fiscal amount is {yuan(fiscal)} yuan "
        f"(difference {yuan(total - fiscal)})",
        {"lines_total": str(total), "fiscal_amount": str(fiscal), "difference": str(total - fiscal)})


def check_budget_subjects(rule: Rule, b: BudgetFacts, grant: Any, policy: "Policy") -> list[Finding]:
    st = policy.structure
    mode = _value(grant, "funding_mode")
    if mode == "lump_sum":
        allowed = {st.lump_sum}
    else:
        allowed = set(st.direct) | {st.indirect}
    out = []
    for s, amt in b.lines.items():
        if s not in allowed:
            out.append(finding(rule, rule.severity,
                               f"预算科目「{s}」不适用于{'包干制' if mode == 'lump_sum' else '预算制'}项目"
                               f"（可用：{'、'.join(sorted(allowed))}）",
                               f"Budget subject '{s}' is not allowed for a {mode} grant (allowed: "
                               f"{', '.join(sorted(allowed))})", {"subject": s, "allowed": sorted(allowed)}))
        elif amt < 0:
            out.append(finding(rule, rule.severity, f"预算科目「{s}」金额为负数 {yuan(amt)} 元",
                               f"Budget subject '{s}' has a negative amount {yuan(amt)} yuan",
                               {"subject": s, "amount": str(amt)}))
    return out


def check_indirect_cap(rule: Rule, b: BudgetFacts, grant: Any, policy: "Policy"):
    st = policy.structure
    indirect = b.lines.get(st.indirect, ZERO)
    base = sum((b.lines.get(s, ZERO) for s in st.direct), ZERO) - b.lines.get(st.equipment, ZERO)
    pure = bool(getattr(grant, "pure_theory", False))
    tiers = policy.tiers(rule.params.pure_theory_param) if pure else policy.indirect_tiers
    cap = indirect_cap(base, tiers)
    if indirect <= cap:
        return None
    rates = "/".join(f"{r * 100:g}%" for _, r in tiers)
    return finding(
        rule, rule.severity,
        f"间接费用 {yuan(indirect)} 元超过上限 {yuan(cap)} 元（直接费用扣除设备费后 {yuan(base)} 元，"
        f"分段比例 {rates}{'，纯理论基础研究' if pure else ''}）",
        f"Indirect costs {yuan(indirect)} yuan exceed the cap of {yuan(cap)} yuan (direct costs less "
        f"equipment {yuan(base)} yuan, tiers {rates}{', pure theory' if pure else ''})",
        {"indirect": str(indirect), "cap": str(cap), "base": str(base), "pure_theory": pure,
         "tiers": [[None if u is None else str(u), str(r)] for u, r in tiers]})


def check_no_indirect_expense(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    """The same rule on an expense: indirect costs charged to money from a fund source that allows none.
    The expense's own fund source wins over the grant's; a fund source the policy does not know fails closed
    (a misspelling must not switch the rule off)."""
    fs = e.fund_source or g.fund_source
    known = policy.vocab["fund_sources"]
    if fs not in known:
        return finding(rule, policy.fail_closed_severity,
                       f"{rule.title_zh}：资金来源「{fs}」不是本政策认可的代码（认可：{'、'.join(sorted(known))}），"
                       f"无法判定，需人工审批",
                       f"{rule.title_en}: fund source {fs!r} is not a code this policy knows "
                       f"({', '.join(sorted(known))}), so the rule cannot be judged; needs approval",
                       {"fund_source": fs, "known_fund_sources": sorted(known), "rules_needing_it": [rule.id]},
                       "fund_source")
    if fs not in rule.params.fund_sources or e.subject != policy.structure.indirect:
        return None
    return finding(rule, rule.severity,
                   f"资金来源「{fs}」不得列支间接费用，本笔 {yuan(e.amount)} 元列在{subject_zh(policy, e.subject)}",
                   f"Fund source '{fs}' allows no indirect costs; this {yuan(e.amount)} yuan is charged to "
                   f"{e.subject}", {"fund_source": fs, "subject": e.subject, "amount": str(e.amount)})


def check_no_indirect(rule: Rule, b: BudgetFacts, grant: Any, policy: "Policy"):
    indirect = b.lines.get(policy.structure.indirect, ZERO)
    fs = _value(grant, "fund_source")
    if fs not in rule.params.fund_sources or indirect <= 0:
        return None
    return finding(rule, rule.severity,
                   f"资金来源「{fs}」不得列支间接费用，预算中间接费用为 {yuan(indirect)} 元",
                   f"Fund source '{fs}' allows no indirect costs; the budget has {yuan(indirect)} yuan",
                   {"fund_source": fs, "indirect": str(indirect)})
