"""Bulk import: CSV and XLSX, Chinese or English headers, a row-numbered report, never half-written."""
import io
from decimal import Decimal

import openpyxl
from sqlalchemy import func, select

from budgets.expenses import importer
from budgets.models import Expense
from grants.ledger import LedgerEntry
from tests.budgets.test_expense_api import active_grant, line
from tests.factories import make_user

ZH_HEADER = "课题编号,支出日期,金额,预算科目,用途,摘要,收款方,收款方类型,支付方式,发票号码,发票查验\n"


def csv_bytes(rows: list[str], header: str = ZH_HEADER) -> bytes:
    return ("\ufeff" + header + "\n".join(rows) + "\n").encode("utf-8")


def upload(caller, content: bytes, name: str, partial=False):
    return caller.post(f"/api/v1/expenses/import?partial={'true' if partial else 'false'}",
                       data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def count(db, g):
    return db.session.execute(select(func.count()).select_from(Expense).where(Expense.grant_id == g.id)).scalar_one()


def test_csv_with_chinese_headers_is_judged_row_by_row(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([
        f"{g.code},2025-06-01,1200.50,业务费,materials,试剂,化玻公司,供应商,银行转账,A-1,是",
        f"{g.code},2025-06-02,300.00,业务费,other,交通违章罚款,交警支队,政府部门,银行转账,A-2,是",
        f"{g.code},2025/06/03,80.00,业务费,materials,耗材,文具店,供应商,现金,A-3,是",
        f"{g.code},2025-06-04,99.00,业务费,materials,耗材,文具店,供应商,公务卡,A-4,",
    ])
    r = upload(staff, content, "expenses.csv")
    assert r.status_code == 200, r.get_json()
    rep = r.get_json()
    assert rep["committed"] and rep["rows"] == 4 and rep["booked"] == 4 and rep["invalid"] == 0
    assert [row["verdict"] for row in rep["report"]] == ["allow", "reject", "warn", "needs_approval"]
    assert [row["row"] for row in rep["report"]] == [2, 3, 4, 5]
    assert rep["by_verdict"] == {"allow": 1, "reject": 1, "warn": 1, "needs_approval": 1}
    db.session.expire_all()
    ln = line(db, g, "operations")
    assert ln.spent == Decimal("1280.50") and ln.reserved == Decimal("99.00")
    ledger_rows = db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.grant_id == g.id, LedgerEntry.entry_type == "expense")).scalar_one()
    assert ledger_rows == 2


def test_rerunning_the_same_file_books_nothing_twice(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([f"{g.code},2025-06-01,10.00,业务费,materials,试剂,化玻公司,供应商,银行转账,B-{i},是"
                         for i in range(5)])
    assert upload(staff, content, "a.csv").get_json()["booked"] == 5
    again = upload(staff, content, "a.csv").get_json()
    assert again["booked"] == 0 and again["skipped_already_imported"] == 5
    assert count(db, g) == 5
    db.session.expire_all()
    assert line(db, g, "operations").spent == Decimal("50.00")


def test_a_malformed_row_books_nothing_and_names_row_and_column(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([
        f"{g.code},2025-06-01,10.00,业务费,materials,试剂,化玻公司,供应商,银行转账,C-1,是",
        f"{g.code},2025-06-01,10.005,业务费,materials,试剂,化玻公司,供应商,银行转账,C-2,是",
        f"{g.code},2025-02-30,10.00,业务费,materials,试剂,化玻公司,供应商,信用卡,C-3,是",
        "NO-SUCH-GRANT,2025-06-01,10.00,业务费,materials,试剂,化玻公司,供应商,银行转账,C-4,是",
    ])
    r = upload(staff, content, "bad.csv")
    assert r.status_code == 422
    rep = r.get_json()
    assert not rep["committed"] and rep["invalid"] == 3
    errors = {row["row"]: row["errors"] for row in rep["report"] if row["errors"]}
    assert set(errors) == {3, 4, 5}
    assert "amount" in errors[3] and {"expense_date", "payment_method"} <= set(errors[4]) and "grant_code" in errors[5]
    assert count(db, g) == 0
    partial = upload(staff, content, "bad.csv", partial=True).get_json()
    assert partial["committed"] and partial["booked"] == 1 and partial["invalid"] == 3
    assert count(db, g) == 1


def test_xlsx_with_english_headers(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["grant_code", "expense_date", "amount", "subject", "purpose", "description", "payee_name", "payee_kind",
               "payment_method", "invoice_no", "invoice_verified"])
    ws.append([g.code, "2025-07-01", "2500.00", "labour", "stipend", "研究生助研津贴", "王同学", "student",
               "bank_transfer", None, None])
    ws.append([g.code, "2025-07-02", "66.60", "operations", "materials", "试剂", "化玻公司", "vendor", "official_card",
               "X-9", "yes"])
    buf = io.BytesIO()
    wb.save(buf)
    rep = upload(staff, buf.getvalue(), "expenses.xlsx").get_json()
    assert rep["committed"], rep
    assert [row["verdict"] for row in rep["report"]] == ["allow", "allow"]
    db.session.expire_all()
    assert line(db, g, "labour").spent == Decimal("2500.00")


def test_a_file_without_required_columns_is_refused(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    r = upload(staff, csv_bytes(["x,y"], header="课题编号,摘要\n"), "x.csv")
    assert r.status_code == 422 and "file" in r.get_json()["errors"]


def test_duplicate_invoices_within_one_file_are_caught(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([f"{g.code},2025-06-01,10.00,业务费,materials,试剂,化玻公司,供应商,银行转账,SAME,是"] * 2)
    rep = upload(staff, content, "dup.csv").get_json()
    assert [row["verdict"] for row in rep["report"]] == ["allow", "reject"]
    finding = db.session.get(Expense, rep["report"][1]["expense_id"]).findings[0]
    assert finding["rule_id"] == "NEG-FAKE-DUPLICATE-INVOICE" and finding["figures"]["duplicate_of_row"] == 2


def test_cli_imports_with_a_progress_bar(app, db, tmp_path):
    g = active_grant()
    user, _ = make_user("institution", g.institution)
    db.session.commit()
    f = tmp_path / "e.csv"
    f.write_bytes(csv_bytes([f"{g.code},2025-06-01,10.00,业务费,materials,试剂,化玻公司,供应商,银行转账,D-{i},是"
                             for i in range(3)]))
    out = tmp_path / "report.csv"
    result = app.test_cli_runner().invoke(args=["grants", "import-expenses", str(f), "--user", user.username,
                                                "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "booked 3" in result.output
    assert out.read_text(encoding="utf-8-sig").count("allow") == 3


def test_chunks_carry_budget_and_invoices_across_their_boundaries(login, db, monkeypatch):
    """Rows are judged and written in chunks inside one transaction; nothing may reset between them."""
    monkeypatch.setattr(importer, "CHUNK", 2)
    g = active_grant(lines={"equipment": "100000.00", "operations": "250.00", "labour": "500000.00",
                            "indirect": "399750.00"})
    staff = login("institution", g.institution)
    content = csv_bytes([f"{g.code},2025-06-01,100.00,业务费,materials,试剂,化玻公司,供应商,银行转账,K-{i},是"
                         for i in range(3)] + [f"{g.code},2025-06-01,1.00,业务费,materials,试剂,化玻公司,供应商,银行转账,K-0,是"])
    rep = upload(staff, content, "chunks.csv").get_json()
    # 100 + 100 fit; the third (in the second chunk) would pass 250 → needs approval (operations may be exceeded
    # with approval); the fourth repeats the first row's invoice → duplicate
    assert [r["verdict"] for r in rep["report"]] == ["allow", "allow", "needs_approval", "reject"]
    assert len({r["expense_id"] for r in rep["report"]}) == 4
    db.session.expire_all()
    ln = line(db, g, "operations")
    assert (ln.spent, ln.reserved) == (Decimal("200.00"), Decimal("100.00"))


def test_nul_bytes_control_characters_and_over_long_cells_name_their_row_and_column(login, db):
    """Issue 9 item 3: no database error for the whole file; with partial=true the valid rows are booked."""
    g = active_grant()
    staff = login("institution", g.institution)
    good = f"{g.code},2025-06-01,10.00,业务费,materials,试剂,化玻公司,供应商,银行转账,N-1,是"
    content = csv_bytes([
        good,
        f"{g.code},2025-06-01,10.00,业务费,materials,试\x00剂,化玻公司,供应商,银行转账,N-2,是",
        f"{g.code},2025-06-01,10.00,业务费,materials,试剂,{'长' * 201},供应商,银行转账,N-3,是",
        f"{g.code},2025-06-01,10.00,业务费,materials,a\x07b,化玻公司,供应商,银行转账,N-4,是",
        f"{g.code},2025-06-01,1,5,业务费,materials,试剂,化玻公司,供应商,银行转账,N-5,是".replace("1,5", '"1,5"'),
    ])
    rep = upload(staff, content, "bad.csv").get_json()
    assert not rep["committed"] and rep["invalid"] == 4 and count(db, g) == 0
    errors = {row["row"]: row["errors"] for row in rep["report"] if row["errors"]}
    assert set(errors) == {3, 4, 5, 6}
    assert "control character" in errors[3]["description"][0]
    assert "longer than 200" in errors[4]["payee_name"][0]
    assert "control character" in errors[5]["description"][0]
    assert "not a valid amount" in errors[6]["amount"][0]
    rep = upload(staff, content, "bad.csv", partial=True).get_json()
    assert rep["committed"] and rep["booked"] == 1 and count(db, g) == 1


def test_cli_reports_an_unreadable_file_without_a_traceback(app, db, tmp_path):
    g = active_grant()
    user, _ = make_user("institution", g.institution)
    db.session.commit()
    f = tmp_path / "e.csv"
    f.write_bytes(b"\xff\xfe\x00garbage,\x00\n\x00")
    result = app.test_cli_runner().invoke(args=["grants", "import-expenses", str(f), "--user", user.username])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert "file" in result.output


def test_a_file_past_the_copy_threshold_is_booked_exactly(login, db):
    """From ``grants.db.COPY_FROM`` rows PostgreSQL writes expenses and ledger entries with COPY."""
    from grants.db import COPY_FROM

    g = active_grant()
    staff = login("institution", g.institution)
    n = COPY_FROM + 10
    content = csv_bytes([f'{g.code},2025-06-01,"1,234.5{i % 10}",业务费,materials,试剂 "{i}",化玻公司,供应商,银行转账,'
                         f"C-{i},是" for i in range(n)])
    rep = upload(staff, content, "copy.csv").get_json()
    assert rep["committed"] and rep["booked"] == n, rep["report"][:2]
    e = db.session.get(Expense, rep["report"][3]["expense_id"])
    assert (e.amount, e.description, e.findings) == (Decimal("1234.53"), '试剂 "3"', [])
    assert db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.grant_id == g.id)).scalar_one() >= n
