"""会议费: the cap of a meeting computed from class, attendees and days; size and length (kind ``meeting_cap``).

财行〔2016〕214号 第十五条: an all-in cap per person-day by class (lodging, meals and other costs are
interchangeable within it); 二类 ≤ 300 attendees (staff ≤ 15%), 三类 ≤ 150 (≤ 10%), 四类 ≤ 50; 二–四类 ≤ 2 days.
Research units may set their own academic-meeting standards (中办发〔2016〕50号): the severities are data.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Mapping

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import calculation, finding, missing, yuan
from compliance.rules.params import CENT, ParamReader, any_match
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class MeetingClass:
    per_person_day: Decimal
    split: Mapping            # lodging / meals / other, for the record
    max_attendees: int | None
    max_staff_share: Decimal | None
    max_days: int | None


@dataclass(frozen=True, slots=True)
class Meeting:
    applies: tuple
    classes: Mapping
    scale_severity: str


def compile_meeting(p: ParamReader) -> Meeting:
    raw = p.get("classes")
    if not isinstance(raw, Mapping) or not raw:
        raise p.err("params.classes must map meeting classes to {per_person_day, …}")
    unknown = sorted(set(raw) - p.vocab.get("meeting_classes", frozenset()))
    if unknown:
        raise p.err(f"params.classes: unknown meeting_classes {unknown}; declare them in parameters.meeting_classes")
    classes = {}
    for cls, c in raw.items():
        if not isinstance(c, Mapping) or "per_person_day" not in c:
            raise p.err(f"params.classes.{cls} needs per_person_day")
        extra = set(c) - {"per_person_day", "split", "max_attendees", "max_staff_share", "max_days"}
        if extra:
            raise p.err(f"params.classes.{cls}: unknown keys {sorted(extra)}")
        split = {k: p.decimal("", value=v) for k, v in (c.get("split") or {}).items()}
        per = p.decimal("", value=c["per_person_day"])
        if split and sum(split.values()) != per:
            raise p.err(f"params.classes.{cls}.split adds up to {sum(split.values())}, not {per}")
        for k in ("max_attendees", "max_days"):
            if c.get(k) is not None and (not isinstance(c[k], int) or isinstance(c[k], bool) or c[k] < 1):
                raise p.err(f"params.classes.{cls}.{k} must be a whole number ≥ 1")
        share = c.get("max_staff_share")
        classes[cls] = MeetingClass(per, split, c.get("max_attendees"),
                                    None if share is None else p.decimal("", value=share), c.get("max_days"))
    return Meeting(p.matchers("applies_to", required=True), classes,
                   p.choice("scale_severity", ("warn", "needs_approval", "reject"), "needs_approval"))


def check_meeting(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Meeting = rule.params
    if not any_match(P.applies, e, text):
        return None
    gaps = [missing(rule, policy, n, "会议费上限按类别、人数和天数计算", "the cap depends on class, attendees and days")
            for n in ("meeting_class", "attendees", "meeting_days") if getattr(e, n) is None]
    if gaps:
        return gaps
    c = P.classes.get(e.meeting_class)
    if c is None:
        return finding(rule, policy.fail_closed_severity,
                       f"{rule.title_zh}：会议类别「{e.meeting_class}」在政策中没有标准，需人工审批",
                       f"{rule.title_en}: the policy has no standard for meeting class '{e.meeting_class}'; "
                       f"needs approval", {"meeting_class": e.meeting_class})
    n, days = e.attendees, e.meeting_days
    cap = c.per_person_day * n * days
    figures = {"meeting_class": e.meeting_class, "per_person_day": str(c.per_person_day.quantize(CENT)),
               "split": {k: str(v.quantize(CENT)) for k, v in c.split.items()}, "attendees": n, "meeting_days": days,
               "cap": str(cap.quantize(CENT)), "amount": str(e.amount.quantize(CENT))}
    calc_zh = f"{e.meeting_class}：{yuan(c.per_person_day)} 元/人天 × {n} 人 × {days} 天 = {yuan(cap)} 元"
    calc_en = f"{e.meeting_class}: {yuan(c.per_person_day)} per person-day × {n} × {days} day(s) = {yuan(cap)} yuan"
    out = [calculation(rule, calc_zh, calc_en, figures)]
    if e.amount > cap:
        out.append(finding(rule, rule.severity,
                           f"{rule.title_zh}：会议费 {yuan(e.amount)} 元超过上限（{calc_zh}），超出 "
                           f"{yuan(e.amount - cap)} 元",
                           f"{rule.title_en}: {yuan(e.amount)} yuan exceeds the cap ({calc_en}) by "
                           f"{yuan(e.amount - cap)}", {**figures, "excess": str((e.amount - cap).quantize(CENT))}))
    if c.max_attendees is not None and n > c.max_attendees:
        out.append(finding(rule, P.scale_severity,
                           f"{rule.title_zh}：参会 {n} 人超过该类会议上限 {c.max_attendees} 人",
                           f"{rule.title_en}: {n} attendees exceed the class limit of {c.max_attendees}",
                           {**figures, "max_attendees": c.max_attendees}))
    if c.max_days is not None and days > c.max_days:
        out.append(finding(rule, P.scale_severity,
                           f"{rule.title_zh}：会期 {days} 天超过该类会议上限 {c.max_days} 天",
                           f"{rule.title_en}: {days} days exceed the class limit of {c.max_days}",
                           {**figures, "max_days": c.max_days}))
    if c.max_staff_share is not None and e.meeting_staff is not None and e.meeting_staff > n * c.max_staff_share:
        out.append(finding(rule, P.scale_severity,
                           f"{rule.title_zh}：工作人员 {e.meeting_staff} 人超过参会人数的 {c.max_staff_share:%}",
                           f"{rule.title_en}: {e.meeting_staff} staff exceed {c.max_staff_share:%} of the attendees",
                           {**figures, "meeting_staff": e.meeting_staff, "max_staff_share": str(c.max_staff_share)}))
    return out
