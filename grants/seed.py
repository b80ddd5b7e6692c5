"""A small, realistic demo: four institutions, grants of all four categories, one user per role.

Built through the same services the API uses, so the demo's ledger is a real, verifiable chain.
"""
from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal as D

from sqlalchemy import select

from grants.extensions import db
from grants.models import Category, FundingMode, Institution, InstitutionKind, ManagementMode, Role, User

DEMO_USERS = [("bureau", Role.FINANCE_BUREAU), ("auditor", Role.AUDITOR), ("admin", Role.ADMIN),
              ("inst_ordos_univ", Role.INSTITUTION)]


def _user(username, role, password, institution_id):
    from grants.accounts import create_user, issue_token

    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        return create_user(username, role, password, institution_id, email=f"{username}@demo.localhost")
    user.set_password(password)
    db.session.commit()
    return user, issue_token(user, "demo")


def seed_demo(password: str | None = None) -> list[str]:
    from budgets import service as budgets
    from grants import disbursement, equity, lifecycle, registry

    password = password or secrets.token_urlsafe(9)
    out = []
    already = db.session.execute(select(Institution.id).limit(1)).first() is not None
    admin, _ = _user("admin", Role.ADMIN, password, None)
    if not already:
        insts = {}
        for name, kind in [("鄂尔多斯应用技术学院", InstitutionKind.UNIVERSITY),
                           ("鄂尔多斯市煤化工研究院", InstitutionKind.RESEARCH_INSTITUTE),
                           ("内蒙古伊泰氢能科技有限公司", InstitutionKind.ENTERPRISE),
                           ("鄂尔多斯实验室", InstitutionKind.NEW_RD)]:
            insts[kind] = registry.create_institution({"name": name, "kind": kind}, admin)
        people = {}
        for kind, inst in insts.items():
            people[kind] = registry.create_researcher(
                {"institution_id": inst.id, "name": f"{inst.name[:4]}课题负责人", "birth_date": date(1988, 3, 12),
                 "title": "教授", "salaried": True}, admin)

        def grant(code, title, kind, category, mode, amount, mgmt=ManagementMode.STANDARD, **extra):
            return registry.create_grant({"code": code, "title": title, "institution_id": insts[kind].id,
                                         "pi_id": people[kind].id, "category": category, "funding_mode": mode,
                                         "management_mode": mgmt, "fiscal_amount": D(amount),
                                         "start_date": date(2025, 1, 1), "end_date": date(2027, 12, 31),
                                         **extra}, admin)

        from budgets.models import Subject

        g1 = grant("ORD-2025-001", "煤基固废高值化利用关键技术", InstitutionKind.UNIVERSITY, Category.COMPETITIVE,
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

        g2 = grant("ORD-2025-002", "稀土功能材料基础研究（包干制）", InstitutionKind.RESEARCH_INSTITUTE, Category.STABLE,
                   FundingMode.LUMP_SUM, "600000.00")
        disbursement.create_tranche(g2.id, {"planned_date": date(2025, 2, 1), "amount": D("600000.00")}, admin)
        for action in ("approve", "activate"):
            lifecycle.transition(g2.id, action, admin)
        disbursement.pay_tranche(g2.id, g2.tranches[0].id, admin, date(2025, 2, 1))

        g3 = grant("ORD-2025-003", "氢能重卡燃料电池系统研发（先立项后补助）", InstitutionKind.ENTERPRISE,
                   Category.POST_SUBSIDY, FundingMode.BUDGETED, "2000000.00", self_raised_amount=D("8000000.00"))
        disbursement.set_subsidy_terms(g3.id, {"ratio_cap": D("0.2500"), "absolute_cap": D("2000000.00"),
                                          "programme": "企业研发后补助"}, admin)
        for action in ("approve", "activate"):
            lifecycle.transition(g3.id, action, admin)

        g4 = grant("ORD-2025-004", "绿氢制储一体化装备成果转化（拨改投）", InstitutionKind.NEW_RD,
                   Category.GRANT_TO_EQUITY, FundingMode.LUMP_SUM, "5000000.00")
        for action in ("approve", "activate"):
            lifecycle.transition(g4.id, action, admin)
        equity.create_investment(g4.id, {"investee_name": "鄂尔多斯绿氢装备有限公司", "holder": "鄂尔多斯市国有资本投资运营有限公司",
                                          "amount": D("5000000.00"), "pre_money_valuation": D("45000000.00"),
                                          "invested_on": date(2025, 4, 1), "lock_up_end": date(2028, 3, 31),
                                          "conditions": {"allowed_subjects": ["equipment", "operations", "labour", "lump_sum"],
                                                         "forbidden_purposes": ["investment", "debt_repayment"]}}, admin)
        from evaluations.service import schedule_all

        scheduled = schedule_all()
        out.append(f"演示数据已创建 / demo data created: 4 institutions, 4 grants (one per category), "
                   f"{scheduled} evaluations scheduled")
    else:
        out.append("演示数据已存在 / demo data already present; passwords reset")
    univ = db.session.execute(select(Institution).where(Institution.kind == InstitutionKind.UNIVERSITY)).scalars().first()
    out.append(f"登录 / logins (password for all: {password}):")
    for username, role in DEMO_USERS:
        _, token = _user(username, role, password, univ.id if role == Role.INSTITUTION else None)
        out.append(f"  {username:<18} {role.value:<15} API token: {token}")
    out.append("服务地址 / serving on http://127.0.0.1:5000  (API docs: /api/v1/docs)")
    return out
