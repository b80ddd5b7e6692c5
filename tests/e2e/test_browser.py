"""The web interface in real headless Chromium (Debian's), driven by Playwright, against a live server."""
import os

import pytest

from tests.e2e.conftest import PASSWORD, _login

pytestmark = pytest.mark.e2e


def _fill_expense(page, **values):
    page.fill("input[name=expense_date]", values.get("date", "2025-06-01"))
    page.fill("input[name=amount]", values["amount"])
    page.select_option("select[name=subject]", values.get("subject", "operations"))
    page.select_option("select[name=purpose]", values.get("purpose", "materials"))
    page.fill("input[name=payee_name]", "鄂尔多斯化玻仪器公司")
    page.select_option("select[name=payee_kind]", "vendor")
    page.select_option("select[name=payment_method]", "bank_transfer")
    page.fill("input[name=invoice_no]", values["invoice"])
    page.select_option("select[name=invoice_verified]", values.get("verified", "yes"))
    page.fill("textarea[name=description]", values.get("description", "实验试剂"))
    page.click("#expense-form button[type=submit]")


def test_institution_logs_expenses_and_reads_the_verdicts(live_server, browser, tmp_path):
    app, base = live_server
    page = browser.new_page()
    _login(page, base, "inst_ordos_univ")
    assert "ORD-2025-001" in page.content() and "ORD-2025-002" not in page.content()  # scoped to its institution
    page.click("text=ORD-2025-001")
    assert page.locator("h2", has_text="登记支出").count() == 1  # Chinese first

    _fill_expense(page, amount="1200.50", invoice="E2E-1")
    assert page.locator("#verdict .verdict").get_attribute("data-verdict") == "allow"
    assert page.locator("#verdict .verdict").inner_text() == "合规"  # the label, never the code
    assert page.locator("#budget tr[data-subject=operations] td.spent").inner_text() == "¥1,200.50"

    _fill_expense(page, amount="300.00", invoice="E2E-2", description="交通违章罚款", purpose="other")
    assert page.locator("#verdict .verdict").get_attribute("data-verdict") == "reject"
    assert "NEG-FINE-ETC" in page.locator("#verdict").inner_text()
    assert page.locator("#budget tr[data-subject=operations] td.spent").inner_text() == "¥1,200.50"

    _fill_expense(page, amount="12.345", invoice="E2E-3")
    assert "金额" in page.locator("#errors").inner_text()

    page.click("text=English")
    assert page.locator("h2", has_text="Log an expense").count() == 1
    _fill_expense(page, amount="50.00", invoice="E2E-4", verified="")
    assert page.locator("#verdict .verdict").inner_text() == "Needs approval"
    assert "invoice" in page.locator("#verdict").inner_text().lower()
    page.screenshot(path=os.environ.get("E2E_SCREENSHOT", str(tmp_path / "grant.png")), full_page=True)
    page.close()


def test_bureau_works_the_approval_queue(live_server, browser):
    app, base = live_server
    page = browser.new_page()
    _login(page, base, "bureau")
    page.goto(base + "/queue")
    rows = page.locator("#queue tbody tr[data-id]")
    assert rows.count() >= 1
    first = rows.first
    expense_id = first.get_attribute("data-id")
    first.locator("form").first.locator("input[name=reason]").fill("发票已人工查验")
    first.locator("form").first.locator("button").click()
    page.wait_for_load_state()
    assert page.locator(f"#queue tr[data-id='{expense_id}']").count() == 0
    page.close()


def test_forms_refuse_a_post_without_csrf_token(live_server):
    app, base = live_server
    client = app.test_client()
    r = client.post("/login", data={"username": "bureau", "password": PASSWORD})
    assert r.status_code == 400
    assert client.get("/queue").status_code == 302  # not logged in: sent to the login page


def test_bureau_sees_compliance_at_a_glance(live_server, browser, tmp_path):
    app, base = live_server
    page = browser.new_page()
    _login(page, base, "bureau")
    page.click("nav >> text=报表")
    page.wait_for_url(base + "/reports/compliance-overview")
    assert page.locator("h2[data-key=by_verdict]").count() == 1
    verdicts = page.locator("h2[data-key=by_verdict] + .card table tbody tr td:first-child").all_inner_texts()
    assert "不合规" in verdicts and "合规" in verdicts        # from the institution's expenses above, as labels
    with page.expect_download() as download:
        page.click("text=XLSX")
    import openpyxl

    assert download.value.suggested_filename == "compliance-overview.xlsx"
    download.value.save_as(tmp_path / "overview.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "overview.xlsx", read_only=True)
    assert "by_verdict" in " ".join(wb.sheetnames)
    if os.environ.get("E2E_SCREENSHOT"):
        page.screenshot(path=os.environ["E2E_SCREENSHOT"].replace(".png", "-report.png"), full_page=True)
    page.goto(base + "/reports/budget-execution")
    assert page.locator("h1", has_text="预算执行").count() == 1
    page.close()


def test_institution_staff_cannot_open_the_bureaus_reports(live_server):
    app, base = live_server
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"username": "inst_ordos_univ", "password": PASSWORD, "csrf_token": token})
    assert client.get("/reports/compliance-overview").status_code == 403


def test_pages_and_swagger_ui_run_under_a_self_only_csp(live_server, browser):
    app, base = live_server
    page = browser.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    _login(page, base, "bureau")
    # the stylesheets are local files the policy allows: the navigation bar is styled (app.css's colour)
    assert page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).backgroundColor") == "rgb(18, 63, 115)"
    page.goto(base + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "科研经费管理" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10  # every operation drawn from /api/v1/openapi.json
    assert violations == []
    page.close()
