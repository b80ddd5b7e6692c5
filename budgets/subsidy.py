"""先立项后补助: assess the subsidy from the eligible self-funded spend after acceptance, then pay it."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import case, func, select

from budgets.models import Expense, ExpenseStatus
from grants import ledger
from grants.db import CENT, now, today, unit_of_work
from compliance.programmes import programmes
from grants.errors import Conflict, GateClosed, Invalid, NotFound
from grants.extensions import db
from grants.models import (Category, Grant, GrantStatus, GrantTransition, Institution, SubsidyAssessment,
                           SubsidyTerms, User)
from grants.access import require_bureau
from grants.registry import get_grant

S = GrantStatus


# Packages above budgets may close the subsidy (e.g. evaluations: a failed final acceptance): why not, or None.
_subsidy_gates: list = []


def register_subsidy_gate(gate) -> None:
    if gate not in _subsidy_gates:
        _subsidy_gates.append(gate)


def _check_subsidy_gates(grant: Grant) -> None:
    for gate in _subsidy_gates:
        why = gate(grant)
        if why:
            raise GateClosed(why)


def eligible_spend(grant_id: int, until: date | None = None) -> tuple[Decimal, Decimal]:
    """(eligible, ineligible) self-funded spend posted on a post_subsidy grant (dated on or before ``until``,
    the acceptance date, when given: what was spent after 验收 is not the accepted project's spend)."""
    stmt = select(
        func.coalesce(func.sum(case((Expense.subsidy_eligible.is_(True), Expense.amount), else_=0)), 0),
        func.coalesce(func.sum(case((Expense.subsidy_eligible.is_not(True), Expense.amount), else_=0)), 0),
    ).where(Expense.grant_id == grant_id, Expense.status == ExpenseStatus.POSTED)
    if until is not None:
        stmt = stmt.where(Expense.expense_date <= until)
    row = db.session.execute(stmt).one()
    return Decimal(row[0]).quantize(CENT), Decimal(row[1]).quantize(CENT)


def acceptance_record(grant: Grant) -> dict | None:
    """The acceptance as entered: its date, who entered it and when (the accept transition)."""
    t = db.session.execute(select(GrantTransition).where(GrantTransition.grant_id == grant.id,
                                                         GrantTransition.action == "accept")
                           .order_by(GrantTransition.id.desc()).limit(1)).scalar_one_or_none()
    if t is None:
        return None
    who = db.session.get(User, t.user_id) if t.user_id else None
    return {"accepted_on": (t.effective_on or grant.accepted_on or t.at.date()).isoformat(),
            "entered_by": who.username if who else None, "entered_at": t.at.isoformat()}


def compute_subsidy(eligible: Decimal, ratio_cap: Decimal, absolute_cap: Decimal) -> tuple[Decimal, Decimal]:
    """(by_ratio, payable): payable = min(ratio × eligible spend, cap), rounded down to the fen."""
    by_ratio = (eligible * ratio_cap).quantize(CENT, rounding=ROUND_DOWN)
    return by_ratio, min(by_ratio, absolute_cap)


def assess_subsidy(grant_id: int, user: User) -> SubsidyAssessment:
    require_bureau(user, "核定补助")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        if grant.category != Category.POST_SUBSIDY:
            raise Conflict("只有先立项后补助课题核定补助 / only post_subsidy grants get a subsidy")
        if grant.status not in (S.ACCEPTED, S.CLOSED):
            raise Conflict(f"课题状态为 {grant.status.value}：先立项后补助须验收通过后才能核定和拨付补助 / "
                           f"the subsidy is assessed only after acceptance (grant is {grant.status.value})",
                           {"status": [grant.status.value]})
        _check_subsidy_gates(grant)
        terms = s.execute(select(SubsidyTerms).where(SubsidyTerms.grant_id == grant.id)).scalar_one_or_none()
        if terms is None:
            raise Conflict("未设定补助条件 / no subsidy terms", {"subsidy_terms": ["missing"]})
        existing = s.execute(select(SubsidyAssessment).where(SubsidyAssessment.grant_id == grant.id)).scalar_one_or_none()
        if existing is not None and existing.paid_on is not None:
            raise Conflict("补助已拨付，不能重新核定 / the subsidy is already paid")
        accepted = acceptance_record(grant)
        eligible, ineligible = eligible_spend(grant.id, grant.accepted_on)
        by_ratio, payable = compute_subsidy(eligible, terms.ratio_cap, terms.absolute_cap)
        limited_by = "ratio" if by_ratio <= terms.absolute_cap else "absolute_cap"
        explanation = {
            "formula": "payable = min(ratio_cap × eligible_spend, absolute_cap)",
            "zh": (f"合规自筹支出 {eligible:.2f} 元 × 补助比例 {terms.ratio_cap} = {by_ratio:.2f} 元；"
                   f"上限 {terms.absolute_cap:.2f} 元；核定补助 {payable:.2f} 元"
                   + ("（受上限约束）" if limited_by == "absolute_cap" else "")
                   + (f"；{ineligible:.2f} 元支出命中负面清单，不计入补助基数" if ineligible else "")),
            "en": (f"eligible spend {eligible:.2f} × ratio {terms.ratio_cap} = {by_ratio:.2f}; cap "
                   f"{terms.absolute_cap:.2f}; payable {payable:.2f} (limited by {limited_by})"),
            "limited_by": limited_by,
            "acceptance": accepted,
        }
        if grant.accepted_on is not None:
            explanation["zh"] += f"（计至验收日 {grant.accepted_on.isoformat()}）"
            explanation["en"] += f" (spend up to the acceptance date {grant.accepted_on.isoformat()})"
        a = existing or SubsidyAssessment(grant_id=grant.id)
        a.eligible_spend, a.ineligible_spend, a.ratio_cap, a.absolute_cap = eligible, ineligible, terms.ratio_cap, terms.absolute_cap
        a.by_ratio, a.payable, a.explanation, a.computed_at = by_ratio, payable, explanation, now()
        s.add(a)
    return a


def get_assessment(grant_id: int, user: User) -> SubsidyAssessment:
    get_grant(grant_id, user)
    a = db.session.execute(select(SubsidyAssessment).where(SubsidyAssessment.grant_id == grant_id)).scalar_one_or_none()
    if a is None:
        raise NotFound("尚未核定补助 / no subsidy assessment yet")
    return a


def pay_subsidy(grant_id: int, user: User, paid_on: date | None = None,
                claimed: Decimal | None = None) -> SubsidyAssessment:
    """Pay min(claimed, assessed payable, what the programme's yearly cap per institution leaves), with the
    explanation recorded; the institution row is locked so two payments cannot both use the same cap."""
    require_bureau(user, "拨付补助")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        if grant.category != Category.POST_SUBSIDY:
            raise Conflict("只有先立项后补助课题拨付补助 / only post_subsidy grants get a subsidy")
        if grant.status not in (S.ACCEPTED, S.CLOSED):
            raise Conflict(f"课题状态为 {grant.status.value}：验收通过前不得拨付补助 / nothing is paid before "
                           f"acceptance (grant is {grant.status.value})", {"status": [grant.status.value]})
        _check_subsidy_gates(grant)
        a = s.execute(select(SubsidyAssessment).where(SubsidyAssessment.grant_id == grant.id)
                      .with_for_update()).scalar_one_or_none()
        if a is None:
            raise Conflict("请先核定补助 / assess the subsidy first", {"assessment": ["missing"]})
        if a.paid_on is not None:
            raise Conflict("补助已拨付 / the subsidy is already paid")
        if claimed is not None and claimed < 0:
            raise Invalid("申请金额不能为负 / the claimed amount cannot be negative", {"claimed_amount": ["negative"]})
        when = paid_on or today()
        if grant.accepted_on is not None and when < grant.accepted_on:
            raise Conflict(f"拨付日 {when} 早于验收日 {grant.accepted_on} / payment date before the acceptance date",
                           {"paid_on": ["before the acceptance date"]})
        candidates = {"payable": a.payable}
        if claimed is not None:
            candidates["claimed"] = claimed
        cap_info = _programme_cap(grant, when)
        if cap_info is not None:
            candidates["programme_cap"] = Decimal(cap_info["remaining"])
        limited_by = min(candidates, key=lambda k: (candidates[k], k != "payable"))
        paid = candidates[limited_by]
        a.paid_on, a.claimed_amount, a.paid_amount = when, claimed, paid
        parts_zh = [f"核定补助 {a.payable:.2f} 元"]
        parts_en = [f"assessed {a.payable:.2f}"]
        if claimed is not None:
            parts_zh.append(f"单位申请 {claimed:.2f} 元")
            parts_en.append(f"claimed {claimed:.2f}")
        if cap_info is not None:
            parts_zh.append(f"{cap_info['programme_zh']}每单位每年上限 {cap_info['cap']} 元，{when.year} 年已拨付 "
                            f"{cap_info['paid_in_year']} 元，尚余 {cap_info['remaining']} 元")
            parts_en.append(f"{cap_info['programme_en']} cap {cap_info['cap']} per institution per year, "
                            f"{cap_info['paid_in_year']} already paid in {when.year}, {cap_info['remaining']} left")
        a.payment_explanation = {
            "formula": "paid = min(claimed, payable, programme cap left this year)",
            "payable": str(a.payable), "claimed": None if claimed is None else str(claimed),
            "programme_cap": cap_info, "paid": str(paid), "limited_by": limited_by,
            "zh": "；".join(parts_zh) + f"；实付 {paid:.2f} 元（取最小值：{limited_by}）",
            "en": "; ".join(parts_en) + f"; paid {paid:.2f} (the least: {limited_by})",
        }
        if paid > 0:
            ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.SUBSIDY_PAYMENT, a.paid_on, paid,
                                                    "subsidy_assessment", a.id, memo="先立项后补助")])
    return a


def _programme_cap(grant: Grant, when: date) -> dict | None:
    """The programme's yearly cap per institution and what it leaves: the subsidies already paid to the same
    institution under the same programme in the calendar year of ``when`` (its row is locked first)."""
    p = programmes().get(grant.programme) if grant.programme else None
    if p is None or p.subsidy_cap is None:
        return None
    db.session.execute(select(Institution.id).where(Institution.id == grant.institution_id).with_for_update())
    paid_in_year = Decimal(db.session.execute(
        select(func.coalesce(func.sum(func.coalesce(SubsidyAssessment.paid_amount, SubsidyAssessment.payable)), 0))
        .join(Grant, Grant.id == SubsidyAssessment.grant_id)
        .where(Grant.institution_id == grant.institution_id, Grant.programme == grant.programme,
               Grant.id != grant.id, SubsidyAssessment.paid_on >= date(when.year, 1, 1),
               SubsidyAssessment.paid_on <= date(when.year, 12, 31))).scalar_one()).quantize(CENT)
    cap = p.subsidy_cap.per_institution_per_year
    return {"programme": p.code, "programme_zh": p.title_zh, "programme_en": p.title_en, "cap": str(cap),
            "year": when.year, "paid_in_year": str(paid_in_year),
            "remaining": str(max(cap - paid_in_year, Decimal("0.00")).quantize(CENT)), "source": p.subsidy_cap.source}
