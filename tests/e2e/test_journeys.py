"""One journey per group in headless Debian chromium — institution staff, an auditor, an administrator —
then a crawl of every page each role can reach (200 or a deliberate 403, no raw vocabulary code, no Python
repr) and axe-core on the main pages (no serious or critical violation). Screenshots go to artifacts/."""
import csv
import io
import json
import re
import zipfile
from html import unescape
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS, PASSWORD, _login

pytestmark = pytest.mark.e2e
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_institution_journey(live_server, browser, tmp_path):
    app, base = live_server
    page = browser.new_page()
    _login(page, base, "inst_ordos_univ")
    page.click("text=ORD-2025-001")
    grant_url = page.url

    # equipment asks for unit value, quantity and the sharing platform; operations does not
    page.select_option("select[name=subject]", "operations")
    assert page.locator("input[name=unit_value]").is_hidden()
    page.select_option("select[name=subject]", "equipment")
    assert page.locator("input[name=unit_value]").is_visible()
    page.select_option("select[name=purpose]", "expert_fee")
    assert page.locator("input[name=expert_days]").is_visible()
    page.select_option("select[name=purpose]", "equipment_purchase")
    assert page.locator("input[name=expert_days]").is_hidden()

    # the dry run (htmx): a ≥300,000 instrument not on the sharing platform, verdict before submitting
    page.fill("input[name=expense_date]", "2025-06-10")
    page.fill("input[name=amount]", "350000.00")
    page.fill("input[name=unit_value]", "350000.00")
    page.fill("input[name=quantity]", "1")
    page.select_option("select[name=platform_registered]", "no")
    page.fill("input[name=payee_name]", "鄂尔多斯仪器设备公司")
    page.select_option("select[name=payee_kind]", "vendor")
    page.select_option("select[name=payment_method]", "bank_transfer")
    page.fill("input[name=invoice_no]", "J-EQ-1")
    page.select_option("select[name=invoice_verified]", "yes")
    page.fill("textarea[name=description]", "X射线衍射仪")
    page.click("#dry-run")
    page.wait_for_selector("#verdict")
    text = page.locator("#verdict").inner_text()
    assert "试算，未登记" in text and "依据" in text
    dry_verdict = page.locator("#verdict .verdict").get_attribute("data-verdict")
    assert dry_verdict in ("needs_approval", "warn", "reject")
    assert page.locator("#expenses tbody tr td a").count() == 0              # nothing recorded
    shot(page, "zh-institution-grant-dry-run")

    # submit: recorded with the same verdict
    page.click("#submit-expense")
    page.wait_for_selector("#verdict a")
    assert page.locator("#verdict .verdict").get_attribute("data-verdict") == dry_verdict
    page.click("#verdict a")
    expense_url = page.url
    assert page.locator("#policy-version").inner_text() != "—"
    shot(page, "zh-institution-expense")

    # the printable voucher: amount in Chinese capitals, signature boxes
    page.click("text=打印报销单")
    assert page.locator("#capitals").inner_text() == "叁拾伍万元整"
    assert page.locator(".sign").count() == 4
    page.emulate_media(media="print")
    assert page.locator("nav").is_hidden()
    page.pdf(path=str(tmp_path / "voucher.pdf")) if False else None  # chromium pdf needs headless shell; screenshot instead
    shot(page, "zh-institution-voucher-print")
    page.emulate_media(media="screen")

    # import a GBK CSV (as Chinese Excel saves it) with one bad row: report first, then only the valid rows
    rows = ("课题编号,支出日期,金额,预算科目,用途,摘要,收款方,收款方类型,支付方式,发票号码,发票查验\n"
            "ORD-2025-001,2025-07-01,880.00,业务费,materials,试剂,化玻公司,供应商,银行转账,GBK-1,是\n"
            "ORD-2025-001,2025-07-02,不是金额,业务费,materials,耗材,文具店,供应商,公务卡,GBK-2,是\n"
            "ORD-2025-001,2025-07-03,120.00,业务费,materials,耗材,文具店,供应商,公务卡,GBK-3,是\n")
    path = tmp_path / "报销导入.csv"
    path.write_bytes(rows.encode("gbk"))
    page.click("nav >> text=批量导入")
    page.set_input_files("input[name=file]", str(path))
    page.click("#import-form button[type=submit]")
    assert page.locator("#valid-count").inner_text() == "2" and page.locator("#invalid-count").inner_text() == "1"
    assert "金额" in page.locator("tr[data-row='3'] .row-error").inner_text()
    assert not REPR.search(page.locator("#import-report").inner_text())
    assert page.locator("#book-form button[value=all]").is_disabled()
    shot(page, "zh-institution-import-preview")
    page.click("#book-form button[value=partial]")
    assert page.locator("#booked").inner_text() == "2"
    page.click("text=查看我的支出")
    assert page.locator("#expense-list tbody tr[data-id]").count() >= 3
    page.select_option("#f-subject", "equipment")
    page.click("#filters button[type=submit]")
    assert page.locator("#expense-list tbody tr[data-id]").count() == 1
    shot(page, "zh-institution-expenses")

    # request a 预算调剂 and see its state and approver
    page.goto(grant_url)
    page.click("text=预算调剂")
    page.select_option("select[name=from_subject]", "labour")
    page.select_option("select[name=to_subject]", "operations")
    page.fill("input[name=amount]", "200000.00")
    page.fill("textarea[name=reason]", "测试化验需求增加")
    page.click("#adjustment-form button[type=submit]")
    first = page.locator("#adjustments tbody tr[data-id]").first
    assert first.locator(".adj-status").inner_text() in ("待审批", "已生效")
    shot(page, "zh-institution-adjustments")

    # evaluations: what is due, hand in the self-assessment
    page.click("nav >> text=绩效评价")
    row = page.locator("#evaluation-list tbody tr[data-id]").first
    row.locator("textarea[name=summary]").fill("中期自评：完成样机研制，发表论文两篇")
    row.locator("button[type=submit]").click()
    assert page.locator(".flash-ok").count() == 1
    assert "完成样机研制" in page.locator("#evaluation-list .submissions").first.inner_text()

    # English is complete: the same pages, no Chinese UI chrome
    page.click("text=English")
    page.goto(expense_url)
    assert page.locator("h2", has_text="Findings").count() == 1
    shot(page, "en-institution-expense")
    page.goto(base + "/")
    shot(page, "en-institution-home")
    page.click("text=中文")
    page.close()


def test_auditor_journey(live_server, browser, tmp_path):
    import openpyxl
    import pyarrow.parquet as pq

    app, base = live_server
    page = browser.new_page()
    _login(page, base, "auditor")
    page.goto(base + "/grants/1")
    assert page.locator("#expense-form").count() == 0                         # read-only: no write form
    page.click("nav >> text=总账")
    page.select_option("#f-type", "disbursement")
    page.click("#ledger-filters button[type=submit]")
    types = {page.locator("#ledger-table tbody tr[data-seq]").nth(i).get_attribute("data-type")
             for i in range(page.locator("#ledger-table tbody tr[data-seq]").count())}
    assert types == {"disbursement"}
    shot(page, "zh-auditor-ledger")
    page.locator("#ledger-table tbody tr[data-seq] a").first.click()
    assert len(page.locator("#entry-hash").inner_text()) == 64
    assert page.locator("#prev-hash").inner_text()[:64] != page.locator("#entry-hash").inner_text()
    shot(page, "zh-auditor-entry")

    page.goto(base + "/ledger/verify")
    page.click("#run-verify")
    page.wait_for_selector("#verify-result")
    assert page.locator("#verify-result").get_attribute("data-ok") == "true"
    shot(page, "zh-auditor-verify")

    page.goto(base + "/ledger")
    files = {}
    for fmt in ("csv", "xlsx", "parquet", "zip"):
        with page.expect_download() as dl:
            page.click(f"#dl-{fmt}")
        target = tmp_path / dl.value.suggested_filename
        dl.value.save_as(target)
        files[fmt] = target
    with files["csv"].open(encoding="utf-8-sig") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert csv_rows and {"seq", "hash", "prev_hash", "amount"} <= set(csv_rows[0])
    wb = openpyxl.load_workbook(files["xlsx"], read_only=True)
    assert sum(sum(1 for _ in ws.iter_rows(min_row=2)) for ws in wb.worksheets) == len(csv_rows)
    assert pq.read_table(files["parquet"]).num_rows == len(csv_rows)
    with zipfile.ZipFile(files["zip"]) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert str(manifest.get("rows", manifest.get("row_count"))) == str(len(csv_rows))

    # writes are refused server-side even without a button
    client = app.test_client()
    token = client.get("/login").get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"username": "auditor", "password": PASSWORD, "csrf_token": token})
    page_html = client.get("/grants/1").get_data(as_text=True)
    assert "expense-form" not in page_html
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page_html).group(1)
    r = client.post("/grants/1", data={"csrf_token": csrf, "expense_date": "2025-06-01", "amount": "1.00",
                                       "subject": "operations", "payment_method": "bank_transfer"})
    assert r.status_code == 403 and "无权访问" in r.get_data(as_text=True)  # an HTML 403 in Chinese
    assert client.post("/grants/1/adjustments", data={"csrf_token": csrf}).status_code == 403
    assert client.get("/admin/users").status_code == 403
    page.close()


def test_admin_journey(live_server, browser):
    app, base = live_server
    page = browser.new_page()
    _login(page, base, "admin")
    page.click("nav >> text=用户")
    page.fill("input[name=username]", "acct_li")
    page.fill("input[name=display_name]", "李会计")
    page.fill("input[name=email]", "li@ordos.example.cn")
    page.select_option("select[name=role]", "institution")
    page.select_option("select[name=institution_id]", index=1)
    page.fill("input[name=password]", "li-initial-pass")
    page.click("#user-form button[type=submit]")
    assert page.locator("#new-token .token").inner_text().startswith("kj_")
    shot(page, "zh-admin-users")
    page.click("#user-list >> text=acct_li")
    page.fill("input[name=label]", "月末导入脚本")
    page.click("#token-form button[type=submit]")
    token = page.locator("#new-token .token").inner_text()
    shot(page, "zh-admin-user")

    api = page.context.request
    headers = {"Authorization": f"Bearer {token}"}
    r = api.get(base + "/api/v1/grants", headers=headers)
    assert r.status == 200 and {g["code"] for g in r.json()} == {"ORD-2025-001"}   # scoped to the institution
    page.goto(page.url.rsplit("/tokens", 1)[0])   # the token is shown once: not on the page any more
    assert page.locator("#new-token").count() == 0
    page.locator("#tokens tbody tr", has_text="月末导入脚本").locator("button").click()
    assert api.get(base + "/api/v1/grants", headers=headers).status == 401
    page.click("#toggle-active")
    assert page.locator("#user-state").inner_text() == "已停用"

    page.click("nav >> text=政策版本")
    page.locator("#policies a").first.click()
    assert page.locator("#rules tbody tr").count() > 5
    shot(page, "zh-admin-policy")
    page.click("nav >> text=政策版本")
    page.click("#load-policies")
    assert page.locator(".flash-ok").count() == 1

    page.click("nav >> text=单位")
    page.fill("input[name=name]", "鄂尔多斯市林业科学研究所")
    page.select_option("select[name=kind]", "research_institute")
    page.click("#institution-form button[type=submit]")
    assert page.locator("#institutions", has_text="鄂尔多斯市林业科学研究所").count() == 1

    page.click("nav >> text=政策回放")
    page.click("#replay-form button[type=submit]")
    assert page.locator("#replay-summary").count() == 1
    page.close()


# ------------------------------------------------------------------------------- crawl and accessibility
def _visible_text(html: str) -> str:
    html = re.sub(r'(?is)<span class="ms-3 small" id="whoami">.*?</span>', " ", html)  # user names are data
    html = re.sub(r'(?is)<td class="username">.*?</td>', " ", html)
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r"(?is)<select\b.*?</select>", " ", html)  # option labels are checked on the form pages
    return unescape(re.sub(r"<[^>]+>", "\n", html))


REPR = re.compile(r"<class |object at 0x|<grants\.|<budgets\.|Decimal\(|datetime\.|\{'|\[\{|\bNone\b|\bTrue\b|\bFalse\b")


@pytest.mark.parametrize("username", ["inst_ordos_univ", "auditor", "bureau", "admin"])
def test_crawl_every_page_a_role_reaches(live_server, browser, username):
    from webui.vocabulary import all_codes

    app, base = live_server
    # a code leaks either as a whole value (a cell, a badge) or, if it is a snake_case code, anywhere
    codes = all_codes()
    snake = sorted((c for c in codes if "_" in c), key=len, reverse=True)
    code_re = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, snake)) + r")(?![\w-])")
    page = browser.new_page()
    _login(page, base, username)
    request = page.context.request
    seen, todo, problems = set(), ["/"], []
    while todo and len(seen) < 400:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        r = request.get(base + url)
        if r.status not in (200, 403):
            problems.append(f"{url}: {r.status}")
            continue
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        html = r.text()
        text = _visible_text(html)
        for node in re.split(r"\s*\n\s*|\s{2,}", text):
            if node.strip() in codes:
                problems.append(f"{url}: raw code {node.strip()!r} shown as a value")
        for m in code_re.finditer(text):
            problems.append(f"{url}: raw code {m.group(1)!r} in …{text[max(0, m.start() - 40):m.end() + 20]!r}")
        for m in REPR.finditer(text):
            problems.append(f"{url}: repr {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 20]!r}")
        for href in re.findall(r'href="(/[^"#]*)"', html):
            href = unescape(href)
            if href.startswith(("/api/", "/web-static/", "/lang/")) or "/download" in href or "/template." in href:
                continue
            if re.search(r"[?&]page=\d{3,}", href):
                continue
            todo.append(href)
    page.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"crawl-{username}.txt").write_text("\n".join(sorted(seen) + ["", "PROBLEMS:"] + problems))
    assert len(seen) > 5
    assert problems == []


MAIN_PAGES = {
    "inst_ordos_univ": ["/", "/grants/1", "/expenses", "/import", "/evaluations", "/grants/1/adjustments"],
    "auditor": ["/ledger", "/ledger/verify", "/ledger/1", "/reports/compliance-overview", "/expenses"],
    "admin": ["/admin/users", "/admin/users/1", "/admin/policies", "/admin/policies/1", "/admin/replay",
              "/admin/institutions"],
}


@pytest.mark.parametrize("username", list(MAIN_PAGES))
def test_axe_finds_no_serious_violation(live_server, browser, username):
    app, base = live_server
    page = browser.new_page(bypass_csp=True)  # the test injects axe as a script; the app's CSP rightly forbids that
    _login(page, base, username)
    problems = []
    for lang in ("zh", "en"):
        page.goto(base + f"/lang/{lang}")
        for url in MAIN_PAGES[username]:
            page.goto(base + url)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            for v in result["violations"]:
                if v["impact"] in ("serious", "critical"):
                    problems.append(f"{lang} {url}: {v['id']} ({v['impact']}): "
                                    f"{[n['target'] for n in v['nodes']][:3]}")
            name = url.strip("/").replace("/", "-") or "home"
            shot(page, f"{lang}-{username}-{name}")
    page.goto(base + "/lang/zh")
    page.close()
    (ARTIFACTS / f"axe-{username}.txt").write_text("\n".join(problems))
    assert problems == []
