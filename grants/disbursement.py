"""The funder's money flows before acceptance: milestones, tranches (拨款) and their gates, 赛马制 races,
and the 先立项后补助 subsidy terms. Each public function is one transaction."""
from __future__ import annotations

from typing import Callable

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from grants import ledger
from grants.access import require_funder, require_writer_of, scope
from grants.db import today, unit_of_work
from grants.errors import Conflict, GateClosed, Invalid, NotFound
from grants.extensions import db
from grants.models import (
    Category,
    Grant,
    GrantStatus,
    Milestone,
    MilestoneStatus,
    Race,
    RaceSelection,
    RaceStage,
    SubsidyTerms,
    Tranche,
    TrancheStatus,
    User,
)
from grants.registry import get_grant

S = GrantStatus


# --------------------------------------------------------------------------- milestones
def _grant_child(model, child_id: int, grant_id: int, user: User):
    get_grant(grant_id, user)
    obj = db.session.get(model, child_id)
    if obj is None or obj.grant_id != grant_id:
        raise NotFound(f"记录 {child_id} 不存在 / {model.__tablename__[:-1]} {child_id} not found")
    return obj


def list_milestones(grant_id: int, user: User) -> list[Milestone]:
    get_grant(grant_id, user)
    return list(db.session.scalars(select(Milestone).where(Milestone.grant_id == grant_id)
                                   .order_by(Milestone.due_date, Milestone.id)))


def create_milestone(grant_id: int, data: dict, user: User) -> Milestone:
    with unit_of_work() as s:
        grant = get_grant(grant_id, user)
        require_writer_of(user, grant.institution_id)
        require_funder(user, "设定里程碑")
        m = Milestone(grant_id=grant.id, **data)
        s.add(m)
    return m


def update_milestone(grant_id: int, milestone_id: int, data: dict, user: User) -> Milestone:
    with unit_of_work():
        m = _grant_child(Milestone, milestone_id, grant_id, user)
        require_writer_of(user, m.grant.institution_id)
        require_funder(user, "修改里程碑")
        if m.status != MilestoneStatus.PENDING:
            raise Conflict("里程碑已评审，不能修改 / milestone already decided")
        for k, v in data.items():
            setattr(m, k, v)
    return m


def decide_milestone(grant_id: int, milestone_id: int, accepted: bool, user: User,
                     decided_on: date | None = None, note: str = "") -> Milestone:
    require_funder(user, "评审里程碑")
    with unit_of_work():
        m = _grant_child(Milestone, milestone_id, grant_id, user)
        if m.grant.status not in (S.ACTIVE, S.CLOSING):
            raise GateClosed(f"课题状态为 {m.grant.status.value}，不能评审里程碑 / grant is {m.grant.status.value}")
        if m.status != MilestoneStatus.PENDING:
            raise Conflict("里程碑已评审 / milestone already decided")
        m.status = MilestoneStatus.ACCEPTED if accepted else MilestoneStatus.REJECTED
        m.decided_on = decided_on or today()
        m.decision_note = note
    return m


# --------------------------------------------------------------------------- tranches (拨款)
TRANCHE_CATEGORIES = (Category.COMPETITIVE, Category.STABLE, Category.GRANT_TO_EQUITY)


def list_tranches(grant_id: int, user: User) -> list[Tranche]:
    get_grant(grant_id, user)
    return list(db.session.scalars(select(Tranche).where(Tranche.grant_id == grant_id).order_by(Tranche.seq)))


def _validate_tranche(grant: Grant, amount: Decimal, milestone_id, race_stage_id, exclude_id=None) -> None:
    if grant.category not in TRANCHE_CATEGORIES:
        raise Conflict("先立项后补助课题不预拨资金，验收后按补助核定支付 / "
                       "a post_subsidy grant has no tranches: the subsidy is paid after acceptance",
                       {"grant_id": ["post_subsidy"]})
    if grant.status in (S.ACCEPTED, S.FAILED, S.CLOSED):
        raise Conflict(f"课题状态为 {grant.status.value}，不能再安排拨款 / grant is {grant.status.value}")
    stmt = select(func.coalesce(func.sum(Tranche.amount), 0)).where(Tranche.grant_id == grant.id)
    if exclude_id:
        stmt = stmt.where(Tranche.id != exclude_id)
    planned = Decimal(db.session.execute(stmt).scalar_one())
    if planned + amount > grant.fiscal_amount:
        raise Invalid(f"拨款合计 {planned + amount:.2f} 元超过财政资金 {grant.fiscal_amount:.2f} 元 / "
                      f"tranches total {planned + amount:.2f} exceeds the fiscal amount {grant.fiscal_amount:.2f}",
                      {"amount": ["tranches would exceed the fiscal amount"]})
    if milestone_id is not None:
        m = db.session.get(Milestone, milestone_id)
        if m is None or m.grant_id != grant.id:
            raise Invalid("里程碑不属于该课题 / milestone not of this grant", {"milestone_id": ["not of this grant"]})
    if race_stage_id is not None:
        st = db.session.get(RaceStage, race_stage_id)
        if st is None or grant.race_id is None or st.race_id != grant.race_id:
            raise Invalid("赛段不属于该课题所在的赛马 / stage not of this grant's race",
                          {"race_stage_id": ["not a stage of this grant's race"]})


def create_tranche(grant_id: int, data: dict, user: User) -> Tranche:
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        require_writer_of(user, grant.institution_id)
        require_funder(user, "安排拨款")
        _validate_tranche(grant, data["amount"], data.get("milestone_id"), data.get("race_stage_id"))
        seq = s.execute(select(func.coalesce(func.max(Tranche.seq), 0)).where(Tranche.grant_id == grant.id)).scalar_one()
        t = Tranche(grant_id=grant.id, seq=seq + 1, **data)
        s.add(t)
    return t


def update_tranche(grant_id: int, tranche_id: int, data: dict, user: User) -> Tranche:
    with unit_of_work():
        t = _grant_child(Tranche, tranche_id, grant_id, user)
        grant = get_grant(grant_id, user, for_update=True)
        require_writer_of(user, grant.institution_id)
        require_funder(user, "修改拨款安排")
        if t.status == TrancheStatus.PAID:
            raise Conflict("已拨付的款项不能修改 / a paid tranche cannot change")
        merged = {"amount": t.amount, "milestone_id": t.milestone_id, "race_stage_id": t.race_stage_id, **data}
        _validate_tranche(grant, merged["amount"], merged["milestone_id"], merged["race_stage_id"], exclude_id=t.id)
        for k, v in data.items():
            setattr(t, k, v)
    return t


# Other packages close the gate too (e.g. evaluations: "a failed or overdue mid-term stops the next
# tranche") without the registry importing them: a gate answers why not, or None.
TrancheGate = Callable[[Grant, Tranche], "str | None"]
_tranche_gates: list[TrancheGate] = []


def register_tranche_gate(gate: TrancheGate) -> None:
    if gate not in _tranche_gates:
        _tranche_gates.append(gate)


def tranche_gate(grant: Grant, t: Tranche) -> str | None:
    """Why this tranche may not be paid yet, or None if it may."""
    if grant.status != S.ACTIVE:
        return f"课题状态为 {grant.status.value}，只有执行中的课题可以拨款 / grant is {grant.status.value}, not active"
    if t.milestone is not None and t.milestone.status != MilestoneStatus.ACCEPTED:
        return (f"里程碑“{t.milestone.title}”尚未通过验收（{t.milestone.status.value}）/ "
                f"milestone '{t.milestone.title}' is {t.milestone.status.value}, not accepted")
    if t.race_stage is not None and t.race_stage.stage_no > 1:
        chosen = db.session.execute(select(RaceSelection.id).where(
            RaceSelection.stage_id == t.race_stage_id, RaceSelection.grant_id == grant.id)).first()
        if not chosen:
            return (f"赛马制第 {t.race_stage.stage_no} 阶段未选中该团队 / "
                    f"team not chosen for stage {t.race_stage.stage_no} of the race")
    for gate in _tranche_gates:
        why = gate(grant, t)
        if why:
            return why
    return None


def pay_tranche(grant_id: int, tranche_id: int, user: User, paid_on: date | None = None) -> Tranche:
    require_funder(user, "拨款")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        t = _grant_child(Tranche, tranche_id, grant_id, user)
        if t.status == TrancheStatus.PAID:
            raise Conflict("该笔款项已拨付 / tranche already paid")
        why = tranche_gate(grant, t)
        if why:
            raise GateClosed(why)
        t.status, t.paid_on = TrancheStatus.PAID, paid_on or today()
        ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.DISBURSEMENT, t.paid_on, t.amount,
                                                "tranche", t.id, memo=f"第{t.seq}笔拨款")])
    return t


def disbursed_total_of(grant_id):
    """The money paid out to a grant in tranches, as a scalar subquery (``grant_id`` a value or a column,
    so it can be read in the same round trip as the grant)."""
    return select(func.coalesce(func.sum(Tranche.amount), 0)).where(
        Tranche.grant_id == grant_id, Tranche.status == TrancheStatus.PAID).scalar_subquery()


def disbursed_total(grant_id: int) -> Decimal:
    return Decimal(db.session.execute(select(disbursed_total_of(grant_id))).scalar_one())


# --------------------------------------------------------------------------- 赛马制 races
def create_race(title: str, stage_titles: list[str], user: User) -> Race:
    require_funder(user, "设立赛马")
    with unit_of_work() as s:
        race = Race(title=title)
        s.add(race)
        s.flush()
        for i, st in enumerate(stage_titles, start=1):
            s.add(RaceStage(race_id=race.id, stage_no=i, title=st))
    return race


def get_race(race_id: int) -> Race:
    race = db.session.get(Race, race_id)
    if race is None:
        raise NotFound(f"赛马 {race_id} 不存在 / race {race_id} not found")
    return race


def race_view(race: Race, user: User) -> dict:
    teams = db.session.scalars(scope(select(Grant.id).where(Grant.race_id == race.id),
                                               Grant.institution_id, user)).all()
    stages = []
    for st in race.stages:
        chosen = db.session.scalars(select(RaceSelection.grant_id).where(RaceSelection.stage_id == st.id)).all()
        stages.append({"id": st.id, "stage_no": st.stage_no, "title": st.title,
                       "selected_grant_ids": sorted(g for g in chosen if g in teams)})
    return {"id": race.id, "title": race.title, "team_grant_ids": sorted(teams), "stages": stages}


def select_teams(race_id: int, stage_no: int, grant_ids: list[int], user: User,
                 selected_on: date | None = None) -> Race:
    require_funder(user, "赛马评选")
    with unit_of_work() as s:
        race = get_race(race_id)
        stage = next((st for st in race.stages if st.stage_no == stage_no), None)
        if stage is None:
            raise NotFound(f"第 {stage_no} 阶段不存在 / stage {stage_no} not found")
        if stage_no == 1:
            raise Conflict("第一阶段向全部团队开放，无需评选 / stage 1 funds every team in the race")
        prev = next(st for st in race.stages if st.stage_no == stage_no - 1)
        prev_kept = set(s.scalars(select(RaceSelection.grant_id).where(RaceSelection.stage_id == prev.id)))
        teams = set(s.scalars(select(Grant.id).where(Grant.race_id == race.id)))
        for gid in grant_ids:
            if gid not in teams:
                raise Invalid(f"课题 {gid} 不在该赛马中 / grant {gid} is not a team in this race",
                              {"grant_ids": [f"{gid} not in race"]})
            if stage_no > 2 and gid not in prev_kept:
                raise Conflict(f"课题 {gid} 未进入上一阶段 / grant {gid} was dropped at stage {stage_no - 1}",
                               {"grant_ids": [f"{gid} dropped earlier"]})
        for gid in grant_ids:
            if not s.execute(select(RaceSelection.id).where(RaceSelection.stage_id == stage.id,
                                                            RaceSelection.grant_id == gid)).first():
                s.add(RaceSelection(stage_id=stage.id, grant_id=gid, selected_on=selected_on or today()))
    return race


# --------------------------------------------------------------------------- 先立项后补助 terms
def get_subsidy_terms(grant_id: int, user: User) -> SubsidyTerms:
    get_grant(grant_id, user)
    terms = db.session.execute(select(SubsidyTerms).where(SubsidyTerms.grant_id == grant_id)).scalar_one_or_none()
    if terms is None:
        raise NotFound("该课题尚未设定补助条件 / no subsidy terms for this grant")
    return terms


def set_subsidy_terms(grant_id: int, data: dict, user: User) -> SubsidyTerms:
    require_funder(user, "设定补助条件")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        if grant.category != Category.POST_SUBSIDY:
            raise Conflict("只有先立项后补助课题有补助条件 / only post_subsidy grants have subsidy terms",
                           {"category": [grant.category.value]})
        if grant.status in (S.ACCEPTED, S.FAILED, S.CLOSED):
            raise Conflict(f"课题已{grant.status.value}，补助条件不能再改 / terms are fixed once the grant is "
                           f"{grant.status.value}")
        terms = s.execute(select(SubsidyTerms).where(SubsidyTerms.grant_id == grant.id)).scalar_one_or_none()
        if terms is None:
            terms = SubsidyTerms(grant_id=grant.id)
            s.add(terms)
        for k, v in data.items():
            setattr(terms, k, v)
    return terms
