"""The registry: institutions, researchers and grants. Each public function is one transaction."""
from __future__ import annotations

from decimal import Decimal
from typing import Callable

from sqlalchemy import or_, select

from grants.access import require_bureau, require_writer_of, scope, visible_to
from grants.db import unit_of_work
from grants.errors import Conflict, Invalid, NotFound
from grants.extensions import db
from grants.models import Grant, GrantStatus, Institution, ManagementMode, Race, Researcher, User

S = GrantStatus


def get_grant(grant_id: int, user: User, *, for_update: bool = False) -> Grant:
    stmt = select(Grant).where(Grant.id == grant_id)
    if for_update:
        stmt = stmt.with_for_update()
    return visible_grant(db.session.execute(stmt).scalar_one_or_none(), grant_id, user)


def visible_grant(grant: Grant | None, grant_id: int, user: User) -> Grant:
    """The grant if the caller may see it; else 404 — another institution's grant is not said to exist."""
    if grant is None or not visible_to(user, grant.institution_id):
        raise NotFound(f"课题 {grant_id} 不存在 / grant {grant_id} not found")
    return grant


# --------------------------------------------------------------------------- institutions & people
def list_institutions(user: User):
    stmt = select(Institution).order_by(Institution.id)
    return scope(stmt, Institution.id, user)


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
    return scope(stmt, Researcher.institution_id, user)


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
    stmt = scope(stmt, Grant.institution_id, user)
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


# Other packages validate what they own on a grant (compliance: the programme code is policy data)
# without the registry importing them: ``check(data, grant_or_None)`` raises Invalid.
GrantCheck = Callable[[dict, "Grant | None"], None]
_grant_checks: list[GrantCheck] = []


def register_grant_check(check: GrantCheck) -> None:
    if check not in _grant_checks:
        _grant_checks.append(check)


def create_grant(data: dict, user: User) -> Grant:
    require_writer_of(user, data["institution_id"])
    if data.get("self_raised_amount") is None:
        data["self_raised_amount"] = Decimal("0.00")
    with unit_of_work() as s:
        _check_grant_refs(data, user)
        for check in _grant_checks:
            check(data, None)
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
        for check in _grant_checks:
            check(data, grant)
        for k, v in data.items():
            setattr(grant, k, v)
    return grant
