"""The finance bureau's workbench in headless Debian chromium: the dashboard (charts with their tables and
XLSX downloads, the seed-policy inputs), the approval queue, and grants through their whole life."""
import io
from decimal import Decimal

import openpyxl
import pytest

from tests.e2e.conftest import _login
from tests.e2e.test_journeys import shot

pytestmark = pytest.mark.e2e


def test_dashboard_chart_table_and_xlsx(live_server, browser, tmp_path):
    app, base = live_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, base, "bureau")
    assert page.locator("#panel-verdicts_by_month").count() == 1       # the bureau's home page is its dashboard
    page.click("nav >> text=总览")
    page.wait_for_selector("#panel-execution_by_category [data-chart] svg")  # drawn by ECharts
    assert not errors

    # the chart's table: labels, money and percentages as people read them
    panel = page.locator("#panel-execution_by_category")
    panel.locator("summary").click()
    headers = panel.locator("thead th").all_inner_texts()
    assert headers[:4] == ["类别", "课题数", "预算", "已支出"]
    rows = {r.locator("td").first.inner_text(): r.locator("td").all_inner_texts()
            for r in panel.locator("tbody tr").all()}
    assert "竞争性支持" in rows and "competitive" not in rows
    assert rows["竞争性支持"][2].startswith("¥") and rows["竞争性支持"][6].endswith("%")
    shot(page, "bureau-dashboard-zh")

    # its XLSX, read back: the same figures as numbers
    with page.expect_download() as dl:
        panel.locator("a", has_text="XLSX").click()
    path = tmp_path / "execution.xlsx"
    dl.value.save_as(path)
    ws = openpyxl.load_workbook(path).active
    assert ws["A1"].value == "按类别的预算执行"
    assert [c.value for c in ws[2]][:3] == ["类别", "课题数", "预算"]
    book = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    budget = rows["竞争性支持"][2].replace("¥", "").replace(",", "")
    assert Decimal(str(book["竞争性支持"][2])).quantize(Decimal("0.01")) == Decimal(budget)

    # the seed figures' inputs: two budget years give a growth against the 20% target
    page.fill("#b-year", "2025")
    page.fill("#b-amount", "100000000")
    page.click("#budget-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    page.fill("#b-year", "2026")
    page.fill("#b-amount", "125,000,000.00")
    page.click("#budget-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    growth = page.locator("#panel-st_budget_growth table tbody tr").last.text_content()  # the table is folded
    assert "25.0%" in growth and "¥125,000,000.00" in growth and "是" in growth
    assert "25.0%" in page.locator("#seed-growth").inner_text()

    # SOE R&D: the increment counts at 150%
    page.fill("#rd-year", "2024")
    page.fill("#rd-spend", "1000000")
    page.click("#rd-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    page.fill("#rd-year", "2025")
    page.fill("#rd-spend", "1200000")
    page.click("#rd-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    last = page.locator("#panel-soe_rd_add_back table tbody tr").last.locator("td").all_text_contents()
    assert last[1:] == ["¥1,200,000.00", "¥1,000,000.00", "¥200,000.00", "¥1,300,000.00"]

    page.goto(base + "/lang/en")
    page.goto(base + "/dashboard")
    page.wait_for_selector("#panel-execution_by_category [data-chart] svg")
    assert "Budget execution by category" in page.inner_text("#panel-execution_by_category")
    shot(page, "bureau-dashboard-en")
    page.goto(base + "/lang/zh")
    page.close()


def test_dashboard_refused_to_institution_staff(live_server, browser):
    app, base = live_server
    page = browser.new_page()
    _login(page, base, "inst_ordos_univ")
    resp = page.goto(base + "/dashboard")
    assert resp.status == 403
    page.close()


def _queue_fifty(app):
    """Fifty expenses without an invoice number: each waits in the bureau's queue (through the service)."""
    from datetime import date

    from sqlalchemy import select

    from budgets.expenses.schemas import ExpenseInSchema
    from budgets.expenses.service import submit_expense
    from grants.extensions import db
    from grants.models import Grant, User

    with app.app_context():
        staff = db.session.scalars(select(User).where(User.username == "inst_ordos_univ")).one()
        grant = db.session.scalars(select(Grant).where(Grant.code == "ORD-2025-001")).one()
        verdicts = set()
        for i in range(50):
            data = ExpenseInSchema().load({
                "grant_id": grant.id, "expense_date": date(2025, 7, 1 + i % 28).isoformat(),
                "amount": f"{777 + i / 100:.2f}", "subject": "operations", "purpose": "materials",
                "description": f"试剂耗材第{i}批", "payee_name": "鄂尔多斯试剂公司", "payee_kind": "vendor",
                "payment_method": "bank_transfer"})
            e, _ = submit_expense(data, staff)
            verdicts.add((e.verdict.value, e.status.value))
        assert verdicts == {("needs_approval", "pending")}
        return grant.id


def test_bulk_approve_fifty_with_keyboard_and_filters(live_server, browser):
    app, base = live_server
    grant_id = _queue_fifty(app)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "bureau")
    page.click("nav >> text=审批队列")
    page.select_option("#f-grant", str(grant_id))
    page.fill("#f-amin", "777")
    page.fill("#f-amax", "777.49")
    page.select_option("#f-sort", "amount")
    page.click("#queue-filters button[type=submit]")
    assert "符合条件 50 笔" in page.inner_text("#queue-summary")
    assert page.locator("#queue tbody tr[data-id]").count() == 50
    amounts = page.locator("#queue tbody tr td.num").all_inner_texts()
    assert amounts[:2] == ["¥777.00", "¥777.01"]                      # sorted by amount
    assert "发票" in page.locator("#queue tbody tr").first.inner_text()  # the finding inline, in Chinese
    shot(page, "bureau-queue-zh")

    # the keyboard: j moves, x selects, a without a reason asks for one
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.inner_text("#selected-count strong") == "1"
    page.keyboard.press("x")
    assert page.inner_text("#selected-count strong") == "0"
    page.keyboard.press("a")
    assert page.evaluate("document.activeElement.id") == "bulk-reason"
    page.keyboard.press("Escape")

    # all fifty with one reason
    page.check("#select-all")
    assert page.inner_text("#selected-count strong") == "50"
    page.fill("#bulk-reason", "材料费支出真实，发票后补")
    page.click("#bulk-approve")
    page.wait_for_selector(".flash-ok")
    assert "已批准 50 笔" in page.inner_text(".flash-ok")
    assert "符合条件 0 笔" in page.inner_text("#queue-summary")

    from sqlalchemy import func, select

    from budgets.models import Expense, ExpenseStatus
    from grants.extensions import db

    with app.app_context():
        posted = db.session.scalar(select(func.count()).where(
            Expense.grant_id == grant_id, Expense.amount.between(777, 777.49), Expense.status == ExpenseStatus.POSTED,
            Expense.decision_reason == "材料费支出真实，发票后补"))
    assert posted == 50

    page.goto(base + "/lang/en")
    page.goto(base + "/bureau/queue")
    assert "Approval queue" in page.inner_text("h1")
    shot(page, "bureau-queue-en")
    page.goto(base + "/bureau/adjustments")
    assert page.locator("#levels a").count() == 3
    page.goto(base + "/lang/zh")
    page.close()


def test_bureau_pages_pass_axe(live_server, browser):
    from tests.e2e.test_journeys import AXE

    app, base = live_server
    # the test injects axe as a script; the app's CSP rightly forbids that: bypass it for this page only
    page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    _login(page, base, "bureau")
    problems = []
    for lang in ("zh", "en"):
        page.goto(base + f"/lang/{lang}")
        for url in BUREAU_PAGES:
            page.goto(base + url)
            page.add_script_tag(path=str(AXE))
            # the bureau's own content (the shared navigation bar is checked by the journeys' axe test)
            result = page.evaluate("async () => await axe.run('main', {resultTypes: ['violations']})")
            problems += [f"{lang} {url}: {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
                         for v in result["violations"] if v["impact"] in ("serious", "critical")]
    page.goto(base + "/lang/zh")
    page.close()
    assert problems == [], "\n".join(problems)


BUREAU_PAGES = ["/dashboard", "/bureau/queue", "/bureau/adjustments"]


def _grant_form(page, base, code, title, institution, category, mode, fiscal, self_raised="", management=None):
    page.goto(base + "/bureau/grants")
    page.click("#new-grant")
    page.fill("#f-code", code)
    page.fill("#f-title", title)
    page.select_option("#f-institution_id", label=institution)
    pi = page.locator("#f-pi_id option", has_text=institution).first.get_attribute("value")
    page.select_option("#f-pi_id", pi)
    page.select_option("#f-category", category)
    page.select_option("#f-funding_mode", mode)
    if management:
        page.select_option("#f-management_mode", management)
    page.fill("#f-fiscal_amount", fiscal)
    if self_raised:
        page.fill("#f-self_raised_amount", self_raised)
    page.fill("#f-start_date", "2025-01-01")
    page.fill("#f-end_date", "2026-06-30")
    page.click("#grant-form button[type=submit]")
    page.wait_for_selector("#lifecycle")
    assert code in page.inner_text("h1")
    return int(page.url.rstrip("/").split("/")[-1].split("#")[0])


def _act(page, action, reason):
    page.fill(f"#f-reason-{action}", reason)
    page.click(f"#action-{action} button[type=submit]")
    page.wait_for_selector(".flash-ok")


def test_post_subsidy_grant_created_accepted_assessed_and_paid(live_server, browser):
    app, base = live_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "bureau")
    grant_id = _grant_form(page, base, "ORD-2025-101", "煤矿井下智能巡检机器人（后补助）", "内蒙古伊泰氢能科技有限公司",
                           "post_subsidy", "budgeted", "1000000.00", "3000000.00", management="open_competition")
    assert "揭榜挂帅" in page.inner_text("h1 + div") and "先立项后补助" in page.inner_text("h1 + div")

    # the budget being typed shows the tiered indirect cap (htmx)
    page.fill("#f-amount_equipment", "400000")
    page.fill("#f-amount_operations", "400000")
    page.fill("#f-amount_labour", "100000")
    page.fill("#f-amount_indirect", "100000")
    page.locator("#budget-preview", has_text="合计 ¥1,000,000.00").wait_for()
    assert page.inner_text("#cap") == "¥150,000.00"                    # 30% of (direct − equipment) ¥500,000.00
    assert "未超上限" in page.inner_text("#budget-preview")
    page.fill("#f-amount_indirect", "160000")
    page.locator("#budget-preview", has_text="超过上限").wait_for()

    # approval needs the subsidy terms first: the refusal says so beside the action
    page.fill("#f-reason-approve", "专家评审通过")
    page.click("#action-approve button[type=submit]")
    assert "补助" in page.inner_text("#action-approve .invalid-feedback")
    # terms, then the company spends its own money (through the service)
    page.fill("#f-terms\\.ratio_cap", "30%")
    page.fill("#f-terms\\.absolute_cap", "500000")
    page.fill("#f-terms\\.programme", "企业研发后补助")
    page.click("#terms-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert "30.0%" in page.inner_text("#terms") and "¥500,000.00" in page.inner_text("#terms")

    # a lifecycle action asks for its reason
    page.click("#action-approve button[type=submit]")
    assert page.locator("#f-reason-approve.is-invalid").count() == 1
    _act(page, "approve", "专家评审通过")
    _act(page, "activate", "签订任务书")

    # then the company spends its own money (through the service)
    from datetime import date

    from sqlalchemy import select

    from budgets.expenses.schemas import ExpenseInSchema
    from budgets.expenses.service import submit_expense
    from grants.extensions import db
    from grants.models import User

    with app.app_context():
        staff = db.session.scalars(select(User).where(User.username == "inst_yitai_h2")).one()
        for amount in ("800000.00", "400000.00"):
            submit_expense(ExpenseInSchema().load({
                "grant_id": grant_id, "expense_date": date(2025, 5, 10).isoformat(), "amount": amount,
                "subject": "equipment", "purpose": "equipment_purchase", "description": "巡检机器人样机",
                "payee_name": "鄂尔多斯装备公司", "payee_kind": "vendor", "payment_method": "bank_transfer",
                "invoice_no": f"PS-{amount}", "invoice_verified": "true", "unit_value": amount, "quantity": 1,
                "platform_registered": "true"}), staff)

    # not before acceptance
    page.click("#assess")
    page.wait_for_selector(".flash-error")
    assert "验收" in page.inner_text(".flash-error")
    _act(page, "request_acceptance", "任务完成，申请验收")
    _act(page, "accept", "验收专家组一致通过")
    page.click("#assess")
    page.wait_for_selector("#assessment")
    text = page.inner_text("#assessment")
    assert "¥1,200,000.00 × 30.0% = ¥360,000.00" in text          # the calculation shown
    assert page.inner_text("#payable") == "¥360,000.00"
    page.click("#pay-subsidy")
    page.wait_for_selector(".flash-ok")
    assert page.inner_text("#subsidy-paid") != "未拨付"
    shot(page, "bureau-grant-subsidy-zh")
    page.goto(base + "/lang/en")
    page.goto(base + f"/bureau/grants/{grant_id}")
    assert "Approve first, subsidise after" in page.inner_text("body")
    shot(page, "bureau-grant-subsidy-en")
    page.goto(base + "/lang/zh")
    page.close()


def test_grant_to_equity_investment_and_exit(live_server, browser):
    app, base = live_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "bureau")
    _grant_form(page, base, "ORD-2025-102", "固态储氢材料中试（拨改投）", "鄂尔多斯实验室", "grant_to_equity", "lump_sum",
                "2000000.00")
    _act(page, "approve", "评审通过")
    _act(page, "activate", "签订投资协议")
    page.fill("#f-inv\\.investee_name", "鄂尔多斯储氢科技有限公司")
    page.fill("#f-inv\\.amount", "2,000,000.00")
    page.fill("#f-inv\\.pre_money_valuation", "18000000")
    page.fill("#f-inv\\.invested_on", "2025-03-01")
    page.click("#investment-form button[type=submit]")
    page.wait_for_selector("#shareholding")
    assert page.inner_text("#shareholding") == "10.00%"

    # a dilution round, then the exit: shareholding to zero, proceeds and the multiple shown
    page.select_option("#f-ev\\.kind", "dilution")
    page.fill("#f-ev\\.event_date", "2025-09-01")
    page.fill("#f-ev\\.round_size", "10000000")
    page.fill("#f-ev\\.pre_money_valuation", "40000000")
    page.click("#event-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert page.inner_text("#shareholding") == "8.00%"
    page.select_option("#f-ev\\.kind", "exit")
    page.fill("#f-ev\\.event_date", "2026-03-01")
    page.fill("#f-ev\\.fraction_sold", "1")
    page.fill("#f-ev\\.proceeds", "4100000")
    page.click("#event-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert page.inner_text("#shareholding") == "0.00%"
    assert page.inner_text("#pos-proceeds") == "¥4,100,000.00"
    assert page.inner_text("#pos-gain") == "¥2,100,000.00"
    assert page.inner_text("#pos-multiple") == "2.05×"
    assert "退出" in page.inner_text("#equity-events") and page.locator("#event-form").count() == 0
    page.close()


def test_milestone_gated_tranche_blocked_then_paid(live_server, browser):
    app, base = live_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "bureau")
    page.goto(base + "/bureau/grants")
    page.click("text=ORD-2025-001")
    gated = page.locator("#tranches tbody tr").nth(1)
    assert "中期评估" in gated.inner_text() and "尚未通过验收" in gated.locator(".gate").inner_text()
    gated.locator("button", has_text="拨付").click()
    page.wait_for_selector(".flash-error")
    assert "不能拨付" in page.inner_text(".flash-error")
    assert "已拨付" not in page.locator("#tranches tbody tr").nth(1).inner_text()
    shot(page, "bureau-grant-milestone-zh")

    row = page.locator("#milestones tbody tr", has_text="中期评估")
    row.locator("input[name=note]").fill("中期评估材料齐全，通过")
    row.locator("button.btn-success").click()
    page.wait_for_selector(".flash-ok")
    assert "已通过" in page.locator("#milestones tbody tr", has_text="中期评估").inner_text()
    gated = page.locator("#tranches tbody tr").nth(1)
    assert gated.locator(".gate").count() == 0
    gated.locator("button", has_text="拨付").click()
    page.wait_for_selector(".flash-ok")
    assert "已拨付" in page.locator("#tranches tbody tr").nth(1).inner_text()
    page.close()


def test_adjustment_queue_by_level_approve(live_server, browser):
    """An increase of equipment waits for the institution level; the bureau approves it from its queue."""
    from decimal import Decimal as D

    from sqlalchemy import select

    from budgets.models import Subject
    from budgets.service import request_adjustment
    from grants.extensions import db
    from grants.models import Grant, User

    app, base = live_server
    with app.app_context():
        staff = db.session.scalars(select(User).where(User.username == "inst_ordos_univ")).one()
        grant = db.session.scalars(select(Grant).where(Grant.code == "ORD-2025-001")).one()
        adj = request_adjustment(grant.id, {"from_subject": Subject.OPERATIONS, "to_subject": Subject.EQUIPMENT,
                                            "amount": D("30000.00"), "reason": "新增便携式检测仪"}, staff)
        assert (adj.status.value, adj.approver_level) == ("pending", "institution")
        adj_id, grant_id = adj.id, grant.id
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "bureau")
    page.click("nav >> text=调剂审批")
    page.click("#levels >> text=项目承担单位")
    row = page.locator(f"#adjustments tbody tr[data-id='{adj_id}']")
    assert "业务费" in row.inner_text() and "设备费" in row.inner_text() and "¥30,000.00" in row.inner_text()
    page.click("#levels >> text=项目主管部门")
    assert page.locator(f"#adjustments tbody tr[data-id='{adj_id}']").count() == 0
    page.click("#levels >> text=项目承担单位")
    row = page.locator(f"#adjustments tbody tr[data-id='{adj_id}']")
    row.locator("input[name=reason]").fill("设备确需增加")
    row.locator("button.btn-success").click()
    page.wait_for_selector(".flash-ok")
    assert page.locator(f"#adjustments tbody tr[data-id='{adj_id}']").count() == 0
    page.goto(base + f"/bureau/grants/{grant_id}")
    assert "¥30,000.00" in page.locator("#budget tbody tr", has_text="设备费").inner_text()
    page.close()


def test_horse_race_stage_selection_unblocks_the_chosen_team(live_server, browser):
    """赛马制: two teams; the stage-2 tranche is blocked until the bureau selects a team for stage 2."""
    from datetime import date
    from decimal import Decimal as D

    from sqlalchemy import select

    from grants import disbursement, lifecycle, registry
    from grants.extensions import db
    from grants.models import Category, FundingMode, Institution, ManagementMode, Researcher, User

    app, base = live_server
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.username == "admin")).one()
        race = disbursement.create_race("煤制烯烃催化剂赛马", ["方案比选", "中试放大"], admin)
        race_id, stage2 = race.id, race.stages[1].id
        ids = []
        for n, inst_name in enumerate(("鄂尔多斯应用技术学院", "鄂尔多斯实验室")):
            inst = db.session.scalars(select(Institution).where(Institution.name == inst_name)).one()
            pi = db.session.scalars(select(Researcher).where(Researcher.institution_id == inst.id)).first()
            g = registry.create_grant({
                "code": f"ORD-RACE-9{n}", "title": f"催化剂团队{n + 1}", "institution_id": inst.id, "pi_id": pi.id,
                "category": Category.COMPETITIVE, "funding_mode": FundingMode.LUMP_SUM,
                "management_mode": ManagementMode.HORSE_RACE, "fiscal_amount": D("1000000.00"),
                "start_date": date(2025, 1, 1), "end_date": date(2026, 12, 31), "race_id": race_id}, admin)
            disbursement.create_tranche(g.id, {"planned_date": date(2025, 9, 1), "amount": D("600000.00"),
                                               "race_stage_id": stage2}, admin)
            for action in ("approve", "activate"):
                lifecycle.transition(g.id, action, admin, "赛马立项")
            ids.append(g.id)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "bureau")
    page.goto(base + f"/bureau/grants/{ids[0]}")
    assert "未选中" in page.inner_text("#tranches .gate")
    page.check(f"#race-2-{ids[0]}")
    page.click("#race button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert page.locator("#tranches .gate").count() == 0
    page.locator("#tranches button", has_text="拨付").click()
    page.wait_for_selector(".flash-ok")
    assert "已拨付" in page.inner_text("#tranches")
    page.goto(base + f"/bureau/grants/{ids[1]}")                    # the other team stays blocked
    assert "未选中" in page.inner_text("#tranches .gate")
    page.close()


def test_the_bureau_records_an_evaluation_result_and_its_consequence_follows(live_server, browser):
    """绩效评价 from the bureau's side: the open evaluations listed, a result recorded from the page; a failed
    mid-term puts the grant's next tranche on hold (evaluations.consequences), shown as the row leaving the list."""
    app, base = live_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "bureau")
    page.click("nav >> text=绩效评价")
    rows = page.locator("#evaluations tbody tr[data-id]")
    before = rows.count()
    assert before > 0 and not {"due", "overdue", "submitted"} & set(page.locator("#evaluations").inner_text().split())
    first = rows.first
    eid = first.get_attribute("data-id")
    first.locator("input[name=note]").fill("专家组评议未通过，限期整改")
    first.locator("button", has_text="未通过").click()
    assert page.locator(".flash-ok, .alert-success").count() >= 1
    assert page.locator(f"#evaluations tbody tr[data-id='{eid}']").count() == 0   # decided: no longer open
    with app.app_context():
        from evaluations.models import Evaluation, EvaluationHold
        from grants.extensions import db

        ev = db.session.get(Evaluation, int(eid))
        assert ev.status.value == "failed" and ev.note == "专家组评议未通过，限期整改"
        holds = db.session.scalars(db.select(EvaluationHold).where(EvaluationHold.evaluation_id == ev.id)).all()
        assert holds or ev.kind.value == "annual"   # mid-term / final / post-investment failures impose a hold
        db.session.remove()
    page.click("text=English")
    page.goto(base + "/bureau/evaluations")
    assert page.locator("h1").inner_text() == "Evaluations"
    page.close()
