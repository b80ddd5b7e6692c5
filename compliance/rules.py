"""The rule engine: pure functions from facts and a policy to findings.

No database, no Flask. The service turns an expense, its grant and its budget lines into the frozen
``*Facts`` below, picks the :class:`~compliance.policy.Policy` in force on the expense date and calls
:func:`judge`. Every rule is data (``compliance/policies/*.yaml``); this module only knows the rule
*kinds*. A kind is two functions registered in :data:`KINDS`: ``compile`` turns a rule's ``params``
into a ready-to-use object once, when the policy is built, and ``check`` judges one expense.

Findings carry the rule id, the source to cite and the figures that decided them. A rule that needs a
field the expense lacks fails closed: ``needs_approval`` with ``missing_field`` set (DOMAIN.md, "What an
expense must carry").
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy

SEVERITY_ORDER = {"allow": 0, "warn": 1, "needs_approval": 2, "reject": 3}
RULE_SEVERITIES = ("warn", "needs_approval", "reject")
APPROVER_ORDER = {"pi": 0, "institution": 1, "funder": 2}
CENT = Decimal("0.01")
ZERO = Decimal("0")

# Enum values of grants.models / budgets.models, repeated here so this module stays free of the ORM.
# tests/compliance/test_policy_files.py checks they still match the models.
CATEGORIES = frozenset({"competitive", "stable", "post_subsidy", "grant_to_equity"})
FUNDING_MODES = frozenset({"budgeted", "lump_sum"})
MANAGEMENT_MODES = frozenset({"standard", "directed", "open_competition", "milestone", "horse_race"})
INSTITUTION_KINDS = frozenset({"university", "research_institute", "enterprise", "state_owned_enterprise",
                               "new_rd_institution"})
GRANT_STATUSES = frozenset({"draft", "approved", "active", "closing", "accepted", "failed", "closed", "suspended"})

# scope key -> (grant attribute, allowed values or None for free text)
SCOPE_KEYS = {
    "categories": ("category", CATEGORIES),
    "funding_modes": ("funding_mode", FUNDING_MODES),
    "management_modes": ("management_mode", MANAGEMENT_MODES),
    "institution_kinds": ("institution_kind", INSTITUTION_KINDS),
    "fund_sources": ("fund_source", None),
}

FIELD_ZH = {
    "expense_date": "支出日期", "amount": "金额", "subject": "预算科目", "purpose": "用途", "description": "摘要",
    "payee_name": "收款人名称", "payee_kind": "收款人类型", "payment_method": "支付方式", "invoice_no": "发票号码",
    "invoice_verified": "发票查验结果", "unit_value": "单台套价值", "quantity": "数量",
    "platform_registered": "大型仪器共享平台登记", "expert_title": "专家职称", "expert_days": "咨询天数",
    "fund_source": "资金来源", "equity_conditions": "拨改投资金使用条件",
}


class PolicyError(ValueError):
    """A policy file or policy content is malformed, or a landed version would change."""


# --------------------------------------------------------------------------------------------- facts

@dataclass(frozen=True, slots=True)
class ExpenseFacts:
    expense_date: date
    amount: Decimal
    subject: str
    purpose: str | None
    description: str
    payee_name: str | None
    payee_kind: str | None
    payment_method: str | None
    invoice_no: str | None
    invoice_verified: bool | None
    unit_value: Decimal | None
    quantity: int | None
    platform_registered: bool | None
    expert_title: str | None
    expert_days: Decimal | None
    fund_source: str | None


@dataclass(frozen=True, slots=True)
class LineFacts:
    subject: str
    amount: Decimal
    adjusted: Decimal
    spent: Decimal
    reserved: Decimal

    @property
    def available(self) -> Decimal:
        return self.amount + self.adjusted - self.spent - self.reserved


@dataclass(frozen=True, slots=True)
class GrantFacts:
    id: int
    category: str
    funding_mode: str
    management_mode: str
    status: str
    start_date: date
    end_date: date
    fund_source: str
    institution_kind: str
    fiscal_amount: Decimal
    disbursed: Decimal          # sum of paid tranches
    spent_total: Decimal        # posted + reserved across all lines, before this expense
    lines: Mapping[str, LineFacts]  # by subject value; empty for post_subsidy
    equity_conditions: Mapping | None = None  # grant_to_equity: agreed use-of-funds conditions


@dataclass(frozen=True, slots=True)
class BudgetGrant:
    """What :func:`check_budget` needs to know about the grant (any object with these attributes will do)."""

    category: str
    funding_mode: str
    fund_source: str
    pure_theory: bool = False
    institution_kind: str | None = None
    management_mode: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    duplicate_invoice_of: int | None = None    # id of a stored, non-rejected expense with the same invoice
    duplicate_invoice_row: int | None = None   # or the earlier row of the same import file that claimed it
    duplicate_invoice_elsewhere: bool = False   # or an expense the caller may not see (another institution's)
    project_member_names: frozenset[str] = frozenset()
    salaried_staff_names: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    kind: str
    severity: str
    message_zh: str
    message_en: str
    source: str
    figures: dict
    missing_field: str | None = None

    def to_dict(self) -> dict:
        return {"rule_id": self.rule_id, "kind": self.kind, "severity": self.severity,
                "message_zh": self.message_zh, "message_en": self.message_en, "source": self.source,
                "figures": dict(self.figures), "missing_field": self.missing_field}


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: str
    findings: tuple[Finding, ...]
    subsidy_eligible: bool | None

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "findings": [f.to_dict() for f in self.findings],
                "subsidy_eligible": self.subsidy_eligible}


@dataclass(frozen=True, eq=False)
class Rule:
    """One compiled rule of a policy. ``params`` is whatever the kind's ``compile`` returned."""

    id: str
    kind: str
    target: str                 # expense | budget | adjustment | subsidy
    title_zh: str
    title_en: str
    source: str                 # human citation
    severity: str
    negative_list: bool
    effective_from: date | None
    effective_to: date | None
    scope: tuple                # ((grant attribute, frozenset, include?), ...)
    params: Any
    check: Callable | None = field(repr=False, default=None)

    @property
    def dated(self) -> bool:
        return self.effective_from is not None or self.effective_to is not None

    def in_force(self, on: date) -> bool:
        if self.effective_from is not None and on < self.effective_from:
            return False
        return self.effective_to is None or on <= self.effective_to

    def applies_to(self, grant: Any) -> bool:
        for attr, values, include in self.scope:
            v = getattr(grant, attr, None)
            if (getattr(v, "value", v) in values) is not include:   # plain strings or str enums
                return False
        return True


# ------------------------------------------------------------------------------------------ helpers

def _yuan(d: Decimal) -> str:
    return f"{d:,.2f}"


def _finding(rule: Rule, severity: str, zh: str, en: str, figures: dict, missing: str | None = None) -> Finding:
    return Finding(rule.id, rule.kind, severity, zh, en, rule.source, figures, missing)


def _missing(rule: Rule, policy: "Policy", fieldname: str, why_zh: str = "", why_en: str = "") -> Finding:
    """Fail closed: the rule cannot be judged without ``fieldname``."""
    zh = f"{rule.title_zh}：缺少「{FIELD_ZH.get(fieldname, fieldname)}」({fieldname})，无法判定，需人工审批"
    en = f"{rule.title_en}: field '{fieldname}' is missing, so the rule cannot be judged; needs approval"
    if why_zh:
        zh += f"（{why_zh}）"
        en += f" ({why_en})"
    return _finding(rule, policy.fail_closed_severity, zh, en, {"rules_needing_it": [rule.id]}, fieldname)


def _subject_zh(policy: "Policy", subject: str) -> str:
    return policy.subject_names.get(subject, subject)


class _Match:
    """What an expense is: subjects AND payee kinds AND payment methods AND (purpose code OR keyword).

    Omitted dimensions match anything. Keywords are lowercased once here and matched as substrings of
    the lowercased description.
    """

    __slots__ = ("subjects", "purposes", "keywords", "payee_kinds", "payment_methods")

    def __init__(self, subjects, purposes, keywords, payee_kinds, payment_methods):
        self.subjects, self.purposes, self.keywords = subjects, purposes, keywords
        self.payee_kinds, self.payment_methods = payee_kinds, payment_methods

    def __call__(self, e: ExpenseFacts, text: str) -> bool:
        if self.subjects is not None and e.subject not in self.subjects:
            return False
        if self.payee_kinds is not None and e.payee_kind not in self.payee_kinds:
            return False
        if self.payment_methods is not None and e.payment_method not in self.payment_methods:
            return False
        if self.purposes is None and self.keywords is None:
            return True
        if self.purposes is not None and e.purpose in self.purposes:
            return True
        if self.keywords and text:
            for kw in self.keywords:
                if kw in text:
                    return True
        return False


def _any(matchers: tuple, e: ExpenseFacts, text: str) -> bool:
    for m in matchers:
        if m(e, text):
            return True
    return False


# --------------------------------------------------------------------------------- param compiling

class ParamReader:
    """Reads one rule's ``params`` with clear errors; checks codes against the policy vocabulary."""

    def __init__(self, rule_id: str, params: Mapping, vocab: Mapping[str, frozenset]):
        if not isinstance(params, Mapping):
            raise PolicyError(f"rule {rule_id}: params must be a mapping")
        self.rule_id, self.params, self.vocab = rule_id, params, vocab
        self.used: set[str] = set()

    def err(self, msg: str) -> PolicyError:
        return PolicyError(f"rule {self.rule_id}: {msg}")

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.params.get(key, default)

    def strs(self, key: str, vocab: str | None = None, required: bool = False, value=None) -> frozenset | None:
        raw = self.get(key) if value is None else value
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
            raise self.err(f"params.{key} must be a list of strings")
        out = []
        for v in raw:
            if not isinstance(v, str) or not v:
                raise self.err(f"params.{key} must be a list of non-empty strings, got {v!r}")
            out.append(v)
        if vocab is not None:
            known = self.vocab.get(vocab, frozenset())
            unknown = sorted(set(out) - known)
            if unknown:
                raise self.err(f"params.{key}: unknown {vocab} {unknown}; declare them in parameters.{vocab}")
        return frozenset(out)

    def keywords(self, key: str, value=None) -> tuple[str, ...] | None:
        raw = self.get(key) if value is None else value
        if raw is None:
            return None
        if not isinstance(raw, (list, tuple)) or not all(isinstance(k, str) and k.strip() for k in raw):
            raise self.err(f"params.{key} must be a list of non-empty strings")
        return tuple(dict.fromkeys(k.strip().lower() for k in raw))

    def decimal(self, key: str, required: bool = True, default: str | None = None, value=None) -> Decimal | None:
        raw = self.get(key, default) if value is None else value
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        return to_decimal(raw, f"rule {self.rule_id}: params.{key}")

    def choice(self, key: str, choices: Iterable[str], default: str | None = None) -> str:
        raw = self.get(key, default)
        choices = tuple(choices)
        if raw not in choices:
            raise self.err(f"params.{key} must be one of {list(choices)}, got {raw!r}")
        return raw

    def boolean(self, key: str, default: bool = False) -> bool:
        raw = self.get(key, default)
        if not isinstance(raw, bool):
            raise self.err(f"params.{key} must be true or false")
        return raw

    def text(self, key: str, required: bool = False) -> dict | None:
        raw = self.get(key)
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        if not isinstance(raw, Mapping) or not isinstance(raw.get("zh"), str) or not isinstance(raw.get("en"), str):
            raise self.err(f"params.{key} must have zh and en texts")
        if set(raw) != {"zh", "en"}:
            raise self.err(f"params.{key} has keys besides zh and en (quote a text that contains commas)")
        return {"zh": raw["zh"], "en": raw["en"]}

    def matchers(self, key: str, required: bool = False) -> tuple[_Match, ...] | None:
        raw = self.get(key)
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        specs = [raw] if isinstance(raw, Mapping) else raw
        if not isinstance(specs, (list, tuple)) or not specs:
            raise self.err(f"params.{key} must be a mapping or a non-empty list of mappings")
        out = []
        allowed = {"subjects", "purposes", "keywords", "payee_kinds", "payment_methods"}
        for spec in specs:
            if not isinstance(spec, Mapping) or not spec:
                raise self.err(f"params.{key}: each entry must be a non-empty mapping")
            extra = set(spec) - allowed
            if extra:
                raise self.err(f"params.{key}: unknown keys {sorted(extra)} (allowed {sorted(allowed)})")
            out.append(_Match(
                self.strs(f"{key}.subjects", "subjects", value=spec.get("subjects")) if "subjects" in spec else None,
                self.strs(f"{key}.purposes", "purpose_codes", value=spec.get("purposes")) if "purposes" in spec else None,
                self.keywords(f"{key}.keywords", value=spec.get("keywords")) if "keywords" in spec else None,
                self.strs(f"{key}.payee_kinds", "payee_kinds", value=spec.get("payee_kinds"))
                if "payee_kinds" in spec else None,
                self.strs(f"{key}.payment_methods", "payment_methods", value=spec.get("payment_methods"))
                if "payment_methods" in spec else None,
            ))
        return tuple(out)

    def finish(self) -> None:
        extra = sorted(set(self.params) - self.used)
        if extra:
            raise self.err(f"unknown params {extra}")


def to_decimal(raw: Any, where: str) -> Decimal:
    """Money and ratios are written as strings (or integers) in policy data, never floats."""
    if isinstance(raw, bool) or isinstance(raw, float):
        raise PolicyError(f"{where}: write numbers as strings (e.g. \"0.30\"), not {type(raw).__name__} {raw!r}")
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, (int, str)):
        try:
            d = Decimal(str(raw).strip())
        except InvalidOperation:
            raise PolicyError(f"{where}: {raw!r} is not a number") from None
        if not d.is_finite():
            raise PolicyError(f"{where}: {raw!r} is not a finite number")
        return d
    raise PolicyError(f"{where}: expected a number string, got {type(raw).__name__}")


def parse_tiers(raw: Any, where: str) -> tuple[tuple[Decimal | None, Decimal], ...]:
    """``[{up_to: "5000000", rate: "0.30"}, …, {up_to: null, rate: "0.20"}]`` → ((up_to, rate), …)."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise PolicyError(f"{where}: must be a non-empty list of {{up_to, rate}}")
    out: list[tuple[Decimal | None, Decimal]] = []
    last = ZERO
    for i, t in enumerate(raw):
        if isinstance(t, tuple) and len(t) == 2:
            up_to, rate = t
        elif isinstance(t, Mapping) and set(t) == {"up_to", "rate"}:
            up_to, rate = t["up_to"], t["rate"]
        else:
            raise PolicyError(f"{where}[{i}]: each tier is {{up_to, rate}}")
        up = None if up_to is None else to_decimal(up_to, f"{where}[{i}].up_to")
        r = to_decimal(rate, f"{where}[{i}].rate")
        if not ZERO <= r <= 1:
            raise PolicyError(f"{where}[{i}].rate must be between 0 and 1, got {r}")
        if up is None and i != len(raw) - 1:
            raise PolicyError(f"{where}[{i}]: only the last tier may be open-ended (up_to: null)")
        if up is not None and up <= last:
            raise PolicyError(f"{where}[{i}].up_to must increase, got {up} after {last}")
        if up is not None:
            last = up
        out.append((up, r))
    if out[-1][0] is not None:
        raise PolicyError(f"{where}: the last tier must be open-ended (up_to: null)")
    return tuple(out)


# ====================================================================================== rule kinds
# Each kind: compile(reader) -> params object; check(rule, e, g, ctx, policy, text) -> None | Finding | list.


# ---- forbidden_purpose (负面清单)
@dataclass(frozen=True, slots=True)
class _Forbidden:
    purposes: frozenset
    keywords: tuple
    payee_kinds: frozenset
    except_subjects: frozenset
    keyword_re: "re.Pattern | None" = None  # all keywords in one alternation: one C-level scan per expense


def _keyword_pattern(keywords: tuple) -> "re.Pattern | None":
    if not keywords:
        return None
    # longest first, so the reported keyword is the most specific one that matched
    return re.compile("|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)))


def _compile_forbidden(p: ParamReader) -> _Forbidden:
    keywords = p.keywords("keywords") or ()
    out = _Forbidden(p.strs("purposes", "purpose_codes") or frozenset(), keywords,
                     p.strs("payee_kinds", "payee_kinds") or frozenset(),
                     p.strs("except_subjects", "subjects") or frozenset(), _keyword_pattern(keywords))
    if not (out.purposes or out.keywords or out.payee_kinds):
        raise p.err("forbidden_purpose needs at least one of purposes, keywords, payee_kinds")
    return out


def _check_forbidden(rule: Rule, e: ExpenseFacts, g, ctx, policy, text: str):
    P: _Forbidden = rule.params
    how = None
    if e.purpose is not None and e.purpose in P.purposes:
        how = ("purpose", e.purpose, f"用途代码「{e.purpose}」", f"purpose code '{e.purpose}'")
    elif e.payee_kind is not None and e.payee_kind in P.payee_kinds:
        how = ("payee_kind", e.payee_kind, f"收款人类型「{e.payee_kind}」", f"payee kind '{e.payee_kind}'")
    elif text and P.keyword_re is not None:
        m = P.keyword_re.search(text)
        if m is not None:
            kw = m.group(0)
            how = ("keyword", kw, f"摘要含「{kw}」", f"description contains '{kw}'")
    if how is None:
        if e.purpose is None and not text:
            return _missing(rule, policy, "purpose", "用途代码与摘要均为空，无法对照负面清单",
                            "no purpose code and no description to check against the negative list")
        return None
    if e.subject in P.except_subjects:
        return None
    return _finding(rule, rule.severity,
                    f"负面清单「{rule.title_zh}」：{how[2]}，金额 {_yuan(e.amount)} 元，科研经费不得用于此项",
                    f"Negative list '{rule.title_en}': {how[3]}, amount {_yuan(e.amount)} yuan; research funds "
                    f"may not pay for this",
                    {"matched_by": how[0], "matched": how[1], "amount": str(e.amount)})


# ---- budget_availability (预算制 per subject; total for 包干制 and 经费预算+负面清单)
@dataclass(frozen=True, slots=True)
class _Availability:
    level: str
    over_with_approval: frozenset


def _compile_availability(p: ParamReader) -> _Availability:
    return _Availability(p.choice("level", ("subject", "total"), "subject"),
                         p.strs("over_with_approval_subjects", "subjects") or frozenset())


def _check_availability(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx, policy, text):
    if g.category == "post_subsidy":        # self-funded: no budget to exhaust
        return None
    P: _Availability = rule.params
    if P.level == "subject":
        if g.funding_mode != "budgeted":    # 包干制: no subject limits
            return None
        line = g.lines.get(e.subject)
        if line is None:                    # subject_not_in_budget judges this
            return None
        avail = line.available
        if e.amount <= avail:
            return None
        sev = "needs_approval" if e.subject in P.over_with_approval else rule.severity
        name = _subject_zh(policy, e.subject)
        tail_zh = "，可经预算调剂后审批" if sev == "needs_approval" else ""
        tail_en = "; may be approved after a budget adjustment" if sev == "needs_approval" else ""
        return _finding(rule, sev,
                        f"{name}可用余额 {_yuan(avail)} 元，不足以支付 {_yuan(e.amount)} 元{tail_zh}",
                        f"{e.subject} has {_yuan(avail)} yuan available, not enough for {_yuan(e.amount)} yuan"
                        f"{tail_en}",
                        {"subject": e.subject, "available": str(avail), "amount": str(e.amount),
                         "shortfall": str(e.amount - avail)})
    if g.lines:
        avail = sum((ln.available for ln in g.lines.values()), ZERO)
    else:
        avail = g.fiscal_amount - g.spent_total
    if e.amount <= avail:
        return None
    return _finding(rule, rule.severity,
                    f"项目经费可用余额合计 {_yuan(avail)} 元，不足以支付 {_yuan(e.amount)} 元（{rule.title_zh}）",
                    f"The grant has {_yuan(avail)} yuan available in total, not enough for {_yuan(e.amount)} yuan "
                    f"({rule.title_en})",
                    {"available_total": str(avail), "amount": str(e.amount), "shortfall": str(e.amount - avail)})


# ---- subject_not_in_budget
@dataclass(frozen=True, slots=True)
class _SubjectKnown:
    unknown_severity: str
    check_lines: bool   # False: only "is it a subject the policy knows" (经费预算+负面清单)


def _compile_subject(p: ParamReader) -> _SubjectKnown:
    return _SubjectKnown(p.choice("unknown_subject_severity", RULE_SEVERITIES, "reject"),
                         p.boolean("check_lines", True))


def _check_subject(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx, policy, text):
    s = e.subject
    if not s:
        return _missing(rule, policy, "subject")
    if s not in policy.subjects:
        known = "、".join(sorted(policy.subjects))
        return _finding(rule, rule.params.unknown_severity,
                        f"预算科目「{s}」不是本政策认可的科目（认可：{known}）",
                        f"Budget subject '{s}' is not a subject this policy knows (known: {', '.join(sorted(policy.subjects))})",
                        {"subject": s, "known_subjects": sorted(policy.subjects)})
    if not rule.params.check_lines or g.category == "post_subsidy" or g.funding_mode != "budgeted":
        return None
    if s in g.lines:
        return None
    return _finding(rule, rule.severity,
                    f"本项目预算中没有「{_subject_zh(policy, s)}」科目，支出 {_yuan(e.amount)} 元需预算调剂或审批",
                    f"The grant's budget has no '{s}' line; spending {_yuan(e.amount)} yuan needs an adjustment "
                    f"or approval",
                    {"subject": s, "budget_subjects": sorted(g.lines)})


# ---- grant_period
@dataclass(frozen=True, slots=True)
class _Period:
    allowed_statuses: frozenset


def _compile_period(p: ParamReader) -> _Period:
    statuses = p.strs("allowed_statuses", required=True)
    bad = sorted(statuses - GRANT_STATUSES)
    if bad:
        raise p.err(f"params.allowed_statuses: unknown grant statuses {bad}")
    return _Period(statuses)


def _check_period(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx, policy, text):
    out = []
    if g.status not in rule.params.allowed_statuses:
        out.append(_finding(rule, rule.severity,
                            f"项目状态为「{g.status}」，不是执行中，不能列支",
                            f"The grant is '{g.status}', not active; no spending may be charged to it",
                            {"grant_status": g.status, "allowed_statuses": sorted(rule.params.allowed_statuses)}))
    d = e.expense_date
    if d is None:
        out.append(_missing(rule, policy, "expense_date"))
    elif d < g.start_date or d > g.end_date:
        out.append(_finding(rule, rule.severity,
                            f"支出日期 {d.isoformat()} 不在项目执行期 {g.start_date.isoformat()} 至 "
                            f"{g.end_date.isoformat()} 内",
                            f"Expense date {d.isoformat()} is outside the grant period {g.start_date.isoformat()} "
                            f"to {g.end_date.isoformat()}",
                            {"expense_date": d.isoformat(), "start_date": g.start_date.isoformat(),
                             "end_date": g.end_date.isoformat()}))
    return out or None


# ---- amount_threshold (SEED-INSTRUMENT-30W, equipment ≥ 500k justification)
@dataclass(frozen=True, slots=True)
class _Threshold:
    subjects: frozenset | None
    value_field: str
    at_least: Decimal
    require_true: str | None
    requirement: dict
    exempt_fund_sources: frozenset


def _compile_threshold(p: ParamReader) -> _Threshold:
    req = p.get("require_true")
    if req is not None and req not in ("platform_registered", "invoice_verified"):
        raise p.err("params.require_true must be a boolean expense field (platform_registered, invoice_verified)")
    return _Threshold(p.strs("subjects", "subjects"), p.choice("value_field", ("unit_value", "amount"), "unit_value"),
                      p.decimal("at_least"), req, p.text("requirement", required=True),
                      p.strs("exempt_expense_fund_sources", "fund_sources") or frozenset())


def _check_threshold(rule: Rule, e: ExpenseFacts, g, ctx, policy, text):
    P: _Threshold = rule.params
    if P.subjects is not None and e.subject not in P.subjects:
        return None
    if e.fund_source is not None and e.fund_source in P.exempt_fund_sources:
        return None
    v = getattr(e, P.value_field)
    if v is None:
        return _missing(rule, policy, P.value_field, f"需判断是否达到 {_yuan(P.at_least)} 元",
                        f"needed to tell whether it reaches {_yuan(P.at_least)} yuan")
    if v < P.at_least:
        return None
    figures = {P.value_field: str(v), "threshold": str(P.at_least)}
    head_zh = f"{FIELD_ZH[P.value_field]} {_yuan(v)} 元 ≥ {_yuan(P.at_least)} 元"
    head_en = f"{P.value_field} {_yuan(v)} yuan ≥ {_yuan(P.at_least)} yuan"
    if P.require_true:
        flag = getattr(e, P.require_true)
        figures[P.require_true] = flag
        if flag is True:
            return None
        if flag is None:
            f = _missing(rule, policy, P.require_true, f"{head_zh}，{P.requirement['zh']}",
                         f"{head_en}; {P.requirement['en']}")
            return replace(f, figures={**f.figures, **figures})
        return _finding(rule, rule.severity, f"{head_zh}：{P.requirement['zh']}（尚未满足）",
                        f"{head_en}: {P.requirement['en']} (not done)", figures)
    return _finding(rule, rule.severity, f"{head_zh}：{P.requirement['zh']}", f"{head_en}: {P.requirement['en']}",
                    figures)


# ---- payment_method (公务卡; expert fees by bank transfer)
@dataclass(frozen=True, slots=True)
class _Payment:
    applies: tuple | None
    allowed: frozenset
    exceptions: tuple | None


def _compile_payment(p: ParamReader) -> _Payment:
    return _Payment(p.matchers("applies_to"), p.strs("allowed_methods", "payment_methods", required=True),
                    p.matchers("exceptions"))


def _check_payment(rule: Rule, e: ExpenseFacts, g, ctx, policy, text):
    P: _Payment = rule.params
    if P.applies is not None and not _any(P.applies, e, text):
        return None
    pm = e.payment_method
    if pm is None:
        return _missing(rule, policy, "payment_method")
    if pm in P.allowed:
        return None
    if P.exceptions is not None and _any(P.exceptions, e, text):
        return None
    allowed = ", ".join(sorted(P.allowed))
    return _finding(rule, rule.severity,
                    f"{rule.title_zh}：支付方式「{pm}」不符合规定（应为 {allowed}），金额 {_yuan(e.amount)} 元",
                    f"{rule.title_en}: payment method '{pm}' is not allowed here (use {allowed}); "
                    f"amount {_yuan(e.amount)} yuan",
                    {"payment_method": pm, "allowed_methods": sorted(P.allowed), "amount": str(e.amount)})


# ---- duplicate_invoice (NEG-FAKE: same invoice twice)
def _compile_none(p: ParamReader) -> None:
    return None


def _check_duplicate(rule: Rule, e: ExpenseFacts, g, ctx: Context, policy, text):
    other, row = ctx.duplicate_invoice_of, ctx.duplicate_invoice_row
    if other is not None:
        return _finding(rule, rule.severity,
                        f"发票 {e.invoice_no} 已在支出 #{other} 中报销，重复报销",
                        f"Invoice {e.invoice_no} was already claimed by expense #{other}: duplicate reimbursement",
                        {"invoice_no": e.invoice_no, "duplicate_of": other})
    if ctx.duplicate_invoice_elsewhere:
        # claimed by another institution's expense: say so without naming a record the caller may not see
        return _finding(rule, rule.severity,
                        f"发票 {e.invoice_no} 已在别处报销，重复报销",
                        f"Invoice {e.invoice_no} was already claimed elsewhere: duplicate reimbursement",
                        {"invoice_no": e.invoice_no, "duplicate_elsewhere": True})
    if row is not None:
        return _finding(rule, rule.severity,
                        f"发票 {e.invoice_no} 已在本次导入第 {row} 行报销，重复报销",
                        f"Invoice {e.invoice_no} was already claimed on row {row} of this import: duplicate "
                        f"reimbursement", {"invoice_no": e.invoice_no, "duplicate_of_row": row})
    return None


# ---- invoice_verification
@dataclass(frozen=True, slots=True)
class _Invoice:
    exempt: tuple | None


def _compile_invoice(p: ParamReader) -> _Invoice:
    return _Invoice(p.matchers("exempt"))


def _check_invoice(rule: Rule, e: ExpenseFacts, g, ctx, policy, text):
    P: _Invoice = rule.params
    if P.exempt is not None and _any(P.exempt, e, text):
        return None
    if not e.invoice_no:
        return _missing(rule, policy, "invoice_no")
    if e.invoice_verified is None:
        return _missing(rule, policy, "invoice_verified")
    if e.invoice_verified:
        return None
    return _finding(rule, rule.severity,
                    f"发票 {e.invoice_no} 未通过税务查验，不得报销",
                    f"Invoice {e.invoice_no} failed tax verification; it may not be reimbursed",
                    {"invoice_no": e.invoice_no, "invoice_verified": False})


# ---- related_party (劳务费 / 专家咨询费 / civil servants / related parties)
@dataclass(frozen=True, slots=True)
class _Related:
    applies: tuple | None
    payee_kinds: frozenset | None
    names_in: str | None
    name_match_severity: str


def _compile_related(p: ParamReader) -> _Related:
    names_in = p.get("names_in")
    if names_in not in (None, "project_members", "salaried_staff"):
        raise p.err("params.names_in must be project_members or salaried_staff")
    out = _Related(p.matchers("applies_to"), p.strs("payee_kinds", "payee_kinds"), names_in,
                   p.choice("name_match_severity", RULE_SEVERITIES, "needs_approval"))
    if out.payee_kinds is None and names_in is None:
        raise p.err("related_party needs payee_kinds or names_in")
    return out


def _check_related(rule: Rule, e: ExpenseFacts, g, ctx: Context, policy, text):
    P: _Related = rule.params
    if P.applies is not None and not _any(P.applies, e, text):
        return None
    if P.payee_kinds is not None:
        pk = e.payee_kind
        if pk is None:
            return _missing(rule, policy, "payee_kind")
        if pk in P.payee_kinds:
            return _finding(rule, rule.severity,
                            f"{rule.title_zh}：收款人「{e.payee_name or '?'}」类型为「{pk}」，金额 {_yuan(e.amount)} 元",
                            f"{rule.title_en}: payee '{e.payee_name or '?'}' is of kind '{pk}'; "
                            f"amount {_yuan(e.amount)} yuan",
                            {"payee_kind": pk, "payee_name": e.payee_name, "amount": str(e.amount)})
    if P.names_in is not None:
        name = (e.payee_name or "").strip()
        if not name:
            return _missing(rule, policy, "payee_name")
        names = ctx.project_member_names if P.names_in == "project_members" else ctx.salaried_staff_names
        if name in names:
            who_zh = "本项目成员" if P.names_in == "project_members" else "依托单位在编（领薪）人员"
            who_en = "a member of this project" if P.names_in == "project_members" else \
                "salaried staff of the host institution"
            return _finding(rule, P.name_match_severity,
                            f"{rule.title_zh}：收款人「{name}」与{who_zh}同名，金额 {_yuan(e.amount)} 元，需核实",
                            f"{rule.title_en}: payee '{name}' has the name of {who_en}; amount "
                            f"{_yuan(e.amount)} yuan; check before paying",
                            {"payee_name": name, "matched_list": P.names_in, "amount": str(e.amount)})
    return None


# ---- expert_fee_rate (财科教〔2017〕128号)
@dataclass(frozen=True, slots=True)
class _ExpertRate:
    applies: tuple
    correspondence: frozenset
    top: Mapping            # title class -> top daily rate (academician already uplifted)
    classes: tuple          # ((class, keywords, except_keywords), ...) in order
    default_class: str
    half_day_ratio: Decimal
    full_rate_days: int
    later_day_ratio: Decimal
    correspondence_ratio: Decimal


def _compile_expert_rate(p: ParamReader) -> _ExpertRate:
    rates = p.get("daily_rates")
    if not isinstance(rates, Mapping) or not rates:
        raise p.err("params.daily_rates must map title classes to {min, max}")
    top = {}
    for cls, r in rates.items():
        if not isinstance(r, Mapping) or "max" not in r:
            raise p.err(f"params.daily_rates.{cls} needs max (and min)")
        top[cls] = p.decimal("", value=r["max"])
        if "min" in r and p.decimal("", value=r["min"]) > top[cls]:
            raise p.err(f"params.daily_rates.{cls}: min above max")
    uplift = p.get("uplift")
    if uplift is not None:
        if not isinstance(uplift, Mapping) or set(uplift) != {"class", "base", "ratio"}:
            raise p.err("params.uplift is {class, base, ratio}")
        if uplift["base"] not in top:
            raise p.err(f"params.uplift.base {uplift['base']!r} is not a daily_rates class")
        top[uplift["class"]] = (top[uplift["base"]] * (1 + p.decimal("", value=uplift["ratio"]))).quantize(CENT)
    classes = []
    for c in p.get("title_classes") or ():
        if not isinstance(c, Mapping) or c.get("class") not in top:
            raise p.err("params.title_classes entries are {class, keywords, except_keywords} of a known class")
        classes.append((c["class"], p.keywords("title_classes.keywords", value=c.get("keywords")) or (),
                        p.keywords("title_classes.except_keywords", value=c.get("except_keywords")) or ()))
    default = p.get("default_class")
    if default not in top:
        raise p.err("params.default_class must be a daily_rates class")
    days = p.get("full_rate_days", 2)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise p.err("params.full_rate_days must be a whole number")
    return _ExpertRate(p.matchers("applies_to", required=True),
                       p.strs("correspondence_purposes", "purpose_codes") or frozenset(), top, tuple(classes),
                       default, p.decimal("half_day_ratio"), days, p.decimal("later_day_ratio"),
                       p.decimal("correspondence_max_ratio"))


def _title_class(P: _ExpertRate, title: str) -> str:
    t = title.strip().lower()
    if t in P.top:
        return t
    for cls, kws, excepts in P.classes:
        if any(k in t for k in kws) and not any(x in t for x in excepts):
            return cls
    return P.default_class


def expert_fee_cap(rate: Decimal, days: Decimal, P: _ExpertRate) -> Decimal:
    """Cap for one person: full rate for the first ``full_rate_days`` days, ``later_day_ratio`` after;
    a trailing half day (fraction ≤ 0.5) at ``half_day_ratio`` of that day's rate."""
    whole = int(days)
    frac = days - whole
    full = min(whole, P.full_rate_days)
    cap = rate * full + rate * P.later_day_ratio * (whole - full)
    if frac > 0:
        day_rate = rate if whole < P.full_rate_days else rate * P.later_day_ratio
        cap += day_rate * (P.half_day_ratio if frac <= Decimal("0.5") else 1)
    return cap.quantize(CENT, ROUND_DOWN)


def _check_expert_rate(rule: Rule, e: ExpenseFacts, g, ctx, policy, text):
    P: _ExpertRate = rule.params
    if not _any(P.applies, e, text):
        return None
    title = e.expert_title
    if not title or not title.strip():
        return _missing(rule, policy, "expert_title", "按职称确定日标准", "the daily rate depends on the title")
    cls = _title_class(P, title)
    top = P.top[cls]
    persons = e.quantity if e.quantity and e.quantity > 0 else 1
    figures = {"expert_title": title, "title_class": cls, "top_daily_rate": str(top), "persons": persons}
    if e.purpose is not None and e.purpose in P.correspondence:
        cap = (top * P.correspondence_ratio * persons).quantize(CENT, ROUND_DOWN)
        basis_zh, basis_en = f"通讯咨询每次不超过日标准上限的 {P.correspondence_ratio:%}", \
            f"correspondence review at most {P.correspondence_ratio:%} of the top daily rate per occasion"
    else:
        days = e.expert_days
        if days is None or days <= 0:
            return _missing(rule, policy, "expert_days", "按人天计算上限", "the cap is per person-day")
        cap = expert_fee_cap(top, days, P) * persons
        figures["expert_days"] = str(days)
        basis_zh, basis_en = f"{days} 天", f"{days} day(s)"
    figures.update(cap=str(cap), amount=str(e.amount))
    if e.amount <= cap:
        return None
    return _finding(rule, rule.severity,
                    f"专家咨询费 {_yuan(e.amount)} 元超过标准上限 {_yuan(cap)} 元（{title}，{basis_zh}，"
                    f"{persons} 人，日标准上限 {_yuan(top)} 元）",
                    f"Expert fee {_yuan(e.amount)} yuan exceeds the cap of {_yuan(cap)} yuan ({title}, {basis_en}, "
                    f"{persons} person(s), top daily rate {_yuan(top)} yuan)", figures)


# ---- disbursed_funds (spend beyond the money actually paid out)
def _check_disbursed(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx, policy, text):
    if g.category == "post_subsidy":
        return None
    after = g.spent_total + e.amount
    if after <= g.disbursed:
        return None
    return _finding(rule, rule.severity,
                    f"已拨付 {_yuan(g.disbursed)} 元，已支出及预留 {_yuan(g.spent_total)} 元，本笔 {_yuan(e.amount)} 元"
                    f"将超出已拨付资金 {_yuan(after - g.disbursed)} 元",
                    f"Disbursed {_yuan(g.disbursed)} yuan, spent or reserved {_yuan(g.spent_total)} yuan; this "
                    f"{_yuan(e.amount)} yuan would exceed the money paid out by {_yuan(after - g.disbursed)} yuan",
                    {"disbursed": str(g.disbursed), "spent_total": str(g.spent_total), "amount": str(e.amount),
                     "excess": str(after - g.disbursed)})


# ---- equity_use_of_funds (拨改投: the agreed use-of-funds conditions)
@dataclass(frozen=True, slots=True)
class _Equity:
    require_conditions: bool
    over_max_severity: str


def _compile_equity(p: ParamReader) -> _Equity:
    return _Equity(p.boolean("require_conditions", True),
                   p.choice("over_max_severity", RULE_SEVERITIES, "needs_approval"))


def _check_equity(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx, policy, text):
    P: _Equity = rule.params
    cond = g.equity_conditions
    if cond is None:
        if P.require_conditions:
            return _missing(rule, policy, "equity_conditions", "拨改投项目须先约定资金使用条件",
                            "a grant-to-equity project must have agreed use-of-funds conditions")
        return None
    out = []
    allowed = cond.get("allowed_subjects")
    if allowed and e.subject not in allowed:
        out.append(_finding(rule, rule.severity,
                            f"拨改投资金使用条件只允许 {'、'.join(allowed)}，不含「{_subject_zh(policy, e.subject)}」",
                            f"The grant-to-equity conditions allow only {', '.join(allowed)}, not '{e.subject}'",
                            {"subject": e.subject, "allowed_subjects": list(allowed)}))
    forbidden = cond.get("forbidden_purposes")
    if forbidden and e.purpose in forbidden:
        out.append(_finding(rule, rule.severity,
                            f"拨改投资金使用条件禁止用途「{e.purpose}」",
                            f"The grant-to-equity conditions forbid purpose '{e.purpose}'",
                            {"purpose": e.purpose, "forbidden_purposes": list(forbidden)}))
    kws = cond.get("forbidden_keywords")
    if kws and text:
        hit = next((k for k in kws if k.lower() in text), None)
        if hit:
            out.append(_finding(rule, rule.severity, f"拨改投资金使用条件禁止的事项：摘要含「{hit}」",
                                f"The grant-to-equity conditions forbid this: description contains '{hit}'",
                                {"keyword": hit}))
    mx = cond.get("max_single_amount")
    if mx is not None:
        mx_d = to_decimal(mx, "equity_conditions.max_single_amount")
        if e.amount > mx_d:
            out.append(_finding(rule, P.over_max_severity,
                                f"单笔 {_yuan(e.amount)} 元超过拨改投约定的单笔上限 {_yuan(mx_d)} 元",
                                f"{_yuan(e.amount)} yuan exceeds the agreed single-payment limit of {_yuan(mx_d)} yuan",
                                {"amount": str(e.amount), "max_single_amount": str(mx_d)}))
    return out or None


# ---- subsidy_eligibility (先立项后补助): applied by judge after the other rules
@dataclass(frozen=True, slots=True)
class _Subsidy:
    cap_severity: str


def _compile_subsidy(p: ParamReader) -> _Subsidy:
    return _Subsidy(p.choice("cap_severity", ("warn", "needs_approval", "reject"), "warn"))


# ---- budget-setting kinds (check_budget)
@dataclass(frozen=True, slots=True)
class _NoIndirect:
    fund_sources: frozenset


def _compile_no_indirect(p: ParamReader) -> _NoIndirect:
    return _NoIndirect(p.strs("fund_sources", "fund_sources", required=True))


@dataclass(frozen=True, slots=True)
class _IndirectCap:
    pure_theory_param: str


def _compile_indirect_cap(p: ParamReader) -> _IndirectCap:
    return _IndirectCap(p.get("pure_theory_tiers_param", "indirect_tiers_pure_theory"))


# ---- budget_adjustment (预算调剂 approver matrix)
@dataclass(frozen=True, slots=True)
class _Adjust:
    from_subjects: frozenset | None
    to_subjects: frozenset | None
    approver: str
    fallback: bool


def _compile_adjust(p: ParamReader) -> _Adjust:
    return _Adjust(p.strs("from", "subjects"), p.strs("to", "subjects"),
                   p.choice("approver", tuple(APPROVER_ORDER)), p.boolean("fallback", False))


@dataclass(frozen=True)
class KindSpec:
    name: str
    target: str  # expense | budget | adjustment | subsidy
    compile: Callable[[ParamReader], Any]
    check: Callable | None = None


KINDS: dict[str, KindSpec] = {k.name: k for k in (
    KindSpec("forbidden_purpose", "expense", _compile_forbidden, _check_forbidden),
    KindSpec("budget_availability", "expense", _compile_availability, _check_availability),
    KindSpec("subject_not_in_budget", "expense", _compile_subject, _check_subject),
    KindSpec("grant_period", "expense", _compile_period, _check_period),
    KindSpec("amount_threshold", "expense", _compile_threshold, _check_threshold),
    KindSpec("payment_method", "expense", _compile_payment, _check_payment),
    KindSpec("duplicate_invoice", "expense", _compile_none, _check_duplicate),
    KindSpec("invoice_verification", "expense", _compile_invoice, _check_invoice),
    KindSpec("related_party", "expense", _compile_related, _check_related),
    KindSpec("expert_fee_rate", "expense", _compile_expert_rate, _check_expert_rate),
    KindSpec("disbursed_funds", "expense", _compile_none, _check_disbursed),
    KindSpec("equity_use_of_funds", "expense", _compile_equity, _check_equity),
    KindSpec("subsidy_eligibility", "subsidy", _compile_subsidy),
    KindSpec("budget_total", "budget", _compile_none),
    KindSpec("budget_subjects", "budget", _compile_none),
    KindSpec("indirect_cap", "budget", _compile_indirect_cap),
    KindSpec("no_indirect_fund_source", "budget", _compile_no_indirect),
    KindSpec("budget_adjustment", "adjustment", _compile_adjust),
)}


# ========================================================================================= judge

def judge(expense: ExpenseFacts, grant: GrantFacts, ctx: Context, policy: "Policy") -> Judgement:
    """The verdict on one expense: every expense rule in scope and in force, worst severity wins."""
    desc = expense.description
    text = desc.strip().lower() if desc else ""
    on = expense.expense_date
    findings: list[Finding] = []
    for rule in policy.expense_rules_for(grant):
        if rule.dated and on is not None and not rule.in_force(on):
            continue
        r = rule.check(rule, expense, grant, ctx, policy, text)
        if r is None:
            continue
        if type(r) is Finding:
            findings.append(r)
        else:
            findings.extend(r)

    subsidy_eligible = None
    if grant.category == "post_subsidy":
        findings, subsidy_eligible = _post_subsidy(findings, expense, grant, policy)
    elif not findings:
        return Judgement("allow", (), None)

    if len(findings) > 1:
        findings = _merge_missing(findings)
    worst = "allow"
    rank = 0
    for f in findings:
        r = SEVERITY_ORDER[f.severity]
        if r > rank:
            worst, rank = f.severity, r
    return Judgement(worst, tuple(findings), subsidy_eligible)


def _post_subsidy(findings: list[Finding], e: ExpenseFacts, g: GrantFacts, policy: "Policy"):
    """先立项后补助: the institution spends its own money, so a negative-list hit does not block the payment
    (capped at the subsidy rule's ``cap_severity``), but the spend is excluded from the subsidy base. A
    negative-list rule that could not be judged (missing field) also excludes it until the data is there."""
    neg = policy.negative_list_ids
    neg_findings = [f for f in findings if f.rule_id in neg]
    if not neg_findings:
        return findings, True
    rules = [r for r in policy.subsidy_rules if r.applies_to(g) and (e.expense_date is None or r.in_force(e.expense_date))]
    if not rules:
        return findings, False
    rule = rules[0]
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
        zh = (f"先立项后补助：本笔支出 {_yuan(e.amount)} 元触及负面清单（{'、'.join(ids)}），不阻止支付，"
              f"但不计入补助基数")
        en = (f"Post-subsidy grant: this {_yuan(e.amount)} yuan hits the negative list ({', '.join(ids)}); the "
              f"payment is not blocked but it is excluded from the subsidy base")
    else:
        zh = (f"先立项后补助：本笔支出 {_yuan(e.amount)} 元缺少负面清单判定所需信息（{'、'.join(ids)}），"
              f"在补齐前不计入补助基数")
        en = (f"Post-subsidy grant: this {_yuan(e.amount)} yuan lacks the data the negative list needs "
              f"({', '.join(ids)}); excluded from the subsidy base until it is supplied")
    out.append(_finding(rule, rule.severity, zh, en,
                        {"excluded_amount": str(e.amount), "negative_list_rules": ids}))
    return out, False


def _merge_missing(findings: list[Finding]) -> list[Finding]:
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


# ================================================================================ budget setting

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


def check_budget(lines: Mapping[str, Decimal], fiscal_amount: Decimal, grant, policy: "Policy",
                 on_date: date | None = None) -> list[Finding]:
    """Budget-setting checks (编制预算): known subjects, sum equals the fiscal amount, indirect within the
    tiered cap of (direct − equipment), no indirect for fund sources that allow none."""
    findings: list[Finding] = []
    st = policy.structure
    lines = {getattr(k, "value", k): v for k, v in lines.items()}
    total = sum(lines.values(), ZERO)
    indirect = lines.get(st["indirect"], ZERO)
    for rule in policy.budget_rules:
        if not rule.applies_to(grant) or (on_date is not None and not rule.in_force(on_date)):
            continue
        kind = rule.kind
        if kind == "budget_total":
            if total != fiscal_amount:
                findings.append(_finding(
                    rule, rule.severity,
                    f"预算合计 {_yuan(total)} 元与财政资金 {_yuan(fiscal_amount)} 元不一致（差 {_yuan(total - fiscal_amount)} 元）",
                    f"Budget lines total {_yuan(total)} yuan but the fiscal amount is {_yuan(fiscal_amount)} yuan "
                    f"(difference {_yuan(total - fiscal_amount)})",
                    {"lines_total": str(total), "fiscal_amount": str(fiscal_amount),
                     "difference": str(total - fiscal_amount)}))
        elif kind == "budget_subjects":
            findings.extend(_budget_subject_findings(rule, lines, grant, policy))
        elif kind == "indirect_cap":
            base = sum((lines.get(s, ZERO) for s in st["direct"]), ZERO) - lines.get(st["equipment"], ZERO)
            pure = bool(getattr(grant, "pure_theory", False))
            tiers = policy.tiers(rule.params.pure_theory_param) if pure else policy.indirect_tiers
            cap = indirect_cap(base, tiers)
            if indirect > cap:
                rates = "/".join(f"{r * 100:g}%" for _, r in tiers)
                findings.append(_finding(
                    rule, rule.severity,
                    f"间接费用 {_yuan(indirect)} 元超过上限 {_yuan(cap)} 元（直接费用扣除设备费后 {_yuan(base)} 元，"
                    f"分段比例 {rates}{'，纯理论基础研究' if pure else ''}）",
                    f"Indirect costs {_yuan(indirect)} yuan exceed the cap of {_yuan(cap)} yuan (direct costs less "
                    f"equipment {_yuan(base)} yuan, tiers {rates}{', pure theory' if pure else ''})",
                    {"indirect": str(indirect), "cap": str(cap), "base": str(base), "pure_theory": pure,
                     "tiers": [[None if u is None else str(u), str(r)] for u, r in tiers]}))
        elif kind == "no_indirect_fund_source":
            fs = _value(grant, "fund_source")
            if fs in rule.params.fund_sources and indirect > 0:
                findings.append(_finding(
                    rule, rule.severity,
                    f"资金来源「{fs}」不得列支间接费用，预算中间接费用为 {_yuan(indirect)} 元",
                    f"Fund source '{fs}' allows no indirect costs; the budget has {_yuan(indirect)} yuan",
                    {"fund_source": fs, "indirect": str(indirect)}))
    return findings


def _value(obj: Any, attr: str) -> Any:
    v = getattr(obj, attr, None)
    return getattr(v, "value", v)


def _budget_subject_findings(rule: Rule, lines: Mapping[str, Decimal], grant, policy: "Policy") -> list[Finding]:
    st = policy.structure
    mode = _value(grant, "funding_mode")
    if mode == "lump_sum":
        allowed = {st["lump_sum"]}
    else:
        allowed = set(st["direct"]) | {st["indirect"]}
    out = []
    for s, amt in lines.items():
        s = getattr(s, "value", s)
        if s not in allowed:
            out.append(_finding(rule, rule.severity,
                                f"预算科目「{s}」不适用于{'包干制' if mode == 'lump_sum' else '预算制'}项目"
                                f"（可用：{'、'.join(sorted(allowed))}）",
                                f"Budget subject '{s}' is not allowed for a {mode} grant (allowed: "
                                f"{', '.join(sorted(allowed))})", {"subject": s, "allowed": sorted(allowed)}))
        elif amt < 0:
            out.append(_finding(rule, rule.severity, f"预算科目「{s}」金额为负数 {_yuan(amt)} 元",
                                f"Budget subject '{s}' has a negative amount {_yuan(amt)} yuan",
                                {"subject": s, "amount": str(amt)}))
    return out


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
        P: _Adjust = rule.params
        if P.fallback:
            fallback = fallback or rule
            continue
        if P.from_subjects is not None and from_subject not in P.from_subjects:
            continue
        if P.to_subjects is not None and to_subject not in P.to_subjects:
            continue
        if best is None or APPROVER_ORDER[P.approver] > APPROVER_ORDER[best.params.approver]:
            best = rule
    if best is None:
        best = fallback
    if best is None:  # no adjustment rules at all: fail closed to the funder
        return "funder", "FAIL-CLOSED"
    return best.params.approver, best.id
