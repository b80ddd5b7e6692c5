"""The read services behind the pages: filtered expense pages, an expense's detail, the ledger browser,
import preview with GBK files — scoped exactly like the API."""
from datetime import date
from decimal import Decimal

import pytest

from budgets import expense_queries, import_files
from grants.errors import Forbidden, NotFound
from reports import ledger_queries
from tests.budgets.test_expense_api import active_grant, expense


def _submit(caller, g, **kw):
    r = caller.post("/api/v1/expenses", json=expense(g, **kw))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_expense_page_filters_paginates_and_scopes(login, db):
    g, other = active_grant(), active_grant()
    staff = login("institution", g.institution)
    ids = [_submit(staff, g, invoice_no=f"P-{i}", expense_date=f"2025-06-{i + 1:02d}") for i in range(5)]
    _submit(login("institution", other.institution), other, invoice_no="OTHER-1")
    rows, total = expense_queries.expense_page(staff.user, {}, 1, 2)
    assert total == 5 and [r.id for r in rows] == [ids[4], ids[3]]        # newest first, own institution only
    rows, total = expense_queries.expense_page(staff.user, {}, 3, 2)
    assert [r.id for r in rows] == [ids[0]]
    rows, total = expense_queries.expense_page(staff.user, {"date_from": date(2025, 6, 2), "date_to": date(2025, 6, 3)})
    assert total == 2
    rows, total = expense_queries.expense_page(login("auditor").user, {"grant_id": other.id})
    assert total == 1                                                      # readers see every institution
    assert expense_queries.expense_page(staff.user, {}, 99, 2) == ([], 5)


def test_expense_detail_has_policy_version_approvals_and_ledger_entries(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    eid = _submit(staff, g, invoice_no="D-1")
    d = expense_queries.expense_detail(eid, staff.user)
    assert d.expense.id == eid and d.policy_version is not None
    assert len(d.ledger_entries) == 1 and d.ledger_entries[0].amount == d.expense.amount
    assert d.approvals[0]["step"] == "submitted"
    with pytest.raises(NotFound):
        expense_queries.expense_detail(eid, login("institution").user)    # another institution: 404


def test_ledger_browser_filters_and_is_for_readers_only(login, db):
    g, other = active_grant(), active_grant()
    staff = login("institution", g.institution)
    eid = _submit(staff, g, invoice_no="L-1")
    _submit(login("institution", other.institution), other, invoice_no="L-2")
    auditor = login("auditor").user
    rows, total = ledger_queries.ledger_page(auditor, {"grant_id": g.id, "entry_type": "expense"})
    assert total == 1 and rows[0].ref_id == eid
    rows, total = ledger_queries.ledger_page(auditor, {"institution_id": other.institution_id})
    assert total == 1
    detail = ledger_queries.entry_detail(rows[0].seq, auditor)
    assert detail.source is not None and detail.entry.hash and detail.entry.prev_hash
    with pytest.raises(Forbidden):
        ledger_queries.ledger_page(staff.user, {})
    with pytest.raises(NotFound):
        ledger_queries.entry_detail(10**9, auditor)


def test_import_preview_reads_gbk_and_books_nothing(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    text = ("课题编号,支出日期,金额,预算科目,用途,摘要,收款方,收款方类型,支付方式,发票号码,发票查验\n"
            f"{g.code},2025-06-01,1200.50,业务费,materials,实验试剂,化玻公司,供应商,银行转账,G-1,是\n"
            f"{g.code},2025-13-01,80.00,业务费,materials,耗材,文具店,供应商,公务卡,G-2,是\n")
    content = text.encode("gbk")
    utf8, encoding = import_files.to_utf8(content, "x.csv")
    assert encoding == "gb18030" and "实验试剂" in utf8.decode("utf-8")
    report = import_files.preview(content, "x.csv", staff.user)
    assert report["valid"] == 1 and report["invalid"] == 1
    assert report["rows"][0]["verdict"] == "allow" and "expense_date" in report["rows"][1]["errors"]
    assert "<class" not in str(report["rows"][1]["errors"])
    assert expense_queries.expense_page(staff.user, {})[1] == 0            # the preview booked nothing
    result = import_files.book(content, "x.csv", staff.user, partial=True)
    assert result["committed"] and result["booked"] == 1
    assert import_files.to_utf8(b"\xef\xbb\xbfa,b", "x.csv") == (b"a,b", "utf-8-sig")


def test_import_template_has_chinese_headers():
    import io

    import openpyxl

    assert import_files.template_csv().decode("utf-8-sig").startswith("课题编号,支出日期,金额")
    wb = openpyxl.load_workbook(io.BytesIO(import_files.template_xlsx()))
    assert [c.value for c in wb.active[1]][:4] == ["课题编号", "支出日期", "金额", "预算科目"]


def test_chinese_capitals_and_labels():
    from webui.vocabulary import all_codes, label

    assert label("needs_approval", "verdict") == "需审批" and label("bank_transfer", None, "en") == "Bank transfer"
    assert label("institution", "role") == "单位财务人员" and label("institution", "payee_kind") == "单位"
    assert "needs_approval" in all_codes()
    import cn2an

    assert cn2an.an2cn("12345.60", "rmb") == "壹万贰仟叁佰肆拾伍元陆角"
