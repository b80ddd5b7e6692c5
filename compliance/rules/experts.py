"""专家咨询费: expert fees within the daily rates of 财科教〔2017〕128号 (kind ``expert_fee_rate``).

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list,
with ``text`` the normalised description (:func:`compliance.text.normalise`); every compile is ``compile(ParamReader)`` → typed params.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Mapping

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, missing, yuan
from compliance.rules.labour import net_amount
from compliance.rules.params import CENT, ParamReader, any_match
from compliance.rules.rule import Rule
from compliance.text import normalise

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


# ---- expert_fee_rate (财科教〔2017〕128号)
@dataclass(frozen=True, slots=True)
class ExpertRate:
    applies: tuple
    correspondence: frozenset
    top: Mapping            # title class -> top daily rate (academician already uplifted)
    classes: tuple          # ((class, keywords, except_keywords), ...) in order
    default_class: str
    half_day_ratio: Decimal
    full_rate_days: int
    later_day_ratio: Decimal
    correspondence_ratio: Decimal


def compile_expert_rate(p: ParamReader) -> ExpertRate:
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
    return ExpertRate(p.matchers("applies_to", required=True),
                      p.strs("correspondence_purposes", "purpose_codes") or frozenset(), top, tuple(classes),
                      default, p.decimal("half_day_ratio"), days, p.decimal("later_day_ratio"),
                      p.decimal("correspondence_max_ratio"))


def title_class(P: ExpertRate, title: str) -> str:
    t = normalise(title)   # as the keywords are
    if t in P.top:
        return t
    for cls, kws, excepts in P.classes:
        if any(k in t for k in kws) and not any(x in t for x in excepts):
            return cls
    return P.default_class


def expert_fee_cap(rate: Decimal, days: Decimal, P: ExpertRate) -> Decimal:
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


def check_expert_rate(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: ExpertRate = rule.params
    if not any_match(P.applies, e, text):
        return None
    title = e.expert_title
    if not title or not title.strip():
        return missing(rule, policy, "expert_title", "按职称确定日标准", "the daily rate depends on the title")
    cls = title_class(P, title)
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
            return missing(rule, policy, "expert_days", "按人天计算上限", "the cap is per person-day")
        cap = expert_fee_cap(top, days, P) * persons
        figures["expert_days"] = str(days)
        basis_zh, basis_en = f"{days} 天", f"{days} day(s)"
    amount = e.amount
    if e.fee_basis == "gross":   # the rates are after tax: compare the net amount (kind fee_basis computes it)
        amount = net_amount(policy, e)
        figures.update(gross=str(e.amount), net=str(amount))
    figures.update(cap=str(cap), amount=str(e.amount))
    if amount <= cap:
        return None
    return finding(rule, rule.severity,
                   f"专家咨询费 {yuan(amount)} 元超过标准上限 {yuan(cap)} 元（{title}，{basis_zh}，"
                   f"{persons} 人，日标准上限 {yuan(top)} 元）",
                   f"Expert fee {yuan(amount)} yuan exceeds the cap of {yuan(cap)} yuan ({title}, {basis_en}, "
                   f"{persons} person(s), top daily rate {yuan(top)} yuan)", figures)

