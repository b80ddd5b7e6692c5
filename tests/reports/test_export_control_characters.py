"""A ledger row stored with a control character (before the boundary refused them, or by another path)
still exports to XLSX, and the file still verifies row by row against its manifest (issue #9, item 3)."""
import hashlib
import io
from datetime import date

import openpyxl

from grants.models import Category
from reports import exports
from reports.exports import ooxml
from tests.factories import GrantFactory
from tests.reports.conftest import post

NASTY = "a\u0007b\x01c\x1fd _x0041_ e\tf\ng"   # no NUL: PostgreSQL text cannot store one at all


def test_ooxml_escape_round_trips_any_text():
    for text in (NASTY, "nul\x00", "", "_x", "_x005F_", "plain 中文", "".join(chr(i) for i in range(32))):
        assert ooxml.cell_safe(ooxml.escape(text)) and ooxml.unescape(ooxml.escape(text)) == text


def test_a_stored_entry_with_a_control_character_exports_to_xlsx(db, auditor, tmp_path):
    g = GrantFactory(category=Category.COMPETITIVE)
    post(db, g, "12.30", subject="operations", on=date(2025, 6, 1), memo=NASTY)
    r = auditor.get("/api/v1/ledger/export?format=xlsx")
    assert r.status_code == 200
    data = r.data
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    memo = rows[1][list(exports.COLUMNS).index("memo")]
    assert ooxml.unescape(memo) == NASTY
    m = auditor.get("/api/v1/ledger/export/manifest?format=xlsx")
    assert m.status_code == 200 and m.get_json()["sha256"] == hashlib.sha256(data).hexdigest()
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(data)
    assert exports.verify_export(path, m.get_json())["ok"]
    assert auditor.get("/api/v1/ledger/export?format=xlsx&bundle=zip").status_code == 200
