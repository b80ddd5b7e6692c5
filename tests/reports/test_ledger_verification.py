"""The ledger is tamper-evident: the verifier names the first edited or missing entry; checkpoints pin heads."""
from datetime import timedelta

from sqlalchemy import func, select, text

from grants.db import today
from grants.ledger import LedgerCheckpoint, LedgerEntry, canonical_content, chain_hash
from reports import service
from reports.jobs import checkpoint_job
from reports.models import JobRun
from tests.reports.conftest import post


def behind_the_apps_back(db, backend, sql, **params):
    """Plain SQL past the append-only trigger, inside the test's (rolled back) transaction."""
    if backend == "postgresql":
        db.session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_update"))
        db.session.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_delete"))
    db.session.execute(text(sql), params)


def test_an_untouched_ledger_verifies(booked, auditor):
    r = auditor.get("/api/v1/ledger/verify")
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["entries_checked"] == 6 and body["head_seq"] == 6
    assert body["head_hash"] == booked["rows"][-1]["hash"] and body["first_broken_seq"] is None


def test_an_amount_edited_behind_the_apps_back_is_named(booked, db, backend, bureau):
    behind_the_apps_back(db, backend, "UPDATE ledger_entries SET amount = 3500.00 WHERE seq = 2")
    body = bureau.get("/api/v1/ledger/verify").get_json()
    assert body["ok"] is False and body["first_broken_seq"] == 2
    assert "differ" in body["reason"] and body["head_seq"] == 1


def test_a_row_deleted_in_the_middle_leaves_a_gap(booked, db, backend):
    behind_the_apps_back(db, backend, "DELETE FROM ledger_entries WHERE seq = 4")
    r = service.verify_ledger()
    assert not r.ok and r.first_broken_seq == 4 and "gap" in r.reason


def test_a_rewritten_chain_still_fails_against_its_checkpoint(booked, db, backend):
    service.record_checkpoints(up_to=today())
    # a forger edits the last row and recomputes its hash: the chain alone cannot tell
    last = db.session.get(LedgerEntry, 6)
    forged = chain_hash(last.prev_hash, canonical_content(6, last).replace('"-50.00"', '"-5.00"'))
    content = canonical_content(6, last).replace('"-50.00"', '"-5.00"')
    behind_the_apps_back(db, backend, "UPDATE ledger_entries SET amount = -5.00, content = :c, hash = :h "
                                      "WHERE seq = 6", c=content, h=forged)
    db.session.expire_all()
    r = service.verify_ledger()
    assert not r.ok and r.first_broken_seq == 6
    assert r.checkpoint_mismatches and "rewritten" in r.checkpoint_mismatches[0]["reason"]


def test_a_truncated_tail_is_caught_by_the_checkpoint(booked, db, backend):
    service.record_checkpoints(up_to=today())
    behind_the_apps_back(db, backend, "DELETE FROM ledger_entries WHERE seq >= 5")
    r = service.verify_ledger()
    assert not r.ok and r.first_broken_seq == 6 and "missing" in r.reason


def test_checkpoints_are_recorded_once_per_day_and_month(booked, db):
    first = service.record_checkpoints(up_to=today())
    days = [c for c in first if c.period == "day"]
    assert days and days[-1].period_end == today() and days[-1].seq == 6
    assert days[-1].hash == booked["rows"][-1]["hash"]
    assert service.record_checkpoints(up_to=today()) == []
    assert db.session.execute(select(func.count()).select_from(LedgerCheckpoint)).scalar_one() == len(first)


def test_yesterdays_checkpoint_holds_nothing_booked_today(booked, db):
    added = service.record_checkpoints(up_to=today() - timedelta(days=1))
    assert added == []  # every entry was created today: no finished day holds any of them


def test_verification_can_start_from_the_latest_checkpoint(booked, db, bureau):
    service.record_checkpoints(up_to=today())
    post(db, booked["grants"][0], "10.00", subject="operations", memo="之后")
    body = bureau.get("/api/v1/ledger/verify?since_checkpoint=true").get_json()
    assert body["ok"] and body["start_seq"] == 7 and body["entries_checked"] == 1 and body["checkpoints_checked"] >= 1


def test_institution_staff_may_not_verify_the_whole_ledger(booked, login):
    staff = login("institution", booked["uni"])
    assert staff.get("/api/v1/ledger/verify").status_code == 403


def test_bureau_records_checkpoints_through_the_api_and_auditors_read_them(booked, bureau, auditor):
    r = bureau.post("/api/v1/ledger/checkpoints", json={"up_to": today().isoformat()})
    assert r.status_code == 201 and {c["period"] for c in r.get_json()} >= {"day"}
    assert auditor.post("/api/v1/ledger/checkpoints", json={}).status_code == 403
    listed = auditor.get("/api/v1/ledger/checkpoints?period=day").get_json()
    assert listed[-1]["seq"] == 6


def test_verify_ledger_command_exits_nonzero_when_broken(booked, app, db, backend):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["grants", "verify-ledger"])
    assert ok.exit_code == 0 and "intact" in ok.output
    behind_the_apps_back(db, backend, "UPDATE ledger_entries SET memo = 'x' WHERE seq = 3")
    bad = runner.invoke(args=["grants", "verify-ledger"])
    assert bad.exit_code == 1 and "seq 3" in bad.output


def test_checkpoint_job_records_its_run(booked, app, db):
    checkpoint_job(app)
    run = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
    assert run.job == "ledger_checkpoints" and run.ok
