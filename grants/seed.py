"""The demo: a living year (two, in fact) of research funding in Ordos, built through the services.

Eight institutions of every kind, 40-odd grants of the four categories and five management modes
with staggered periods, and their activity (``grants.seed_activity``): expenses imported as the
institutions' accountants would, approvals, rejections, reversals, 调剂, tranches paid and gated,
a subsidy paid after acceptance, equity events, evaluations passed, failed, due and overdue.
Everything goes through the same services as the API, so the ledger is a real, verifiable chain.
Deterministic: the same day gives the same data (a seeded random generator, dates relative to today).

Part of the app shell: it may import every package.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import select

from budgets import service as budgets
from compliance.vocabulary import Subject
from evaluations import service as evaluations
from grants import disbursement, equity, lifecycle, registry
from grants.accounts import create_user, issue_token
from grants.db import today
from grants.extensions import db
from grants.models import (Category, FundingMode, Grant, Institution, InstitutionKind, ManagementMode, Researcher,
                           Role, User)
from grants.seed_activity import Activity

K = InstitutionKind
INSTITUTIONS = [  # (login, name, kind, topics)
    ("inst_ordos_univ", "鄂尔多斯应用技术学院", K.UNIVERSITY, ("煤基固废高值化利用", "矿区生态修复", "智能采矿装备")),
    ("inst_imu_ordos", "内蒙古大学鄂尔多斯学院", K.UNIVERSITY, ("荒漠化土壤微生物", "蒙古语信息处理", "草原碳汇计量")),
    ("inst_coal_chem", "鄂尔多斯市煤化工研究院", K.RESEARCH_INSTITUTE, ("煤制烯烃催化剂", "煤焦油深加工", "二氧化碳捕集")),
    ("inst_agri", "鄂尔多斯市农牧业科学研究院", K.RESEARCH_INSTITUTE, ("阿尔巴斯绒山羊育种", "盐碱地改良", "马铃薯脱毒种薯")),
    ("inst_yitai_h2", "内蒙古伊泰氢能科技有限公司", K.ENTERPRISE, ("氢燃料电池电堆", "加氢站安全监测", "氢能重卡动力系统")),
    ("inst_energy_group", "鄂尔多斯市能源投资集团有限公司", K.STATE_OWNED, ("智慧矿山数字孪生", "煤电灵活性改造", "矿井水资源化")),
    ("inst_green_h2", "鄂尔多斯绿氢装备有限公司", K.ENTERPRISE, ("碱性电解槽", "风光制氢耦合控制", "储氢合金材料")),
    ("inst_ordos_lab", "鄂尔多斯实验室", K.NEW_RD, ("稀土功能材料", "现代煤化工新工艺", "新能源材料中试")),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ("建国", "海燕", "志强", "丽娜", "文博", "晓东", "雅琴", "宏伟", "思远", "佳怡", "永胜", "敏", "浩然", "巴特尔", "其其格")


@dataclass
class GrantPlan:
    code: str
    title: str
    login: str
    category: Category
    funding_mode: FundingMode
    management_mode: ManagementMode
    amount: D
    start: date
    months: int
    fund_source: str | None = None


def _plans(rng: random.Random, anchor: date) -> list[GrantPlan]:
    """44 grants: every institution gets a mix that fits its kind; periods staggered over three years."""
    plans, n = [], 0
    C, F, M = Category, FundingMode, ManagementMode
    for login, _, kind, topics in INSTITUTIONS:
        if kind in (K.UNIVERSITY, K.RESEARCH_INSTITUTE):
            mix = [(C.COMPETITIVE, F.BUDGETED, M.STANDARD), (C.COMPETITIVE, F.BUDGETED, M.MILESTONE),
                   (C.STABLE, F.LUMP_SUM, M.DIRECTED), (C.STABLE, F.BUDGETED, M.STANDARD),
                   (C.COMPETITIVE, F.BUDGETED, M.OPEN_COMPETITION), (C.COMPETITIVE, F.LUMP_SUM, M.STANDARD)]
        elif kind == K.NEW_RD:
            mix = [(C.GRANT_TO_EQUITY, F.LUMP_SUM, M.DIRECTED), (C.COMPETITIVE, F.BUDGETED, M.OPEN_COMPETITION),
                   (C.STABLE, F.LUMP_SUM, M.DIRECTED), (C.GRANT_TO_EQUITY, F.LUMP_SUM, M.MILESTONE)]
        else:
            mix = [(C.POST_SUBSIDY, F.BUDGETED, M.STANDARD), (C.POST_SUBSIDY, F.BUDGETED, M.STANDARD),
                   (C.GRANT_TO_EQUITY, F.LUMP_SUM, M.STANDARD), (C.COMPETITIVE, F.BUDGETED, M.MILESTONE)]
        for i, (cat, mode, mgmt) in enumerate(mix):
            n += 1
            topic = topics[i % len(topics)]
            start = anchor - timedelta(days=rng.randint(60, 1000))
            start = start.replace(day=1)
            amount = D(rng.choice((30, 50, 80, 120, 150, 200, 300, 450, 600))) * 10_000
            if cat == C.GRANT_TO_EQUITY:
                amount = D(rng.choice((300, 500, 800))) * 10_000
            suffix = {"directed": "（定向委托）", "open_competition": "（揭榜挂帅）", "milestone": "（里程碑）"}.get(
                mgmt.value, "")
            source = None
            if kind == K.RESEARCH_INSTITUTE and cat == C.STABLE:
                source = "basic_research"        # 基本科研业务费 (the youth-share panel)
            elif kind == K.UNIVERSITY and cat == C.STABLE and mode == F.BUDGETED:
                source = "enterprise_contract"   # a 横向 project (the ≥ 40万 recognition panel)
            plans.append(GrantPlan(f"ORD-{start.year}-{100 + n}", f"{topic}关键技术研究{suffix}", login, cat, mode, mgmt,
                                   amount, start, rng.choice((24, 30, 36)), source))
    # one 赛马制 challenge: three teams racing on one problem
    for j, login in enumerate(("inst_coal_chem", "inst_ordos_lab", "inst_ordos_univ")):
        n += 1
        plans.append(GrantPlan(f"ORD-RACE-{j + 1:02d}", f"煤制高端碳材料揭榜攻关（赛马制·第{j + 1}队）", login,
                               C.COMPETITIVE, F.BUDGETED, M.HORSE_RACE, D("1500000.00"),
                               (anchor - timedelta(days=540)).replace(day=1), 30))
    return plans


def _user(username: str, role: Role, password: str, institution_id: int | None) -> tuple[User, str]:
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        return create_user(username, role, password, institution_id, email=f"{username}@demo.localhost")
    user.set_password(password)
    db.session.commit()
    return user, issue_token(user, "demo")


def _people(rng: random.Random, inst: Institution, admin: User) -> list[Researcher]:
    people = []
    for i in range(5):
        born = date(rng.randint(1964, 1998), rng.randint(1, 12), rng.randint(1, 28))
        people.append(registry.create_researcher(
            {"institution_id": inst.id, "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
             "birth_date": born, "title": rng.choice(("教授", "研究员", "副教授", "高级工程师", "助理研究员")),
             "salaried": i < 4}, admin))
    return people


def _budget(plan: GrantPlan) -> list[dict]:
    """设备 30%, 劳务 20%, 间接 10% (well inside every tier cap), 业务 the rest."""
    total = plan.amount
    equipment, labour, indirect = (total * D(p) for p in ("0.30", "0.20", "0.10"))
    return [{"subject": Subject.EQUIPMENT, "amount": equipment}, {"subject": Subject.LABOUR, "amount": labour},
            {"subject": Subject.INDIRECT, "amount": indirect},
            {"subject": Subject.OPERATIONS, "amount": total - equipment - labour - indirect}]


def _create_grant(plan: GrantPlan, inst: Institution, pi: Researcher, admin: User, race_id: int | None) -> Grant:
    end = _add_months(plan.start, plan.months) - timedelta(days=1)
    extra = {"self_raised_amount": plan.amount * 3} if plan.category == Category.POST_SUBSIDY else {}
    if plan.fund_source:
        extra["fund_source"] = plan.fund_source
        if plan.fund_source == "enterprise_contract":   # 横向: the enterprise's own money beside the city's
            extra["self_raised_amount"] = plan.amount * 2
    if race_id:
        extra["race_id"] = race_id
    g = registry.create_grant({"code": plan.code, "title": plan.title, "institution_id": inst.id, "pi_id": pi.id,
                               "category": plan.category, "funding_mode": plan.funding_mode,
                               "management_mode": plan.management_mode, "fiscal_amount": plan.amount,
                               "start_date": plan.start, "end_date": end, **extra}, admin)
    if plan.funding_mode == FundingMode.BUDGETED and plan.category != Category.POST_SUBSIDY:
        budgets.set_budget(g.id, _budget(plan), admin)
    return g


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28))


def _showcase(insts: dict[str, Institution], people: dict[str, list[Researcher]], admin: User) -> None:
    """The four grants every walkthrough starts from, one per category (ORD-2025-001 … 004)."""

    def grant(code, title, login, category, mode, amount, mgmt=ManagementMode.STANDARD, **extra):
        return registry.create_grant({"code": code, "title": title, "institution_id": insts[login].id,
                                      "pi_id": people[login][0].id, "category": category, "funding_mode": mode,
                                      "management_mode": mgmt, "fiscal_amount": D(amount),
                                      "start_date": date(2025, 1, 1), "end_date": date(2027, 12, 31), **extra}, admin)

    g1 = grant("ORD-2025-001", "煤基固废高值化利用关键技术", "inst_ordos_univ", Category.COMPETITIVE,
               FundingMode.BUDGETED, "3000000.00", ManagementMode.MILESTONE)
    budgets.set_budget(g1.id, [{"subject": Subject.EQUIPMENT, "amount": D("800000.00")},
                               {"subject": Subject.OPERATIONS, "amount": D("1200000.00")},
                               {"subject": Subject.LABOUR, "amount": D("500000.00")},
                               {"subject": Subject.INDIRECT, "amount": D("500000.00")}], admin)
    m1 = disbursement.create_milestone(g1.id, {"title": "中期评估", "due_date": date(2026, 6, 30)}, admin)
    disbursement.create_tranche(g1.id, {"planned_date": date(2025, 1, 15), "amount": D("1800000.00")}, admin)
    disbursement.create_tranche(g1.id, {"planned_date": date(2026, 7, 15), "amount": D("1200000.00"),
                                        "milestone_id": m1.id}, admin)
    for action in ("approve", "activate"):
        lifecycle.transition(g1.id, action, admin)
    disbursement.pay_tranche(g1.id, g1.tranches[0].id, admin, date(2025, 1, 20))

    g2 = grant("ORD-2025-002", "稀土功能材料基础研究（包干制）", "inst_coal_chem", Category.STABLE,
               FundingMode.LUMP_SUM, "600000.00")
    disbursement.create_tranche(g2.id, {"planned_date": date(2025, 2, 1), "amount": D("600000.00")}, admin)
    for action in ("approve", "activate"):
        lifecycle.transition(g2.id, action, admin)
    disbursement.pay_tranche(g2.id, g2.tranches[0].id, admin, date(2025, 2, 1))

    g3 = grant("ORD-2025-003", "氢能重卡燃料电池系统研发（先立项后补助）", "inst_yitai_h2",
               Category.POST_SUBSIDY, FundingMode.BUDGETED, "2000000.00", self_raised_amount=D("8000000.00"))
    disbursement.set_subsidy_terms(g3.id, {"ratio_cap": D("0.2500"), "absolute_cap": D("2000000.00"),
                                           "programme": "企业研发后补助"}, admin)
    for action in ("approve", "activate"):
        lifecycle.transition(g3.id, action, admin)

    g4 = grant("ORD-2025-004", "绿氢制储一体化装备成果转化（拨改投）", "inst_ordos_lab",
               Category.GRANT_TO_EQUITY, FundingMode.LUMP_SUM, "5000000.00")
    for action in ("approve", "activate"):
        lifecycle.transition(g4.id, action, admin)
    equity.create_investment(g4.id, {"investee_name": "鄂尔多斯绿氢装备有限公司", "holder": "鄂尔多斯市国有资本投资运营有限公司",
                                     "amount": D("5000000.00"), "pre_money_valuation": D("45000000.00"),
                                     "invested_on": date(2025, 4, 1), "lock_up_end": date(2028, 3, 31),
                                     "conditions": {"allowed_subjects": ["equipment", "operations", "labour", "lump_sum"],
                                                    "forbidden_purposes": ["investment", "debt_repayment"]}}, admin)


def seed_demo(password: str | None = None, *, living: bool = True) -> list[str]:
    """The showcase grants, and with ``living`` the two years around them (the browser tests skip those)."""
    password = password or secrets.token_urlsafe(9)
    out, tokens = [], {}

    def login(username: str, role: Role, institution_id: int | None = None) -> User:
        user, tokens[username] = _user(username, role, password, institution_id)
        return user

    already = db.session.execute(select(Institution.id).limit(1)).first() is not None
    admin = login("admin", Role.ADMIN)
    bureau = login("bureau", Role.FINANCE_BUREAU)
    login("auditor", Role.AUDITOR)
    if not already:
        rng = random.Random(20261123)
        anchor = today()
        insts, people, staff = {}, {}, {}
        for username, name, kind, _ in INSTITUTIONS:
            insts[username] = registry.create_institution({"name": name, "kind": kind}, admin)
            people[username] = _people(rng, insts[username], admin)
            staff[username] = login(username, Role.INSTITUTION, insts[username].id)
        _showcase(insts, people, admin)
        grants = []
        if living:
            race = disbursement.create_race("煤制高端碳材料揭榜攻关", ["第一阶段：方案验证", "第二阶段：中试放大"], bureau)
            for plan in _plans(rng, anchor):
                race_id = race.id if plan.management_mode == ManagementMode.HORSE_RACE else None
                grants.append((plan, _create_grant(plan, insts[plan.login], rng.choice(people[plan.login][:4]),
                                                   admin, race_id)))
            summary = Activity(rng, anchor, bureau, admin, staff, people, race).run(grants)
        else:
            summary = "the showcase grants only"
            evaluations.schedule_all()
        out.append(f"演示数据已创建 / demo data created: {len(insts)} institutions, {len(grants) + 4} grants; {summary}")
    else:
        out.append("演示数据已存在 / demo data already present; passwords reset")
        for username, name, _, _ in INSTITUTIONS:
            inst = db.session.execute(select(Institution).where(Institution.name == name)).scalar_one_or_none()
            if inst is not None:
                login(username, Role.INSTITUTION, inst.id)
    out.append(f"登录 / logins (password for all: {password}):")
    roles = {"admin": Role.ADMIN, "bureau": Role.FINANCE_BUREAU, "auditor": Role.AUDITOR}
    for username in ("bureau", "auditor", "admin", *(i[0] for i in INSTITUTIONS)):
        if username in tokens:
            role = roles.get(username, Role.INSTITUTION)
            out.append(f"  {username:<18} {role.value:<15} API token: {tokens[username]}")
    out.append("服务地址 / serving on http://127.0.0.1:5000  (API docs: /api/v1/docs)")
    return out
