"""The ledger is tamper-evident per institution chain: the verifier names each chain's first edited or
missing entry; checkpoints pin every chain's head and their Merkle root."""
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from grants import ledger
from grants.ledger import LedgerCheckpoint, LedgerEntry, canonical_content, chain_hash
from reports import service
from reports.jobs import checkpoint_job
from reports.models import JobRun
from tests.reports.conftest import post

# booked: 内蒙古大学 (uni) seq 1, 2 = its chain_seq 1, 2; the institute (inst) seq 3, 4, 5, 6 = chain_seq 1 … 4


def behind_the_apps_back(db, backend, sql, **params):
    """Plain SQL past the append-only trigger, inside the test's (rolled back) transaction."""
    if backend == "postgresql":
        db.session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_update"))
        db.session.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_delete"))
    db.session.execute(text(sql), params)
    db.session.expire_all()


def test_each_institution_has_its_own_chain(booked, db):
    rows = booked["rows"]
    assert [(r["institution_id"], r["chain_seq"]) for r in rows] == [
        (booked["uni"].id, 1), (booked["uni"].id, 2), (booked["inst"].id, 1), (booked["inst"].id, 2),
        (booked["inst"].id, 3), (booked["inst"].id, 4)]
    assert rows[2]["prev_hash"] == ledger.GENESIS and rows[3]["prev_hash"] == rows[2]["hash"]
    assert rows[4]["prev_hash"] == rows[3]["hash"] and rows[1]["prev_hash"] == rows[0]["hash"]


def test_an_untouched_ledger_verifies(booked, auditor):
    r = auditor.get("/api/v1/ledger/verify")
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["entries_checked"] == 6 and body["head_seq"] == 6 and body["chains"] == 2
    rows = booked["rows"]
    assert body["merkle_root"] == ledger.merkle_root([rows[1], rows[5]]) and body["first_broken_seq"] is None
    assert [h["hash"] for h in body["heads"]] == [rows[1]["hash"], rows[5]["hash"]]


def test_an_amount_edited_behind_the_apps_back_is_named(booked, db, backend, bureau):
    behind_the_apps_back(db, backend, "UPDATE ledger_entries SET amount = 3500.00 WHERE seq = 2")
    body = bureau.get("/api/v1/ledger/verify").get_json()
    assert body["ok"] is False and body["first_broken_seq"] == 2 and "differ" in body["reason"]
    assert body["broken"] == [{"institution_id": booked["uni"].id, "chain_seq": 2, "seq": 2,
                               "reason": "stored fields differ from hashed content"}]  # the other chain holds


def test_a_row_deleted_in_the_middle_leaves_a_gap_in_its_chain(booked, db, backend):
    behind_the_apps_back(db, backend, "DELETE FROM ledger_entries WHERE seq = 4")
    r = service.verify_ledger()
    assert not r.ok and r.first_broken_seq == 5 and "gap" in r.reason and "chain_seq 2 absent" in r.reason
    assert [(b["institution_id"], b["chain_seq"]) for b in r.broken] == [(booked["inst"].id, 3)]


def test_a_rewritten_chain_still_fails_against_its_checkpoint(booked, db, backend, after_midnight):
    service.record_checkpoints()
    # a forger edits the last row and recomputes its hash: the chain alone cannot tell
    last = db.session.get(LedgerEntry, 6)
    content = canonical_content(6, last).replace('"-50.00"', '"-5.00"')
    forged = chain_hash(last.prev_hash, content)
    behind_the_apps_back(db, backend, "UPDATE ledger_entries SET amount = -5.00, content = :c, hash = :h "
                                      "WHERE seq = 6", c=content, h=forged)
    assert ledger.verify(db.session).ok  # every link holds …
    r = service.verify_ledger()
    assert not r.ok and r.first_broken_seq == 6  # … but not the checkpointed head
    assert r.checkpoint_mismatches and "rewritten" in r.checkpoint_mismatches[0]["reason"]


def test_a_truncated_tail_is_caught_by_the_checkpoint(booked, db, backend, after_midnight):
    service.record_checkpoints()
    behind_the_apps_back(db, backend, "DELETE FROM ledger_entries WHERE seq >= 5")
    r = service.verify_ledger()
    assert not r.ok and r.first_broken_seq == 6 and "missing" in r.reason


def test_a_whole_chain_deleted_is_caught_by_the_checkpoint(booked, db, backend, after_midnight):
    service.record_checkpoints()
    behind_the_apps_back(db, backend, "DELETE FROM ledger_entries WHERE institution_id = :i", i=booked["uni"].id)
    r = service.verify_ledger()
    assert not r.ok and {m["institution_id"] for m in r.checkpoint_mismatches} == {booked["uni"].id}


def test_truncate_and_the_checkpoint_tables_are_refused_by_the_database(booked, db, backend, after_midnight):
    service.record_checkpoints()
    wipe = "TRUNCATE {} CASCADE" if backend == "postgresql" else "DELETE FROM {}"  # SQLite has no TRUNCATE
    for table in ("ledger_entries", "ledger_checkpoints", "ledger_checkpoint_heads"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session.begin_nested():
                db.session.execute(text(wipe.format(table)))
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(text("UPDATE ledger_checkpoints SET merkle_root = 'x'"))
    assert service.verify_ledger().entries_checked == 6


def test_checkpoints_record_every_chain_head_and_their_root_once(booked, db, after_midnight):
    first = service.record_checkpoints()
    days = [c for c in first if c.period == "day"]
    assert days and days[-1].period_end == after_midnight and days[-1].seq == 6 and days[-1].chains == 2
    rows = booked["rows"]
    assert days[-1].merkle_root == ledger.merkle_root([rows[1], rows[5]])
    heads = service.checkpoints.checkpoint_heads(days[-1].id)
    assert [(h.institution_id, h.chain_seq, h.hash) for h in heads] == [
        (booked["uni"].id, 2, rows[1]["hash"]), (booked["inst"].id, 4, rows[5]["hash"])]
    assert service.record_checkpoints() == []
    assert db.session.execute(select(func.count()).select_from(LedgerCheckpoint)).scalar_one() == len(first)


def test_only_finished_days_are_checkpointed(booked, db, app):
    from grants.db import today
    from grants.errors import Invalid

    assert service.record_checkpoints() == []  # every entry was created today: no finished day holds any
    with pytest.raises(Invalid, match="only finished days"):
        service.record_checkpoints(up_to=today())
    r = app.test_cli_runner().invoke(args=["grants", "checkpoint-ledger", "--up-to", today().isoformat()])
    assert r.exit_code == 1 and "only finished days" in r.output


def test_verification_can_start_from_the_latest_checkpoint(booked, db, bureau, after_midnight):
    service.record_checkpoints()
    post(db, booked["grants"][0], "10.00", subject="operations", memo="之后")
    body = bureau.get("/api/v1/ledger/verify?since_checkpoint=true").get_json()
    assert body["ok"] and body["entries_checked"] == 1 and body["checkpoints_checked"] >= 1
    assert body["from_checkpoint"] == after_midnight.isoformat() and body["head_seq"] == 7


def test_one_institutions_chain_can_be_verified_alone(booked, db, bureau):
    body = bureau.get(f"/api/v1/ledger/verify?institution_id={booked['inst'].id}").get_json()
    assert body["ok"] and body["chains"] == 1 and body["entries_checked"] == 4


def test_institution_staff_may_not_verify_the_whole_ledger(booked, login):
    staff = login("institution", booked["uni"])
    assert staff.get("/api/v1/ledger/verify").status_code == 403
    assert staff.get("/api/v1/ledger/heads").status_code == 403


def test_bureau_records_checkpoints_through_the_api_and_auditors_read_them(booked, bureau, auditor, after_midnight):
    early = bureau.post("/api/v1/ledger/checkpoints", json={"up_to": (after_midnight.replace(year=2100)).isoformat()})
    assert early.status_code == 422 and "only finished days" in early.get_json()["message"]
    r = bureau.post("/api/v1/ledger/checkpoints", json={"up_to": after_midnight.isoformat()})
    assert r.status_code == 201 and {c["period"] for c in r.get_json()} >= {"day"}
    assert auditor.post("/api/v1/ledger/checkpoints", json={}).status_code == 403
    listed = auditor.get("/api/v1/ledger/checkpoints?period=day").get_json()
    assert listed[-1]["seq"] == 6 and listed[-1]["chains"] == 2 and len(listed[-1]["merkle_root"]) == 64


def test_verify_ledger_command_exits_nonzero_when_broken(booked, app, db, backend):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["grants", "verify-ledger"])
    assert ok.exit_code == 0 and "intact" in ok.output and "2 chains" in ok.output
    behind_the_apps_back(db, backend, "UPDATE ledger_entries SET memo = 'x' WHERE seq = 3")
    bad = runner.invoke(args=["grants", "verify-ledger"])
    assert bad.exit_code == 1 and "seq 3" in bad.output


def test_checkpoint_job_records_its_run(booked, app, db):
    checkpoint_job(app)
    run = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
    assert run.job == "ledger_checkpoints" and run.ok
