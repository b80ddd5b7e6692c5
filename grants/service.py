"""Use cases of the grant registry. Each public function is one transaction (``unit_of_work``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Callable

from sqlalchemy import func, or_, select

from grants import ledger
from grants.auth import scope_to_caller
from grants.db import CENT, today, unit_of_work
from grants.errors import Conflict, Forbidden, GateClosed, IllegalTransition, Invalid, NotFound
from grants.extensions import db
from grants.models import (
    Category,
    EquityEvent,
    EquityEventKind,
    EquityInvestment,
    Grant,
    GrantStatus,
    GrantTransition,
    Institution,
    ManagementMode,
    Milestone,
    MilestoneStatus,
    Race,
    RaceSelection,
    RaceStage,
    Researcher,
    Role,
    SubsidyTerms,
    Tranche,
    TrancheStatus,
    User,
)

SHARE_Q = Decimal("1e-10")
S = GrantStatus
BUREAU_ROLES = (Role.FINANCE_BUREAU, Role.ADMIN)


# --------------------------------------------------------------------------- scoping helpers
def visible_to(user: User, institution_id: int) -> bool:
    return user.role != Role.INSTITUTION or user.institution_id == institution_id


def get_grant(grant_id: int, user: User, *, for_update: bool = False) -> Grant:
    stmt = select(Grant).where(Grant.id == grant_id)
    if for_update:
        stmt = stmt.with_for_update()
    grant = db.session.execute(stmt).scalar_one_or_none()
    if grant is None or not visible_to(user, grant.institution_id):
        raise NotFound(f"课题 {grant_id} 不存在 / grant {grant_id} not found")
    return grant


def require_bureau(user: User, what: str) -> None:
    if user.role not in BUREAU_ROLES:
        raise Forbidden(f"只有财政/科技主管部门可以{what} / only the finance bureau may do this")


def require_writer_of(user: User, institution_id: int) -> None:
    if user.role == Role.AUDITOR:
        raise Forbidden("审计人员为只读角色 / auditors are read-only")
    if not visible_to(user, institution_id):
        raise NotFound("记录不存在 / not found")


# --------------------------------------------------------------------------- institutions & people
def list_institutions(user: User):
    stmt = select(Institution).order_by(Institution.id)
    return scope_to_caller(stmt, Institution.id, user)


def get_institution(institution_id: int, user: User) -> Institution:
    inst = db.session.get(Institution, institution_id)
    if inst is None or not visible_to(user, inst.id):
        raise NotFound(f"单位 {institution_id} 不存在 / institution {institution_id} not found")
    return inst


def _unique_name(name: str, exclude_id: int | None = None) -> None:
    stmt = select(Institution.id).where(Institution.name == name)
    if exclude_id:
        stmt = stmt.where(Institution.id != exclude_id)
    if db.session.execute(stmt).first():
        raise Conflict("单位名称已存在 / institution name already exists", {"name": ["already exists"]})


def create_institution(data: dict, user: User) -> Institution:
    require_bureau(user, "登记单位")
    with unit_of_work() as s:
        _unique_name(data["name"])
        inst = Institution(**data)
        s.add(inst)
    return inst


def update_institution(institution_id: int, data: dict, user: User) -> Institution:
    require_bureau(user, "修改单位")
    with unit_of_work():
        inst = get_institution(institution_id, user)
        if "name" in data:
            _unique_name(data["name"], inst.id)
        for k, v in data.items():
            setattr(inst, k, v)
    return inst


def list_researchers(user: User, institution_id: int | None = None):
    stmt = select(Researcher).order_by(Researcher.id)
    if institution_id:
        stmt = stmt.where(Researcher.institution_id == institution_id)
    return scope_to_caller(stmt, Researcher.institution_id, user)


def get_researcher(researcher_id: int, user: User) -> Researcher:
    r = db.session.get(Researcher, researcher_id)
    if r is None or not visible_to(user, r.institution_id):
        raise NotFound(f"科研人员 {researcher_id} 不存在 / researcher {researcher_id} not found")
    return r


def create_researcher(data: dict, user: User) -> Researcher:
    require_writer_of(user, data["institution_id"])
    with unit_of_work() as s:
        get_institution(data["institution_id"], user)
        r = Researcher(**data)
        s.add(r)
    return r


def update_researcher(researcher_id: int, data: dict, user: User) -> Researcher:
    with unit_of_work():
        r = get_researcher(researcher_id, user)
        require_writer_of(user, r.institution_id)
        for k, v in data.items():
            setattr(r, k, v)
    return r


# --------------------------------------------------------------------------- grants
def list_grants(user: User, filters: dict):
    stmt = select(Grant).order_by(Grant.id)
    stmt = scope_to_caller(stmt, Grant.institution_id, user)
    for key in ("institution_id", "category", "status", "funding_mode"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Grant, key) == filters[key])
    if filters.get("start_from"):
        stmt = stmt.where(Grant.end_date >= filters["start_from"])
    if filters.get("start_to"):
        stmt = stmt.where(Grant.start_date <= filters["start_to"])
    if filters.get("q"):
        like = f"%{filters['q']}%"
        stmt = stmt.where(or_(Grant.code.like(like), Grant.title.like(like)))
    return stmt


def _check_grant_refs(data: dict, user: User, grant: Grant | None = None) -> None:
    institution_id = data.get("institution_id", grant.institution_id if grant else None)
    if "institution_id" in data:
        get_institution(institution_id, user)
    if "pi_id" in data:
        pi = db.session.get(Researcher, data["pi_id"])
        if pi is None or pi.institution_id != institution_id:
            raise Invalid("负责人须为承担单位的科研人员 / the PI must be a researcher of the institution",
                          {"pi_id": ["not a researcher of this institution"]})
    if data.get("race_id") is not None:
        if db.session.get(Race, data["race_id"]) is None:
            raise Invalid("赛马不存在 / race not found", {"race_id": ["not found"]})
        mode = data.get("management_mode", grant.management_mode if grant else None)
        if mode != ManagementMode.HORSE_RACE:
            raise Invalid("只有赛马制课题可以加入赛马 / only 赛马制 grants join a race",
                          {"race_id": ["management_mode must be horse_race"]})
    start = data.get("start_date", grant.start_date if grant else None)
    end = data.get("end_date", grant.end_date if grant else None)
    if start and end and end < start:
        raise Invalid("结束日期早于开始日期 / end date before start date", {"end_date": ["before start_date"]})


def create_grant(data: dict, user: User) -> Grant:
    require_writer_of(user, data["institution_id"])
    if data.get("self_raised_amount") is None:
        data["self_raised_amount"] = Decimal("0.00")
    with unit_of_work() as s:
        _check_grant_refs(data, user)
        if s.execute(select(Grant.id).where(Grant.code == data["code"])).first():
            raise Conflict("课题编号已存在 / grant code already exists", {"code": ["already exists"]})
        grant = Grant(**data, status=S.DRAFT)
        s.add(grant)
    return grant


EDITABLE_AFTER_DRAFT = {"title"}


def update_grant(grant_id: int, data: dict, user: User) -> Grant:
    with unit_of_work():
        grant = get_grant(grant_id, user, for_update=True)
        require_writer_of(user, grant.institution_id)
        locked = set(data) - EDITABLE_AFTER_DRAFT
        if grant.status != S.DRAFT and locked:
            raise Conflict(f"课题状态为 {grant.status.value}，只能在草稿状态修改 {', '.join(sorted(locked))} / "
                           f"grant is {grant.status.value}: {', '.join(sorted(locked))} can change only in draft",
                           {k: ["locked after draft"] for k in sorted(locked)})
        _check_grant_refs(data, user, grant)
        for k, v in data.items():
            setattr(grant, k, v)
    return grant


@dataclass(frozen=True)
class Transition:
    sources: tuple[GrantStatus, ...]
    target: GrantStatus | None  # None: back to the status before suspension
    bureau_only: bool
    zh: str


TRANSITIONS: dict[str, Transition] = {
    "approve": Transition((S.DRAFT,), S.APPROVED, True, "批准立项"),
    "activate": Transition((S.APPROVED,), S.ACTIVE, True, "启动执行"),
    "suspend": Transition((S.ACTIVE, S.CLOSING), S.SUSPENDED, True, "暂停"),
    "resume": Transition((S.SUSPENDED,), None, True, "恢复"),
    "request_acceptance": Transition((S.ACTIVE,), S.CLOSING, False, "申请结题验收"),
    "accept": Transition((S.CLOSING,), S.ACCEPTED, True, "验收通过"),
    "fail": Transition((S.CLOSING, S.SUSPENDED), S.FAILED, True, "验收不通过/终止"),
    "close": Transition((S.ACCEPTED, S.FAILED), S.CLOSED, True, "结项"),
}

# Other packages add preconditions (e.g. budgets: "the budget must equal the fiscal amount before
# approval") without the registry importing them.
TransitionGuard = Callable[[Grant], None]
_guards: dict[str, list[TransitionGuard]] = {}


def register_transition_guard(action: str, guard: TransitionGuard) -> None:
    if guard not in _guards.setdefault(action, []):
        _guards[action].append(guard)


def transition(grant_id: int, action: str, user: User, reason: str = "") -> Grant:
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise NotFound(f"未知操作 {action} / unknown action {action}")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        require_writer_of(user, grant.institution_id)
        if rule.bureau_only:
            require_bureau(user, rule.zh)
        if grant.status not in rule.sources:
            allowed = ", ".join(x.value for x in rule.sources)
            raise IllegalTransition(
                f"课题当前状态为 {grant.status.value}，不能{rule.zh}（仅允许从 {allowed}）/ "
                f"cannot {action} a grant in status {grant.status.value}; {action} is allowed only from {allowed}",
                {"status": [grant.status.value]}, allowed_from=[x.value for x in rule.sources])
        for guard in _guards.get(action, []):
            guard(grant)
        old = grant.status
        if rule.target is None:
            target = S(grant.status_before_suspension or S.ACTIVE.value)
            grant.status_before_suspension = None
        else:
            target = rule.target
            if target == S.SUSPENDED:
                grant.status_before_suspension = old.value
        grant.status = target
        s.add(GrantTransition(grant_id=grant.id, action=action, from_status=old.value, to_status=target.value,
                              user_id=user.id, reason=reason))
    return grant


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
        m = Milestone(grant_id=grant.id, **data)
        s.add(m)
    return m


def update_milestone(grant_id: int, milestone_id: int, data: dict, user: User) -> Milestone:
    with unit_of_work():
        m = _grant_child(Milestone, milestone_id, grant_id, user)
        require_writer_of(user, m.grant.institution_id)
        if m.status != MilestoneStatus.PENDING:
            raise Conflict("里程碑已评审，不能修改 / milestone already decided")
        for k, v in data.items():
            setattr(m, k, v)
    return m


def decide_milestone(grant_id: int, milestone_id: int, accepted: bool, user: User,
                     decided_on: date | None = None, note: str = "") -> Milestone:
    require_bureau(user, "评审里程碑")
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
    require_bureau(user, "拨款")
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


def disbursed_total(grant_id: int) -> Decimal:
    return Decimal(db.session.execute(select(func.coalesce(func.sum(Tranche.amount), 0)).where(
        Tranche.grant_id == grant_id, Tranche.status == TrancheStatus.PAID)).scalar_one())


# --------------------------------------------------------------------------- 赛马制 races
def create_race(title: str, stage_titles: list[str], user: User) -> Race:
    require_bureau(user, "设立赛马")
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
    teams = db.session.scalars(scope_to_caller(select(Grant.id).where(Grant.race_id == race.id),
                                               Grant.institution_id, user)).all()
    stages = []
    for st in race.stages:
        chosen = db.session.scalars(select(RaceSelection.grant_id).where(RaceSelection.stage_id == st.id)).all()
        stages.append({"id": st.id, "stage_no": st.stage_no, "title": st.title,
                       "selected_grant_ids": sorted(g for g in chosen if g in teams)})
    return {"id": race.id, "title": race.title, "team_grant_ids": sorted(teams), "stages": stages}


def select_teams(race_id: int, stage_no: int, grant_ids: list[int], user: User,
                 selected_on: date | None = None) -> Race:
    require_bureau(user, "赛马评选")
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
    require_bureau(user, "设定补助条件")
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


# --------------------------------------------------------------------------- 拨改投 equity
def get_investment(grant_id: int, user: User) -> EquityInvestment:
    get_grant(grant_id, user)
    inv = db.session.execute(select(EquityInvestment).where(EquityInvestment.grant_id == grant_id)).scalar_one_or_none()
    if inv is None:
        raise NotFound("该课题尚无股权投资记录 / no equity investment for this grant")
    return inv


def initial_shareholding(amount: Decimal, pre_money: Decimal) -> Decimal:
    """Post-money share of a round we fund alone: amount / (pre-money + amount)."""
    return (amount / (pre_money + amount)).quantize(SHARE_Q, rounding=ROUND_DOWN)


def shareholding_after(current: Decimal, kind: EquityEventKind, *, amount: Decimal = Decimal(0),
                       round_size: Decimal | None = None, pre_money: Decimal | None = None,
                       fraction_sold: Decimal | None = None) -> Decimal:
    """Our share after an event.

    A round at pre-money V raising R, of which we put in X: (share·V + X) / (V + R).
    Selling a fraction p of our holding: share·(1 − p).
    """
    if kind in (EquityEventKind.FOLLOW_ON, EquityEventKind.DILUTION):
        r = round_size if round_size is not None else amount
        return ((current * pre_money + amount) / (pre_money + r)).quantize(SHARE_Q, rounding=ROUND_DOWN)
    return (current * (1 - fraction_sold)).quantize(SHARE_Q, rounding=ROUND_DOWN)


def create_investment(grant_id: int, data: dict, user: User) -> EquityInvestment:
    require_bureau(user, "登记股权投资")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        if grant.category != Category.GRANT_TO_EQUITY:
            raise Conflict("只有拨改投课题可以登记股权投资 / only grant_to_equity grants hold equity",
                           {"category": [grant.category.value]})
        if grant.status not in (S.APPROVED, S.ACTIVE, S.CLOSING, S.ACCEPTED):
            raise Conflict(f"课题状态为 {grant.status.value}，不能登记投资 / grant is {grant.status.value}")
        if s.execute(select(EquityInvestment.id).where(EquityInvestment.grant_id == grant.id)).first():
            raise Conflict("该课题已有股权投资记录 / investment already recorded")
        if data["amount"] > grant.fiscal_amount:
            raise Invalid(f"投资额超过财政资金 {grant.fiscal_amount:.2f} 元 / amount exceeds the fiscal amount",
                          {"amount": ["exceeds fiscal amount"]})
        inv = EquityInvestment(grant_id=grant.id, shareholding=initial_shareholding(
            data["amount"], data["pre_money_valuation"]), **data)
        s.add(inv)
        s.flush()
        ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.EQUITY_INVESTMENT, inv.invested_on, inv.amount,
                                                "equity_investment", inv.id, memo=f"投资 {inv.investee_name}")])
    return inv


def update_investment(grant_id: int, data: dict, user: User) -> EquityInvestment:
    require_bureau(user, "修改股权投资")
    with unit_of_work():
        inv = get_investment(grant_id, user)
        for k, v in data.items():
            setattr(inv, k, v)
    return inv


def add_equity_event(grant_id: int, data: dict, user: User) -> EquityEvent:
    require_bureau(user, "登记股权事件")
    kind = data["kind"]
    errors = {}
    if kind in (EquityEventKind.FOLLOW_ON, EquityEventKind.DILUTION):
        if data.get("pre_money_valuation") is None:
            errors["pre_money_valuation"] = ["required for a financing round"]
        if kind == EquityEventKind.FOLLOW_ON and not data.get("amount"):
            errors["amount"] = ["a follow-on needs the amount we invest"]
        if kind == EquityEventKind.DILUTION and not data.get("round_size"):
            errors["round_size"] = ["a dilution needs the round size"]
        if data.get("fraction_sold") is not None:
            errors["fraction_sold"] = ["not for a financing round"]
    else:
        if data.get("fraction_sold") is None:
            errors["fraction_sold"] = ["required: the fraction of our holding sold"]
        if data.get("proceeds") is None:
            errors["proceeds"] = ["required for a buy-back or exit"]
        if data.get("amount"):
            errors["amount"] = ["a disposal has proceeds, not an amount invested"]
    if kind == EquityEventKind.FOLLOW_ON and data.get("round_size") is not None and data.get("amount") \
            and data["round_size"] < data["amount"]:
        errors["round_size"] = ["smaller than our own amount"]
    if errors:
        raise Invalid("股权事件数据不完整 / incomplete equity event", errors)
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        inv = get_investment(grant_id, user)
        if inv.shareholding <= 0:
            raise Conflict("已全部退出，不能再登记事件 / the position is fully exited")
        if data["event_date"] < inv.invested_on:
            raise Invalid("事件日期早于投资日期 / event before the investment", {"event_date": ["before investment"]})
        if kind in (EquityEventKind.BUY_BACK, EquityEventKind.EXIT) and inv.lock_up_end \
                and data["event_date"] < inv.lock_up_end:
            raise Conflict(f"锁定期至 {inv.lock_up_end}，不能提前退出 / locked up until {inv.lock_up_end}",
                           {"event_date": ["within the lock-up period"]})
        amount = data.get("amount") or Decimal("0.00")
        after = shareholding_after(inv.shareholding, kind, amount=amount, round_size=data.get("round_size"),
                                   pre_money=data.get("pre_money_valuation"), fraction_sold=data.get("fraction_sold"))
        ev = EquityEvent(investment_id=inv.id, kind=kind, event_date=data["event_date"], amount=amount,
                         round_size=data.get("round_size"), pre_money_valuation=data.get("pre_money_valuation"),
                         fraction_sold=data.get("fraction_sold"), proceeds=data.get("proceeds") or Decimal("0.00"),
                         shareholding_after=after, note=data.get("note", ""))
        inv.shareholding = after
        s.add(ev)
        s.flush()
        money = amount if kind == EquityEventKind.FOLLOW_ON else -ev.proceeds
        if money:
            ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.EQUITY_EVENT, ev.event_date, money,
                                                    "equity_event", ev.id, memo=kind.value)])
    return ev


def equity_position(grant_id: int, user: User) -> dict:
    """Invested, proceeds and the return on the fiscal money, with average-cost accounting."""
    inv = get_investment(grant_id, user)
    invested = inv.amount
    cost = inv.amount            # cost basis of what we still hold
    disposed_cost = Decimal("0")
    proceeds = Decimal("0")
    steps = [f"初始投资 {inv.amount:.2f} 元，投前估值 {inv.pre_money_valuation:.2f} 元"]
    for ev in inv.events:
        if ev.kind == EquityEventKind.FOLLOW_ON:
            invested += ev.amount
            cost += ev.amount
            steps.append(f"{ev.event_date} 跟投 {ev.amount:.2f} 元")
        elif ev.kind in (EquityEventKind.BUY_BACK, EquityEventKind.EXIT):
            part = (cost * ev.fraction_sold).quantize(CENT)
            disposed_cost += part
            cost -= part
            proceeds += ev.proceeds
            steps.append(f"{ev.event_date} {'回购' if ev.kind == EquityEventKind.BUY_BACK else '退出'} "
                         f"{ev.fraction_sold:%} 持股，收回 {ev.proceeds:.2f} 元（对应成本 {part:.2f} 元）")
        else:
            steps.append(f"{ev.event_date} 稀释：他方融资 {ev.round_size:.2f} 元")
    multiple = (proceeds / disposed_cost).quantize(Decimal("0.0001")) if disposed_cost else None
    return {"investment": inv, "events": list(inv.events), "shareholding": inv.shareholding,
            "invested": invested, "proceeds": proceeds, "cost_of_disposed": disposed_cost,
            "realised_gain": proceeds - disposed_cost, "remaining_cost": cost, "multiple": multiple,
            "explanation": {"zh": steps, "method": "average cost; multiple = proceeds / cost of disposed shares"}}
