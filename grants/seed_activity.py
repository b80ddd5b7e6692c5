"""The demo's two years of activity, driven through the services as the people would drive them.

Institutions import their expense spreadsheets month by month (mostly in order, some warned, some
waiting for the bureau, a few rejected by the negative list); the bureau pays tranches when their
milestones pass, works the approval queue, decides 调剂, accepts finished grants, assesses and pays a
先立项后补助 subsidy and records equity events; evaluations are scheduled and most past ones decided.
Part of the app shell (see ``grants.seed``).
"""
from __future__ import annotations

import csv
import io
import random
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal as D

from sqlalchemy import select

from budgets import service as budgets
from budgets import subsidy
from budgets.expenses import service as expenses
from budgets.expenses.importer import import_expenses
from budgets.models import Expense, ExpenseStatus
from compliance.vocabulary import Subject
from evaluations import service as evaluations
from evaluations.models import Evaluation, EvaluationStatus
from grants import disbursement, equity, lifecycle
from grants.errors import DomainError
from grants.extensions import db
from grants.models import (Category, EquityEventKind, FundingMode, Grant, GrantStatus, Institution, InstitutionKind,
                           ManagementMode, User)
from reports import service as reports

CENT = D("0.01")
COLUMNS = ("grant_code", "expense_date", "amount", "subject", "purpose", "description", "payee_name", "payee_kind",
           "payment_method", "invoice_no", "invoice_verified", "unit_value", "quantity", "platform_registered",
           "expert_title", "expert_days", "fund_source")

VENDORS = {
    "materials": (("国药集团化学试剂有限公司", "购买实验试剂（无水乙醇、盐酸、丙酮）"), ("鄂尔多斯市科仪实验器材有限公司", "购买玻璃器皿与耗材"),
                  ("西格玛奥德里奇（上海）贸易有限公司", "购买标准品及色谱柱"), ("内蒙古稀土功能材料供应站", "购买稀土氧化物原料")),
    "testing": (("内蒙古自治区分析测试中心", "委托样品XRD与SEM表征测试"), ("鄂尔多斯市产品质量检验检测中心", "委托样品元素分析"),
                ("中国科学院山西煤炭化学研究所分析中心", "委托催化剂比表面积测试")),
    "travel": (("鄂尔多斯伊金霍洛国际机场", "赴北京参加行业学术会议往返机票"), ("呼和浩特铁路局", "赴呼和浩特项目调研高铁票"),
               ("鄂尔多斯东胜国际饭店", "项目组野外调研住宿费")),
    "meeting": (("鄂尔多斯国际会展中心", "召开项目中期推进会会议费"), ("东胜宾馆", "承办学术研讨会场地及资料费")),
    "publication": (("中国煤炭学会期刊社", "论文版面费"), ("国家知识产权局", "发明专利申请费"), ("中国知网", "文献数据库检索费")),
    "fuel_power": (("国网鄂尔多斯供电公司", "中试装置单独计量电费"),),
    "software": (("北京数模软件有限公司", "购买专用仿真软件许可"),),
}
EQUIPMENT = (("高效液相色谱仪", D("286000.00")), ("电化学工作站", D("168000.00")), ("高低温试验箱", D("95000.00")),
             ("便携式气体分析仪", D("42000.00")), ("工业相机及视觉系统", D("76000.00")), ("X射线衍射仪", D("1280000.00")))
STUDENTS = ("研究生 王宇航", "研究生 乌云娜", "博士后 刘子涵", "研究生 陈嘉欣", "科研助理 赵一鸣", "财务助理 孙悦")
EXPERTS = ("北京科技大学 李教授", "内蒙古工业大学 张研究员", "中国矿业大学 高教授", "清华大学 周教授")
FORBIDDEN = (("购买加油卡供项目用车使用", "鄂尔多斯中石化销售有限公司"), ("支付项目用车交通违章罚款", "鄂尔多斯市公安局交通管理支队"),
             ("课题组年终聚餐宴请", "鄂尔多斯蒙古大营餐饮有限公司"), ("购买超市购物卡发放课题组成员", "鄂尔多斯维多利商厦"))


def _money(x: D) -> D:
    return x.quantize(CENT, rounding=ROUND_DOWN)


class Activity:
    def __init__(self, rng: random.Random, anchor: date, bureau: User, admin: User, staff: dict[str, User],
                 people: dict, race):
        self.rng, self.anchor, self.bureau, self.admin = rng, anchor, bureau, admin
        self.staff, self.people, self.race = staff, people, race
        self.invoice_seq = 0
        self.counts: Counter = Counter()

    # ----------------------------------------------------------------------- the whole story
    def run(self, grants: list) -> str:
        for plan, g in grants:
            if g.category == Category.POST_SUBSIDY:
                disbursement.set_subsidy_terms(g.id, {"ratio_cap": D("0.2500"), "absolute_cap": g.fiscal_amount,
                                                      "programme": "企业研发后补助"}, self.bureau)
            lifecycle.transition(g.id, "approve", self.bureau, "评审通过，批准立项")
            lifecycle.transition(g.id, "activate", self.bureau, "任务书已签订")
            self._money_in(plan, g)
        rows_by_login: dict[str, list[dict]] = defaultdict(list)
        for plan, g in grants:
            rows_by_login[plan.login].extend(self._expense_rows(plan, g))
        for login, rows in rows_by_login.items():
            rows.sort(key=lambda r: r["expense_date"])
            result = import_expenses(_csv(rows), f"{login}-报销明细.csv", self.staff[login], partial=True)
            self.counts["imported"] += result["booked"]
        self._work_the_queue()
        self._adjustments(grants)
        self._close_out(grants)
        self._evaluations()
        self._seed_figures()
        return (f"{self.counts['imported']} expenses imported ({self.counts['approved']} approved, "
                f"{self.counts['rejected']} rejected, {self.counts['reversed']} reversed by the bureau), "
                f"{self.counts['tranches']} tranches paid, {self.counts['evaluations']} evaluations decided")

    # ----------------------------------------------------------------------- tranches, races, equity
    def _money_in(self, plan, g: Grant) -> None:
        mid = g.start_date + (g.end_date - g.start_date) / 2
        if g.category == Category.POST_SUBSIDY:
            return  # self-funded: the subsidy comes after acceptance
        if g.category == Category.GRANT_TO_EQUITY:
            self._invest(g)
            return
        stage = {st.stage_no: st.id for st in self.race.stages} if g.race_id else {}
        first = _money(g.fiscal_amount * D("0.6"))
        t1 = disbursement.create_tranche(g.id, {"planned_date": g.start_date + timedelta(days=10), "amount": first,
                                                **({"race_stage_id": stage[1]} if stage else {})}, self.bureau)
        disbursement.pay_tranche(g.id, t1.id, self.bureau, g.start_date + timedelta(days=12))
        self.counts["tranches"] += 1
        m = disbursement.create_milestone(g.id, {"title": "中期评估：关键指标达成", "due_date": mid}, self.bureau)
        t2 = disbursement.create_tranche(g.id, {"planned_date": mid + timedelta(days=20),
                                                "amount": g.fiscal_amount - first, "milestone_id": m.id,
                                                **({"race_stage_id": stage[2]} if stage else {})}, self.bureau)
        if mid > self.anchor - timedelta(days=20):
            return  # not yet due: the tranche waits for its milestone
        if g.race_id:
            return  # decided for all teams at once in _close_out
        accepted = self.rng.random() > 0.1
        disbursement.decide_milestone(g.id, m.id, accepted, self.bureau, mid + timedelta(days=10),
                                      "专家组评审通过" if accepted else "关键指标未达成，限期整改")
        if accepted:
            disbursement.pay_tranche(g.id, t2.id, self.bureau, mid + timedelta(days=20))
            self.counts["tranches"] += 1

    def _invest(self, g: Grant) -> None:
        invested = g.start_date + timedelta(days=30)
        lock_up = invested + timedelta(days=365 if g.management_mode == ManagementMode.STANDARD else 1460)
        equity.create_investment(g.id, {
            "investee_name": g.title[:12] + "项目公司", "holder": "鄂尔多斯市国有资本投资运营有限公司",
            "amount": g.fiscal_amount, "pre_money_valuation": g.fiscal_amount * 9, "invested_on": invested,
            "lock_up_end": lock_up,
            "conditions": {"allowed_subjects": ["equipment", "operations", "labour", "lump_sum"],
                           "forbidden_purposes": ["investment", "debt_repayment"]}}, self.bureau)
        follow_on = invested + timedelta(days=300)
        if follow_on < self.anchor:
            equity.add_equity_event(g.id, {"kind": EquityEventKind.FOLLOW_ON, "event_date": follow_on,
                                           "amount": _money(g.fiscal_amount * D("0.2")),
                                           "round_size": g.fiscal_amount * 2,
                                           "pre_money_valuation": g.fiscal_amount * 15, "note": "A轮跟投"}, self.bureau)
        exit_on = lock_up + timedelta(days=30)
        if exit_on < self.anchor:
            equity.add_equity_event(g.id, {"kind": EquityEventKind.EXIT, "event_date": exit_on,
                                           "fraction_sold": D("0.5000"), "proceeds": _money(g.fiscal_amount * D("0.9")),
                                           "note": "锁定期满，按合理回报原则部分退出"}, self.bureau)

    # ----------------------------------------------------------------------- expenses
    def _expense_rows(self, plan, g: Grant) -> list[dict]:
        end = min(self.anchor - timedelta(days=1), g.end_date)
        if end <= g.start_date:
            return []
        elapsed = (end - g.start_date).days / max(1, (g.end_date - g.start_date).days)
        available = g.fiscal_amount if g.category in (Category.POST_SUBSIDY, Category.GRANT_TO_EQUITY) \
            else disbursement.disbursed_total(g.id)
        target = min(g.fiscal_amount * D(str(round(0.8 * elapsed * self.rng.uniform(0.6, 1.0), 4))),
                     available * D("0.9"))
        lump = g.funding_mode == FundingMode.LUMP_SUM
        shares = {"equipment": D("0.25"), "operations": D("0.40"), "labour": D("0.18"), "indirect": D("0.08")}
        rows = []
        for subject, share in shares.items():
            budget = target * share
            spent = D(0)
            while spent < budget:
                row = self._row(subject, budget - spent, g, end)
                if row is None:
                    break
                if lump:
                    row["subject"] = Subject.LUMP_SUM.value
                if g.fund_source == "basic_research":
                    row["fund_source"] = g.fund_source
                spent += D(row["amount"])
                rows.append(row)
        return rows

    def _row(self, subject: str, left: D, g: Grant, end: date) -> dict | None:
        rng = self.rng
        day = g.start_date + timedelta(days=rng.randint(5, max(5, (end - g.start_date).days)))
        self.invoice_seq += 1
        invoice = f"{day.year}{rng.randint(10, 99)}{self.invoice_seq:08d}"
        base = {"grant_code": g.code, "expense_date": min(day, end).isoformat(), "subject": subject,
                "payment_method": "official_card", "payee_kind": "vendor", "invoice_no": invoice,
                "invoice_verified": "true"}
        roll = rng.random()
        if subject == "equipment":
            name, unit = rng.choice(EQUIPMENT)
            if unit > left:
                return None
            registered = unit < 300_000 or rng.random() > 0.3
            return {**base, "amount": f"{unit:.2f}", "purpose": "equipment_purchase",
                    "description": f"购置{name}一台（政府采购）", "payee_name": "鄂尔多斯市科仪实验器材有限公司",
                    "payment_method": "bank_transfer", "unit_value": f"{unit:.2f}", "quantity": "1",
                    "platform_registered": "true" if registered else ""}
        if subject == "labour":
            if rng.random() < 0.25:
                days = rng.choice((1, 2))
                rate = rng.choice((D("1800"), D("2000"), D("2400"), D("3200")))  # 3200/day is over the cap
                return {**base, "amount": f"{rate * days:.2f}", "purpose": "expert_fee",
                        "description": "项目中期评审专家咨询费", "payee_name": rng.choice(EXPERTS),
                        "payee_kind": "external_expert", "payment_method": "bank_transfer", "invoice_no": "",
                        "invoice_verified": "", "expert_title": "senior", "expert_days": str(days)}
            amount = D(rng.choice((1500, 2000, 2500, 3000, 4500)))
            return {**base, "amount": f"{amount:.2f}", "purpose": rng.choice(("labour_fee", "stipend")),
                    "description": "参与项目研究劳务费（按月发放）", "payee_name": rng.choice(STUDENTS),
                    "payee_kind": "student", "payment_method": "bank_transfer", "invoice_no": "",
                    "invoice_verified": ""}
        if subject == "indirect":
            amount = _money(min(left, D(rng.choice((20000, 30000, 50000)))))
            if amount <= 0:
                return None
            return {**base, "amount": f"{amount:.2f}", "purpose": "performance_pay",
                    "description": "间接费用：项目组绩效支出", "payee_name": "本单位科研人员绩效",
                    "payee_kind": "institution", "payment_method": "internal_transfer", "invoice_no": "",
                    "invoice_verified": ""}
        purpose = rng.choice(tuple(VENDORS))
        payee, what = rng.choice(VENDORS[purpose])
        amount = _money(D(str(round(rng.lognormvariate(8.9, 0.9), 2))))
        row = {**base, "amount": f"{max(amount, D('120.00')):.2f}", "purpose": purpose, "description": what,
               "payee_name": payee}
        if roll < 0.02:
            what, payee = rng.choice(FORBIDDEN)
            row.update(description=what, payee_name=payee, purpose="other")
        elif roll < 0.05:
            row.update(payment_method="cash", amount="1860.00")
        elif roll < 0.065:
            row.update(invoice_verified="false")
        return row

    def _work_the_queue(self) -> None:
        pending = db.session.scalars(select(Expense.id).where(Expense.status == ExpenseStatus.PENDING)
                                     .order_by(Expense.id)).all()
        for eid in sorted(self.rng.sample(pending, min(150, len(pending)))):  # the bureau's year, not every item
            roll = self.rng.random()
            try:
                if roll < 0.55:
                    expenses.decide_expense(eid, True, "经审核，资料齐全，同意列支", self.bureau)
                    self.counts["approved"] += 1
                elif roll < 0.75:
                    expenses.decide_expense(eid, False, "不符合经费使用规定，不予列支", self.bureau)
                    self.counts["rejected"] += 1
            except DomainError:
                pass  # e.g. the budget line ran out meanwhile: it stays in the queue, as it would
        posted = db.session.scalars(select(Expense.id).where(Expense.status == ExpenseStatus.POSTED)
                                    .order_by(Expense.id)).all()
        for eid in self.rng.sample(posted, min(6, len(posted))):
            expenses.reverse_expense(eid, "发票信息有误，冲销后重新报销", self.bureau)
            self.counts["reversed"] += 1

    def _adjustments(self, grants: list) -> None:
        budgeted = [g for _, g in grants if g.funding_mode == FundingMode.BUDGETED and g.status == GrantStatus.ACTIVE]
        for i, g in enumerate(budgeted[:6]):
            staff = self.staff[next(login for login, u in self.staff.items() if u.institution_id == g.institution_id)]
            small = i % 2 == 0
            data = ({"from_subject": Subject.OPERATIONS, "to_subject": Subject.LABOUR, "amount": D("20000.00"),
                     "reason": "增加研究生参与，劳务费不足"} if small else
                    {"from_subject": Subject.OPERATIONS, "to_subject": Subject.EQUIPMENT, "amount": D("50000.00"),
                     "reason": "新增一台便携式检测设备"})
            try:
                adj = budgets.request_adjustment(g.id, data, staff)
            except DomainError:
                continue
            if not small and i < 4:
                budgets.decide_adjustment(g.id, adj.id, True, "同意调增设备费", self.bureau)

    # ----------------------------------------------------------------------- closing, subsidy, evaluations
    def _close_out(self, grants: list) -> None:
        race_teams = [g for _, g in grants if g.race_id]
        if race_teams and race_teams[0].start_date + timedelta(days=300) < self.anchor:
            disbursement.select_teams(self.race.id, 2, [g.id for g in race_teams[:2]], self.bureau,
                         race_teams[0].start_date + timedelta(days=300))
        for _, g in grants:
            if g.end_date >= self.anchor:
                continue
            lifecycle.transition(g.id, "request_acceptance", self.bureau, "任务已完成，申请结题验收")
            if g.category == Category.POST_SUBSIDY or self.rng.random() < 0.6:
                lifecycle.transition(g.id, "accept", self.bureau, "验收专家组评议通过")
                if g.category == Category.POST_SUBSIDY:
                    subsidy.assess_subsidy(g.id, self.bureau)
                    subsidy.pay_subsidy(g.id, self.bureau)

    def _evaluations(self) -> None:
        """Past evaluations filed by the institution and decided by the bureau; the latest ones left overdue."""
        evaluations.schedule_all()
        due = db.session.scalars(select(Evaluation).where(
            Evaluation.due_date < self.anchor - timedelta(days=45),
            Evaluation.status == EvaluationStatus.DUE).order_by(Evaluation.id)).all()
        by_institution = {u.institution_id: u for u in self.staff.values()}
        for ev in due:
            staff = by_institution[ev.grant.institution_id]
            evaluations.submit_evaluation(ev.id, staff, "按期提交自评报告", ev.due_date - timedelta(days=5))
            failed = self.rng.random() < 0.08
            status = EvaluationStatus.FAILED if failed else EvaluationStatus.PASSED
            evaluations.record_result(ev.id, status, "专家组评议" + ("未通过" if failed else "通过"), self.bureau,
                                      ev.due_date + timedelta(days=10))
            self.counts["evaluations"] += 1
        evaluations.mark_overdue(self.anchor)  # what nobody filed in time is overdue, with its consequences

    def _seed_figures(self) -> None:
        """What the bureau enters for the seed policies' panels: the city's S&T budget of the last four years
        (growing about 20% a year) and each state-owned enterprise's R&D spend of the last three."""
        year = self.anchor.year
        amount = D("180000000.00")
        for y in range(year - 3, year + 1):
            reports.record_st_budget(y, {"amount": amount, "note": "市本级科技专项资金预算"}, self.bureau)
            amount = _money(amount * D(str(round(self.rng.uniform(1.12, 1.26), 2))))
        for inst in db.session.scalars(select(Institution).where(Institution.kind == InstitutionKind.STATE_OWNED)):
            spend = D(self.rng.choice((3200, 4500, 6100))) * 10_000
            for y in range(year - 3, year):
                reports.record_rd_spend({"institution_id": inst.id, "year": y, "rd_spend": spend,
                                         "note": "企业年度研发投入（经审计）"}, self.bureau)
                spend = _money(spend * D(str(round(self.rng.uniform(1.05, 1.3), 2))))

def _csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")

