"""The table of expense fields is the one list: the model, the schemas, the importer and the form agree with it."""
from pathlib import Path

from babel.messages.pofile import read_po

from budgets.expenses import fields as ef
from budgets.expenses.importer import COLUMNS, PARSERS, REQUIRED
from budgets.expenses.schemas import ExpenseInSchema, ExpenseOutSchema
from budgets.expenses.service import EXPENSE_FIELDS
from budgets.models import Expense
from webui.forms import FORM_FIELDS

PO = Path(__file__).resolve().parents[2] / "webui" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
SYSTEM_COLUMNS = {"id", "grant_id", "institution_id", "researcher_id", "verdict", "findings", "policy_version_id",
                  "status", "subsidy_eligible", "idempotency_key", "idempotency_fingerprint", "import_key", "submitted_by", "decided_by",
                  "decision_reason", "submitted_at", "decided_at"}


def test_every_column_an_expense_is_judged_on_is_in_the_table_and_the_table_only_names_columns():
    assert set(ef.NAMES) == set(Expense.__table__.columns.keys()) - SYSTEM_COLUMNS
    assert EXPENSE_FIELDS == ef.NAMES


def test_schemas_and_importer_are_derived_from_the_table():
    assert set(ef.NAMES) <= set(ExpenseInSchema().fields)
    assert {f.name for f in ef.FIELDS if f.in_output} <= set(ExpenseOutSchema().fields)
    assert not {f.name for f in ef.FIELDS if not f.in_output} & set(ExpenseOutSchema().fields)
    assert set(ef.NAMES) <= set(COLUMNS) == set(PARSERS)
    for f in ef.FIELDS:
        assert f.name in f.headers and any(not h.isascii() for h in f.headers), f.name  # English and Chinese
    assert {"expense_date", "amount", "subject"} <= set(REQUIRED)


def test_the_form_labels_are_the_tables_and_translated_as_the_table_says():
    with PO.open("rb") as fh:
        english = {m.id: m.string for m in read_po(fh) if m.id and m.string}
    for f in FORM_FIELDS:
        assert english.get(f.label_zh) == f.label_en, f.name
        if f.kind == ef.BOOL:
            assert all(answer in english for answer in f.yes_no), f.name
    assert all(zh in english for _v, zh in ef.SUBJECTS)
