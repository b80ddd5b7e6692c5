"""The daily chain head: entries newer than the last checkpoint are pinned by a report sent outside the
database, and deleting or rewriting them is caught against it."""
import pytest

from grants import ledger
from grants.errors import Invalid
from grants.ledger import LedgerEntry, canonical_content, chain_hash
from reports import service
from tests.reports.conftest import post
from tests.reports.test_ledger_verification import behind_the_apps_back


def test_the_heads_now_name_every_chain_and_their_merkle_root(booked, db, auditor):
    heads = auditor.get("/api/v1/ledger/heads").get_json()
    rows = booked["rows"]
    assert heads["chains"] == 2 and heads["head_seq"] == 6 and heads["latest_checkpoint"] is None
    assert heads["merkle_root"] == ledger.merkle_root([rows[1], rows[5]]) == service.verify_ledger().merkle_root
    assert [(h["institution_id"], h["chain_seq"], h["hash"]) for h in heads["heads"]] == [
        (booked["uni"].id, 2, rows[1]["hash"]), (booked["inst"].id, 4, rows[5]["hash"])]


def test_the_merkle_root_changes_with_any_head():
    a, b, c = ({"institution_id": i, "chain_seq": 1, "hash": f"{i:064x}"} for i in (1, 2, 3))
    root = ledger.merkle_root([a, b, c])
    assert root == ledger.merkle_root([c, a, b])  # institution order, whatever the input order
    assert root != ledger.merkle_root([a, b]) and root != ledger.merkle_root([a, b, c, c])
    assert root != ledger.merkle_root([a, b, {**c, "chain_seq": 2}]) and ledger.merkle_root([]) == ledger.GENESIS


def test_the_daily_report_is_signed_off_and_reads_back(booked, db, app):
    text = service.daily_head_report()
    assert "merkle_root: " + service.chain_heads_now()["merkle_root"] in text
    assert text.splitlines()[-1].startswith("sha256: ")
    assert service.check_recorded_heads(text) == {"ok": True, "heads_checked": 2, "problems": []}
    with pytest.raises(Invalid, match="altered"):
        service.check_recorded_heads(text.replace("chain_seq 4", "chain_seq 3"))
    app.config["LEDGER_HEAD_KEY"] = "auditors-only"
    try:
        signed = service.daily_head_report()
        assert signed.splitlines()[-1].startswith("hmac-sha256: ")
        assert service.check_recorded_heads(signed)["ok"]
        app.config["LEDGER_HEAD_KEY"] = "another key"
        with pytest.raises(Invalid, match="HMAC"):
            service.check_recorded_heads(signed)
    finally:
        app.config.pop("LEDGER_HEAD_KEY")


def test_deleting_the_newest_entries_is_caught_against_the_recorded_head(booked, db, backend):
    recorded = service.daily_head_report()  # no checkpoint covers any of today's entries
    behind_the_apps_back(db, backend, "DELETE FROM ledger_entries WHERE seq = 6")
    assert service.verify_ledger().ok  # the chain that is left is intact, and no checkpoint knows seq 6 …
    r = service.check_recorded_heads(recorded)  # … but the head mailed out last night does
    assert not r["ok"] and r["problems"] == [{"institution_id": booked["inst"].id, "chain_seq": 4, "seq": 6,
                                              "reason": "recorded head missing (entries deleted)"}]


def test_rewriting_the_newest_entry_is_caught_against_the_recorded_head(booked, db, backend):
    recorded = service.chain_heads_now()
    last = db.session.get(LedgerEntry, 6)
    content = canonical_content(6, last).replace('"-50.00"', '"-5000.00"')
    behind_the_apps_back(db, backend, "UPDATE ledger_entries SET amount = -5000.00, content = :c, hash = :h "
                                      "WHERE seq = 6", c=content, h=chain_hash(last.prev_hash, content))
    assert service.verify_ledger().ok
    r = service.check_recorded_heads(recorded)
    assert not r["ok"] and "rewritten" in r["problems"][0]["reason"] and r["problems"][0]["seq"] == 6


def test_later_postings_keep_a_recorded_head_valid(booked, db):
    recorded = service.daily_head_report()
    post(db, booked["grants"][1], "1.00", subject="operations", memo="次日")
    assert service.check_recorded_heads(recorded)["ok"]


def test_ledger_head_command_writes_the_report_and_checks_it_later(booked, db, app, backend, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "head.txt"
    r = runner.invoke(args=["grants", "ledger-head", "--out", str(out)])
    assert r.exit_code == 0 and "merkle_root" in r.output and out.read_text(encoding="utf-8") == r.output
    assert runner.invoke(args=["grants", "ledger-head", "--check", str(out)]).exit_code == 0
    assert '"merkle_root"' in runner.invoke(args=["grants", "ledger-head", "--json"]).output
    behind_the_apps_back(db, backend, "DELETE FROM ledger_entries WHERE seq >= 5")
    bad = runner.invoke(args=["grants", "ledger-head", "--check", str(out)])
    assert bad.exit_code == 1 and "seq 6" in bad.output
