"""Auditor exports open correctly in every format, match the ledger, and verify on their own."""
import hashlib
import io
import json
import zipfile
from decimal import Decimal

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from grants.ledger import LedgerEntry
from grants.models import Role, User
from reports import exports, service
from tests.reports.conftest import post

LEDGER_COLUMNS = list(exports.COLUMNS)


def ledger_rows(db, **where):
    stmt = select(LedgerEntry).order_by(LedgerEntry.seq)
    for k, v in where.items():
        stmt = stmt.where(getattr(LedgerEntry, k) == v)
    return [{"seq": e.seq, "chain_seq": e.chain_seq, "entry_type": e.entry_type, "entry_date": e.entry_date, "grant_id": e.grant_id,
             "institution_id": e.institution_id, "category": e.category, "subject": e.subject, "amount": e.amount,
             "ref_type": e.ref_type, "ref_id": e.ref_id, "reverses_seq": e.reverses_seq, "memo": e.memo,
             "prev_hash": e.prev_hash, "hash": e.hash} for e in db.session.scalars(stmt)]


def test_csv_export_streams_utf8_with_bom_and_matches_the_ledger(booked, db, auditor):
    r = auditor.get("/api/v1/ledger/export?format=csv")
    assert r.status_code == 200 and r.is_streamed
    assert r.headers["X-Ledger-Head-Seq"] == "6" and "ledger-6.csv" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(r.data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(df.columns) == LEDGER_COLUMNS
    want = ledger_rows(db)
    assert len(df) == len(want) == 6
    for got, row in zip(df.to_dict("records"), want):
        assert int(got["seq"]) == row["seq"] and Decimal(got["amount"]) == row["amount"]
        assert got["memo"] == row["memo"] and (got["subject"] or None) == row["subject"]
        assert got["entry_date"] == row["entry_date"].isoformat() and got["hash"] == row["hash"]
    assert df.loc[1, "memo"] == '质谱仪, "高分辨"\n第二行'
    assert df.loc[5, "amount"] == "-50.00" and df.loc[5, "reverses_seq"] == "3"


def test_xlsx_export_reads_back_with_openpyxl(booked, db, bureau):
    r = bureau.get("/api/v1/ledger/export?format=xlsx")
    assert r.status_code == 200 and r.is_streamed
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == LEDGER_COLUMNS
    want = ledger_rows(db)
    assert len(rows) - 1 == len(want)
    for got, row in zip(rows[1:], want):
        rec = dict(zip(LEDGER_COLUMNS, got))
        assert rec["seq"] == row["seq"] and rec["hash"] == row["hash"]
        assert Decimal(repr(rec["amount"])).quantize(Decimal("0.01")) == row["amount"]
        assert rec["entry_date"].date() == row["entry_date"] and (rec["memo"] or "") == row["memo"]
    assert ws.cell(row=2, column=LEDGER_COLUMNS.index("amount") + 1).number_format == "0.00"


def test_parquet_export_keeps_money_as_decimal(booked, db, auditor):
    r = auditor.get("/api/v1/ledger/export?format=parquet")
    assert r.status_code == 200 and r.is_streamed
    table = pq.read_table(io.BytesIO(r.data))
    assert table.schema.field("amount").type == pa.decimal128(18, 2)
    assert table.schema.field("entry_date").type == pa.date32()
    assert table.to_pylist() == ledger_rows(db)


def test_filters_select_grant_category_and_dates(booked, db, auditor):
    g1, g2, _ = booked["grants"]
    df = pd.read_csv(io.BytesIO(auditor.get(f"/api/v1/ledger/export?grant_id={g2.id}").data), dtype=str,
                     encoding="utf-8-sig", keep_default_na=False)
    assert df["seq"].tolist() == ["3", "4", "6"]
    df = pd.read_csv(io.BytesIO(auditor.get("/api/v1/ledger/export?category=stable&date_to=2025-05-01").data),
                     dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert df["seq"].tolist() == ["3", "4"]
    assert auditor.get("/api/v1/ledger/export?date_from=2025-06-01&date_to=2025-01-01").status_code == 422


def test_institution_staff_export_only_their_own_entries(booked, db, login):
    staff = login("institution", booked["inst"])
    table = pq.read_table(io.BytesIO(staff.get("/api/v1/ledger/export?format=parquet").data))
    assert set(table.column("institution_id").to_pylist()) == {booked["inst"].id}
    assert table.num_rows == 4
    assert staff.get(f"/api/v1/ledger/export?institution_id={booked['uni'].id}").status_code == 404


def test_manifest_names_the_files_sha256_sums_and_chain_ends(booked, db, auditor):
    for fmt in exports.FORMATS:
        data = auditor.get(f"/api/v1/ledger/export?format={fmt}").data
        m = auditor.get(f"/api/v1/ledger/export/manifest?format={fmt}&seq_to=6").get_json()
        assert m["sha256"] == hashlib.sha256(data).hexdigest(), fmt
    assert m["row_count"] == 6 and m["total_amount"] == "1151200.40"
    assert m["sums_by_subject"] == [{"subject": None, "rows": 2, "amount": "800000.00"},
                                    {"subject": "equipment", "rows": 1, "amount": "350000.00"},
                                    {"subject": "operations", "rows": 3, "amount": "1200.40"}]
    rows = booked["rows"]
    chains = m["chain"]["chains"]
    assert [(c["institution_id"], c["rows"], c["first_prev_hash"], c["last_chain_seq"], c["last_hash"]) for c in chains] == [
        (booked["uni"].id, 2, "0" * 64, 2, rows[1]["hash"]), (booked["inst"].id, 4, "0" * 64, 4, rows[5]["hash"])]
    assert m["chain"]["contiguous"] is True and m["chain"]["all_chains"] is True
    assert m["chain"]["merkle_root"] == service.verify_ledger().merkle_root


def test_an_export_pinned_to_a_head_ignores_later_postings(booked, db, auditor):
    post(db, booked["grants"][0], "1.00", subject="operations")
    df = pd.read_csv(io.BytesIO(auditor.get("/api/v1/ledger/export?seq_to=6").data), dtype=str,
                     encoding="utf-8-sig", keep_default_na=False)
    assert len(df) == 6


def test_zip_bundle_carries_file_and_manifest(booked, db, auditor):
    r = auditor.get("/api/v1/ledger/export?format=parquet&bundle=zip")
    assert r.status_code == 200 and r.is_streamed
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    assert zf.namelist() == ["ledger-6.parquet", "manifest.json"]
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["sha256"] == hashlib.sha256(zf.read("ledger-6.parquet")).hexdigest()
    assert manifest["row_count"] == 6


def test_cli_export_verifies_on_its_own_and_names_a_tampered_row(booked, db, app, tmp_path, after_midnight):
    service.record_checkpoints()
    runner = app.test_cli_runner()
    for fmt in exports.FORMATS:
        out = tmp_path / f"ledger.{fmt}"
        r = runner.invoke(args=["grants", "export-ledger", "--format", fmt, "--out", str(out)])
        assert r.exit_code == 0, r.output
        manifest = json.loads((tmp_path / f"ledger.{fmt}.manifest.json").read_text(encoding="utf-8"))
        assert manifest["checkpoint"]["seq"] == 6 and len(manifest["checkpoint"]["heads"]) == 2
        assert exports.verify_export(out, manifest) == {"ok": True, "rows": 6, "problems": []}
        assert runner.invoke(args=["grants", "verify-export", str(out), "--against-db"]).exit_code == 0

    csv_path = tmp_path / "ledger.csv"
    tampered = csv_path.read_bytes().replace(b"1000.00", b"100.00")
    csv_path.write_bytes(tampered)
    manifest = json.loads((tmp_path / "ledger.csv.manifest.json").read_text(encoding="utf-8"))
    result = exports.verify_export(csv_path, manifest)
    assert not result["ok"] and {"seq": 3, "reason": "row does not hash to its recorded hash (edited)"} in result["problems"]
    bad = runner.invoke(args=["grants", "verify-export", str(csv_path)])
    assert bad.exit_code == 1 and "seq 3" in bad.output


def test_one_institutions_export_is_its_whole_chain(booked, db, tmp_path, after_midnight):
    service.record_checkpoints()
    flt = exports.scoped_filter(db.session, booked_user(), {"institution_id": booked["inst"].id})
    m = exports.write_export(db.session, db.session.connection(), "csv", flt, tmp_path / "inst.csv")
    assert m["chain"]["contiguous"] is True and m["chain"]["all_chains"] is False and m["chain"]["merkle_root"] is None
    assert [h["institution_id"] for h in m["checkpoint"]["heads"]] == [booked["inst"].id]
    assert exports.verify_export(tmp_path / "inst.csv", m)["ok"]
    lines = (tmp_path / "inst.csv").read_bytes().split(b"\n")
    (tmp_path / "inst.csv").write_bytes(b"\n".join(lines[:2] + lines[3:]))  # a row taken out of the file
    m["sha256"] = exports.build_manifest(db.session, "csv", flt, [(tmp_path / "inst.csv").read_bytes()])["sha256"]
    r = exports.verify_export(tmp_path / "inst.csv", m)
    assert not r["ok"] and "chain_seq 2 absent" in r["problems"][0]["reason"]


def test_a_filtered_export_still_verifies_row_by_row(booked, db, tmp_path):
    flt = exports.scoped_filter(db.session, booked_user(), {"grant_id": booked["grants"][1].id})
    m = exports.write_export(db.session, db.session.connection(), "csv", flt, tmp_path / "g2.csv")
    assert m["chain"]["contiguous"] is False and m["row_count"] == 3
    assert exports.verify_export(tmp_path / "g2.csv", m)["ok"]


def booked_user():
    return User(role=Role.AUDITOR)
