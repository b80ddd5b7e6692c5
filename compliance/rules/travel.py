"""差旅费: the allowance of a trip computed from city, traveller rank and nights (kind ``travel_allowance``).

财行〔2013〕531号 with the lodging caps of 财行〔2016〕71号: lodging by the hotel invoice up to the nightly cap
for the city × rank (peak-season caps in the listed months), no hotel invoice → no lodging (中办发〔2016〕50号),
meals per calendar day by destination (less the days the host provides meals), local transport per calendar
day, fares as ticketed. The check always returns the :class:`~compliance.rules.findings.Calculation`; a
claim above the computed allowance is a finding that shows the same calculation.

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Mapping

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import calculation, finding, missing, yuan
from compliance.rules.params import CENT, ZERO, ParamReader, any_match
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class Travel:
    applies: tuple
    caps: Mapping            # city -> rank -> nightly cap
    peaks: Mapping           # city -> ((months frozenset, rank -> cap), ...)
    meal: Decimal
    meal_by_city: Mapping    # city -> daily meal allowance
    local: Decimal
    unknown_city_severity: str


def _caps(p: ParamReader, raw, where: str) -> dict:
    if not isinstance(raw, Mapping) or not raw:
        raise p.err(f"params.{where} must map traveller ranks to nightly caps")
    unknown = sorted(set(raw) - p.vocab.get("traveller_ranks", frozenset()))
    if unknown:
        raise p.err(f"params.{where}: unknown traveller_ranks {unknown}; declare them in parameters.traveller_ranks")
    return {rank: p.decimal("", value=v) for rank, v in raw.items()}


def _city(p: ParamReader, city: str, where: str) -> None:
    if city not in p.vocab.get("cities", frozenset()):
        raise p.err(f"params.{where}: unknown city {city!r}; declare it in parameters.cities")


def compile_travel(p: ParamReader) -> Travel:
    caps, peaks, meal_by_city = {}, {}, {}
    for city, row in (p.get("lodging_caps") or {}).items():
        _city(p, city, "lodging_caps")
        caps[city] = _caps(p, row, f"lodging_caps.{city}")
    for city, seasons in (p.get("peak_seasons") or {}).items():
        _city(p, city, "peak_seasons")
        out = []
        for s in seasons if isinstance(seasons, list) else [seasons]:
            months = s.get("months") if isinstance(s, Mapping) else None
            if not isinstance(months, list) or not all(isinstance(m, int) and 1 <= m <= 12 for m in months):
                raise p.err(f"params.peak_seasons.{city}: each season is {{months: [1..12], caps: {{rank: cap}}}}")
            out.append((frozenset(months), _caps(p, s.get("caps"), f"peak_seasons.{city}.caps")))
        peaks[city] = tuple(out)
    for city, v in (p.get("meal_per_day_by_city") or {}).items():
        _city(p, city, "meal_per_day_by_city")
        meal_by_city[city] = p.decimal("", value=v)
    if not caps:
        raise p.err("params.lodging_caps is required")
    return Travel(p.matchers("applies_to", required=True), caps, peaks, p.decimal("meal_per_day"), meal_by_city,
                  p.decimal("local_transport_per_day"),
                  p.choice("unknown_city_severity", ("needs_approval", "reject"), "needs_approval"))


def city_code(policy: "Policy", raw: str | None) -> str | None:
    """A city code of the policy's ``cities`` vocabulary from its code or Chinese name ('鄂尔多斯', '鄂尔多斯市')."""
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    labels = policy.labels.get("cities", {})
    if raw.lower() in labels.get("__codes__", ()):
        return raw.lower()
    for name in (raw, raw.removesuffix("市"), raw + "市"):
        if name in labels:
            return labels[name]
    return None


def nightly_cap(P: Travel, city: str, rank: str, month: int) -> Decimal | None:
    for months, caps in P.peaks.get(city, ()):
        if month in months and rank in caps:
            return caps[rank]
    return P.caps.get(city, {}).get(rank)


def check_travel(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Travel = rule.params
    if not any_match(P.applies, e, text):
        return None
    gaps = []
    for name in ("trip_city", "traveller_rank", "travel_days"):
        if getattr(e, name) is None or getattr(e, name) == "":
            gaps.append(missing(rule, policy, name, "差旅补助按城市、级别和天数计算",
                                "the allowance depends on city, rank and days"))
    lodging = e.lodging_amount
    if e.hotel_invoice is not False:
        if lodging is not None and lodging > 0 and e.hotel_invoice is None:
            gaps.append(missing(rule, policy, "hotel_invoice", "无住宿发票不予报销住宿费", "no hotel invoice, no lodging"))
        if e.hotel_invoice is True and lodging is None:
            gaps.append(missing(rule, policy, "lodging_amount"))
        if lodging is not None and lodging > 0 and not e.nights:
            gaps.append(missing(rule, policy, "nights", "住宿费按每晚标准计算", "the lodging cap is per night"))
    if gaps:
        return gaps
    city = city_code(policy, e.trip_city)
    days = e.travel_days
    if city is None:
        return finding(rule, P.unknown_city_severity,
                       f"{rule.title_zh}：出差城市「{e.trip_city}」不在政策的城市表中，无法确定住宿标准，需人工审批",
                       f"{rule.title_en}: city '{e.trip_city}' is not in the policy's city table; the lodging cap "
                       f"is unknown; needs approval", {"trip_city": e.trip_city})
    month = e.expense_date.month
    nights = e.nights or 0
    with_lodging = e.hotel_invoice is True and lodging is not None and lodging > 0
    cap = nightly_cap(P, city, e.traveller_rank, month) if with_lodging else None
    if with_lodging and cap is None:
        return finding(rule, P.unknown_city_severity,
                       f"{rule.title_zh}：政策未列出{_zh(policy, 'cities', city)}对「{e.traveller_rank}」的住宿标准"
                       f"（待核实），需人工审批",
                       f"{rule.title_en}: the policy states no lodging cap for {city} and rank {e.traveller_rank} "
                       f"(unconfirmed); needs approval", {"trip_city": city, "traveller_rank": e.traveller_rank})
    lodging_cap = cap * nights if with_lodging else ZERO
    lodging_allowed = min(lodging, lodging_cap) if with_lodging else ZERO
    meal_rate = P.meal_by_city.get(city, P.meal)
    meal_days = max(days - (e.meals_provided_days or 0), 0)
    meals = meal_rate * meal_days
    local = P.local * days
    fares = e.fare_amount or ZERO
    allowance = fares + lodging_allowed + meals + local
    figures = {"trip_city": city, "traveller_rank": e.traveller_rank, "nights": nights, "travel_days": days,
               "nightly_cap": _m(cap) if cap is not None else None, "lodging_invoice": _m(lodging or ZERO),
               "lodging_cap": _m(lodging_cap), "lodging_allowed": _m(lodging_allowed),
               "meal_per_day": _m(meal_rate), "meal_days": meal_days, "meals": _m(meals),
               "local_transport_per_day": _m(P.local), "local_transport": _m(local), "fares": _m(fares),
               "allowance": _m(allowance), "amount": _m(e.amount)}
    cname = _zh(policy, "cities", city)
    if with_lodging:
        lz = f"住宿 min(发票 {yuan(lodging)}, {yuan(cap)}×{nights} 晚) = {yuan(lodging_allowed)}"
        le = f"lodging min(invoice {yuan(lodging)}, {yuan(cap)}×{nights} nights) = {yuan(lodging_allowed)}"
    elif e.hotel_invoice is False:
        lz, le = "无住宿发票，住宿费 0", "no hotel invoice, lodging 0"
    else:
        lz, le = "无住宿", "no lodging"
    calc_zh = (f"{cname}（{e.traveller_rank}）{days} 天：城市间交通 {yuan(fares)} + {lz} + 伙食补助 {yuan(meal_rate)}×"
               f"{meal_days} 天 = {yuan(meals)} + 市内交通 {yuan(P.local)}×{days} 天 = {yuan(local)}，"
               f"合计可报销 {yuan(allowance)} 元")
    calc_en = (f"{city} ({e.traveller_rank}), {days} day(s): fares {yuan(fares)} + {le} + meals {yuan(meal_rate)}×"
               f"{meal_days} = {yuan(meals)} + local transport {yuan(P.local)}×{days} = {yuan(local)}; "
               f"allowance {yuan(allowance)} yuan")
    out = [calculation(rule, calc_zh, calc_en, figures)]
    if e.amount > allowance:
        over = e.amount - allowance
        out.append(finding(rule, rule.severity,
                           f"{rule.title_zh}：报销 {yuan(e.amount)} 元超过按标准计算的 {yuan(allowance)} 元"
                           f"（超出 {yuan(over)} 元由个人负担）。{calc_zh}",
                           f"{rule.title_en}: the claim of {yuan(e.amount)} yuan exceeds the allowance of "
                           f"{yuan(allowance)} yuan (the traveller bears {yuan(over)}). {calc_en}",
                           {**figures, "excess": _m(over)}))
    return out


def _m(d: Decimal) -> str:
    """Money in figures: always two decimals, so the API and the tests read the same string."""
    return str(d.quantize(CENT))


def _zh(policy: "Policy", vocab: str, code: str) -> str:
    return (policy.parameters.get(vocab) or {}).get(code, {}).get("zh", code)
