"""先立项后补助: assess the subsidy from the eligible self-funded spend after acceptance, then pay it."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import case, func, select

from budgets.models import Expense, ExpenseStatus
from grants import ledger
from grants.db import CENT, now, today, unit_of_work
from grants.errors import Conflict, GateClosed, NotFound
from grants.extensions import db
from grants.models import Category, Grant, GrantStatus, SubsidyAssessment, SubsidyTerms, User
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


def eligible_spend(grant_id: int) -> tuple[Decimal, Decimal]:
    """(eligible, ineligible) self-funded spend posted on a post_subsidy grant."""
    row = db.session.execute(select(
        func.coalesce(func.sum(case((Expense.subsidy_eligible.is_(True), Expense.amount), else_=0)), 0),
        func.coalesce(func.sum(case((Expense.subsidy_eligible.is_not(True), Expense.amount), else_=0)), 0),
    ).where(Expense.grant_id == grant_id, Expense.status == ExpenseStatus.POSTED)).one()
    return Decimal(row[0]).quantize(CENT), Decimal(row[1]).quantize(CENT)


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
        eligible, ineligible = eligible_spend(grant.id)
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
        }
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


def pay_subsidy(grant_id: int, user: User, paid_on: date | None = None) -> SubsidyAssessment:
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
        a.paid_on = paid_on or today()
        if a.payable > 0:
            ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.SUBSIDY_PAYMENT, a.paid_on, a.payable,
                                                    "subsidy_assessment", a.id, memo="先立项后补助")])
    return a
