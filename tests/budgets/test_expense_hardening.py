"""What a hostile or clumsy caller found on the expense API (issue #9, items 3, 4 and 8), through HTTP,
with the books as witness."""
import io
from decimal import Decimal

import pytest
from marshmallow import Schema

from budgets.expenses import fields as ef
from budgets.models import Expense
from tests.budgets.test_expense_api import active_grant, expense, line
from tests.factories import ExpenseFactory, ResearcherFactory

HUGE = "9999999999999999.99"


# ---------------------------------------------------------------- item 3: text checked once, at the boundary
@pytest.mark.parametrize("field, value", [
    ("description", "a\u0007b"), ("description", "nul\x00byte"), ("payee_name", "x\x1by"), ("invoice_no", "I\x85"),
    ("purpose", "materials\x7f"), ("description", "x" * 2001), ("invoice_no", "9" * 65)
])
def test_control_characters_and_overlong_text_are_refused_naming_the_field(login, db, field, value):
    g = active_grant()
    staff = login("institution", g.institution)
    for url in ("/api/v1/expenses", "/api/v1/expenses/check"):
        r = staff.post(url, json=expense(g, **{field: value}))
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["code"] == "validation_error" and list(r.get_json()["errors"]) == [field]
    assert db.session.query(Expense).filter_by(grant_id=g.id).count() == 0


def test_a_lone_surrogate_is_refused_naming_the_field(login, db):
    import json

    g = active_grant()
    staff = login("institution", g.institution)
    raw = json.dumps(expense(g, payee_name="PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800")
    r = staff.post("/api/v1/expenses", data=raw, content_type="application/json")
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["payee_name"]


def test_tabs_and_line_breaks_are_ordinary_text(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses", json=expense(g, description="第一行\n第二行\t备注"))
    assert r.status_code == 201 and r.get_json()["description"] == "第一行\n第二行\t备注"


@pytest.mark.parametrize("url, body, field", [
    ("/api/v1/institutions", {"name": "甲\u0007", "kind": "university"}, "name"),
    ("/api/v1/races", {"title": "赛马", "stages": ["初赛\x00"]}, "stages"),
])
def test_every_input_schema_refuses_control_characters(bureau, db, url, body, field):
    r = bureau.post(url, json=body)
    assert r.status_code == 422 and field in r.get_json()["errors"]


def test_text_lengths_come_from_the_model_columns():
    from grants.fields import Text
    from grants import schemas as gs
    from budgets import schemas as bs
    from budgets.expenses import schemas as es

    checked = 0
    for module in (gs, bs, es):
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Schema) or isinstance(obj, Schema):
                schema = obj() if isinstance(obj, type) else obj
                for name, f in schema.fields.items():
                    if isinstance(f, Text) and f.column is not None:
                        assert f.max_length == f.column.type.length, (schema, name)
                        checked += 1
    assert checked >= 20
    for f in ef.FIELDS:
        column = Expense.__table__.c[f.name]
        if f.kind == ef.TEXT and getattr(column.type, "length", None):
            assert f.max_length == column.type.length, f.name


# ---------------------------------------------------------------- item 4: a huge amount never freezes a line
def test_an_amount_beyond_the_cap_is_refused_by_dry_run_and_submission_alike(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    for url in ("/api/v1/expenses/check", "/api/v1/expenses"):
        r = staff.post(url, json=expense(g, amount=HUGE, invoice_verified=None))
        assert r.status_code == 422 and "amount" in r.get_json()["errors"]


def test_an_expense_above_the_grants_fiscal_amount_is_refused_not_queued(login, db):
    g = active_grant()   # fiscal amount 1,000,000.00; operations over budget may go ahead with approval
    staff = login("institution", g.institution)
    for url in ("/api/v1/expenses/check", "/api/v1/expenses"):
        r = staff.post(url, json=expense(g, amount="1000000.01", invoice_verified=None))
        assert r.status_code == 422 and "fiscal amount" in " ".join(r.get_json()["errors"]["amount"])
    db.session.expire_all()
    assert line(db, g, "operations").reserved == 0
    # the line is not frozen: the next expense on the subject is judged as usual
    r = staff.post("/api/v1/expenses", json=expense(g, amount="5000.00"))
    assert r.status_code == 201 and r.get_json()["verdict"] == "allow"


def test_reservations_can_never_overflow_the_books(login, db):
    g = active_grant()
    g.fiscal_amount = Decimal("999999999999.99")
    ln = line(db, g, "operations")
    ln.reserved = Decimal("9999999999999000.00")   # as if thousands of huge expenses were pending
    staff = login("institution", g.institution)
    check = staff.post("/api/v1/expenses/check", json=expense(g, amount="5000.00"))
    r = staff.post("/api/v1/expenses", json=expense(g, amount="5000.00"))
    assert check.status_code == r.status_code == 422
    assert "amount" in r.get_json()["errors"] and "amount" in check.get_json()["errors"]
    db.session.expire_all()
    assert line(db, g, "operations").reserved == Decimal("9999999999999000.00")


def test_an_import_row_above_the_fiscal_amount_is_named(login, db):
    from tests.budgets.test_import import csv_bytes, upload

    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([f"{g.code},2025-06-01,100.00,业务费,materials,试剂,化玻公司,供应商,银行转账,A-1,是",
                         f"{g.code},2025-06-01,1000000.01,业务费,materials,试剂,化玻公司,供应商,银行转账,A-2,"])
    r = upload(staff, content, "x.csv")
    assert r.status_code == 422 and r.get_json()["booked"] == 0
    assert r.get_json()["report"][1]["errors"] == {"amount": [r.get_json()["report"][1]["errors"]["amount"][0]]}
    assert r.get_json()["report"][1]["row"] == 3
    r = upload(staff, content, "x.csv", partial=True)
    assert r.status_code == 200 and r.get_json()["booked"] == 1 and r.get_json()["invalid"] == 1


# ---------------------------------------------------------------- item 8: roles on expenses
@pytest.mark.parametrize("role", ["finance_bureau", "admin"])
def test_only_institution_staff_book_or_import_expenses(login, db, role):
    from tests.budgets.test_import import csv_bytes, upload

    g = active_grant()
    other = login(role)
    assert other.post("/api/v1/expenses", json=expense(g)).status_code == 403
    content = csv_bytes([f"{g.code},2025-06-01,100.00,业务费,materials,试剂,化玻公司,供应商,银行转账,A-1,是"])
    assert upload(other, content, "x.csv").status_code == 403
    # the dry run stays open to every role
    assert other.post("/api/v1/expenses/check", json=expense(g)).status_code == 200
    assert db.session.query(Expense).filter_by(grant_id=g.id).count() == 0


def test_a_researcher_of_another_institution_is_refused_naming_the_field(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    stranger = ResearcherFactory()
    for url in ("/api/v1/expenses/check", "/api/v1/expenses"):
        r = staff.post(url, json=expense(g, researcher_id=stranger.id))
        assert r.status_code == 422 and list(r.get_json()["errors"]) == ["researcher_id"]
    assert staff.post("/api/v1/expenses/check", json=expense(g, researcher_id=2**31 - 1)).status_code == 422
    own = ResearcherFactory(institution=g.institution)
    assert staff.post("/api/v1/expenses", json=expense(g, researcher_id=own.id)).status_code == 201


def test_a_duplicate_invoice_of_another_institution_is_named_without_its_id(login, bureau, db):
    theirs_grant = active_grant()
    theirs = ExpenseFactory(grant=theirs_grant, invoice_no="SHARED-1")
    g = active_grant()
    staff = login("institution", g.institution)
    for url in ("/api/v1/expenses/check", "/api/v1/expenses"):
        r = staff.post(url, json=expense(g, invoice_no="SHARED-1"))
        body = r.get_json()
        dup = [f for f in body["findings"] if f["kind"] == "duplicate_invoice"]
        assert body["verdict"] == "reject" and dup and "elsewhere" in dup[0]["message_en"]
        assert f"#{theirs.id}" not in r.get_data(as_text=True) and dup[0]["figures"].get("duplicate_of") is None
    # the bureau sees every institution: it is told which expense
    r = bureau.post("/api/v1/expenses/check", json=expense(g, invoice_no="SHARED-1")).get_json()
    dup = [f for f in r["findings"] if f["kind"] == "duplicate_invoice"]
    assert dup[0]["figures"]["duplicate_of"] == theirs.id
    # an institution's own earlier expense is still named
    mine = staff.post("/api/v1/expenses", json=expense(g, invoice_no="MINE-1", amount="10.00")).get_json()
    again = staff.post("/api/v1/expenses/check", json=expense(g, invoice_no="MINE-1", amount="11.00")).get_json()
    assert any(f["figures"].get("duplicate_of") == mine["id"] for f in again["findings"])


def test_an_import_never_names_another_institutions_expense(login, db):
    from tests.budgets.test_import import csv_bytes, upload

    theirs = ExpenseFactory(grant=active_grant(), invoice_no="SHARED-2")
    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([f"{g.code},2025-06-01,100.00,业务费,materials,试剂,化玻公司,供应商,银行转账,SHARED-2,是"])
    r = upload(staff, content, "x.csv")
    assert r.status_code == 200
    eid = r.get_json()["report"][0]["expense_id"]
    stored = staff.get(f"/api/v1/expenses/{eid}").get_data(as_text=True)
    assert "elsewhere" in stored and f"#{theirs.id}" not in stored
