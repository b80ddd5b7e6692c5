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
