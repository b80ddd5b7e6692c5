"""The scheduler: a second process waits and takes over, missed runs are caught up once, the job API and CLI,
and the monthly audit export matches the ledger."""
import csv
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from grants.db import TZ, set_clock
from reports.models import JobRun

ROOT = Path(__file__).resolve().parents[2]


def _start(url, out: Path):
    env = {**os.environ, "DATABASE_URL": url, "SCHEDULER_LEASE_SECONDS": "1", "MAIL_OUTBOX_INTERVAL_SECONDS": "1",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "9", "SECRET_KEY": "scheduler-test-secret"}
    fh = open(out, "w")
    return subprocess.Popen([sys.executable, "-u", "-c", "from grants.cli import main; main()", "run-scheduler"],
                            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)


def _wait_for(path: Path, text: str, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if text in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path.read_text(encoding='utf-8', errors='replace')}")


def _poll(fn, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        got = fn()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("timed out")


def _runners(db_):
    db_.session.rollback()
    out = [r.runner for r in db_.session.scalars(select(JobRun).where(JobRun.job == "mail_outbox")
                                                 .order_by(JobRun.id))]
    db_.session.rollback()  # SQLite: never hold the write lock while the schedulers work
    return out


def test_a_second_scheduler_waits_and_takes_over_when_the_first_dies(app, committed_db, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    a = _start(url, tmp_path / "a.log")
    b = None
    try:
        _wait_for(tmp_path / "a.log", "this process is the scheduler")
        b = _start(url, tmp_path / "b.log")
        _wait_for(tmp_path / "b.log", "waiting to take over")
        assert "下次运行 / next run" in (tmp_path / "a.log").read_text() and "mail_outbox" in (tmp_path / "a.log").read_text()
        runs = _poll(lambda: len(_runners(committed_db)) >= 3 and _runners(committed_db))  # 1-second outbox runs
        assert all(r.endswith(f":{a.pid}") for r in runs)          # only the leader runs jobs, B only waits
        a.send_signal(signal.SIGKILL)
        a.wait()
        _wait_for(tmp_path / "b.log", "this process is the scheduler")
        after = _poll(lambda: _runners(committed_db)[len(runs):])
        assert all(r.endswith(f":{b.pid}") for r in after)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(10)


def test_a_run_missed_while_down_is_caught_up_once(app, committed_db, smtp):
    from reports.scheduler import build_scheduler, ensure_jobs, quiet_shutdown, run_scheduler

    with app.app_context():
        s = build_scheduler(committed_db.engine, paused=True)
        ensure_jobs(s, app.config)
        for job in s.get_jobs():  # the scheduler was down for three days: every daily run is overdue
            s.modify_job(job.id, next_run_time=datetime.now(TZ) - timedelta(days=3))
        s.pause_job("mail_outbox")
        quiet_shutdown(s)

    def run_for(seconds):
        said = []
        stop = threading.Event()
        t = threading.Thread(target=run_scheduler, args=(app,), kwargs={"out": said.append,
                                                                         "poll_seconds": 0.2, "stop": stop})
        t.start()
        time.sleep(seconds)
        stop.set()
        t.join(20)
        assert not t.is_alive() and any("this process is the scheduler" in line for line in said), said

    run_for(3)
    committed_db.session.rollback()
    runs = [(r.job, r.ok, r.trigger, r.detail) for r in committed_db.session.scalars(select(JobRun).order_by(JobRun.id))]
    committed_db.session.rollback()  # SQLite: release the read before the scheduler starts again
    assert sorted(r[0] for r in runs) == ["audit_export_monthly", "chain_verification", "evaluations",
                                          "ledger_checkpoints"]               # once each, not three times
    assert all(ok and trigger == "scheduled" for _, ok, trigger, _ in runs), runs
    run_for(1.5)                                                              # a restart: nothing repeats
    committed_db.session.rollback()
    assert len(committed_db.session.scalars(select(JobRun.id)).all()) == 4
    committed_db.session.rollback()


def test_monthly_export_matches_the_ledger_and_reaches_the_auditors(app, db, smtp, tmp_path):
    from grants import ledger
    from grants.ledger import LedgerEntry
    from grants.models import GrantStatus
    from reports.models import AuditExport
    from reports.scheduler import run_job
    from tests.factories import GrantFactory, UserFactory

    app.config["AUDIT_EXPORT_DIR"] = str(tmp_path)
    UserFactory(role="auditor", email="audit@sj.example")
    g = GrantFactory(status=GrantStatus.ACTIVE)
    for day, amount in ((date(2026, 6, 30), "1.00"), (date(2026, 7, 1), "100.00"), (date(2026, 7, 31), "250.50"),
                        (date(2026, 8, 1), "7.00")):
        ledger.post(db.session, [ledger.Posting.for_grant(g, ledger.EntryType.DISBURSEMENT, day, Decimal(amount),
                                                         "tranche", 1)])
    db.session.commit()
    set_clock(lambda: datetime(2026, 8, 1, 1, 0, tzinfo=TZ))
    try:
        run = run_job("audit_export_monthly", "scheduled")
        assert run.ok and run.period == "2026-07", run.detail
        assert run_job("audit_export_monthly", "scheduled") is None
    finally:
        set_clock(None)
    files = {e.fmt: e for e in db.session.scalars(select(AuditExport).where(AuditExport.period == "2026-07"))}
    assert set(files) == {"csv", "parquet"}
    july = db.session.scalars(select(LedgerEntry).where(LedgerEntry.entry_date >= date(2026, 7, 1),
                                                        LedgerEntry.entry_date <= date(2026, 7, 31))
                              .order_by(LedgerEntry.seq)).all()
    with open(files["csv"].path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(int(r["seq"]), r["amount"], r["hash"]) for r in rows] == [(e.seq, f"{e.amount:.2f}", e.hash) for e in july]
    for e in files.values():
        assert hashlib.sha256(Path(e.path).read_bytes()).hexdigest() == e.sha256
        assert Path(e.path + ".manifest.json").exists() and e.row_count == 2
    (rcpts, msg), = [(r, m) for r, m in smtp.messages if "2026-07" in str(m["Subject"]) or "2026-07" in m.as_string()]
    assert rcpts == ["audit@sj.example"]
    names = {p.get_filename() for p in msg.walk() if p.get_filename()}
    assert names == {"ledger-2026-07.csv", "ledger-2026-07.parquet", "ledger-2026-07.csv.manifest.json",
                     "ledger-2026-07.parquet.manifest.json"}


def test_daily_verification_mails_the_chain_head_and_alerts_when_broken(app, db, smtp):
    from reports.scheduler import run_job
    from tests.factories import LedgerCheckpointFactory, UserFactory

    UserFactory(role="auditor", email="audit@sj.example")
    UserFactory(role="finance_bureau", email="bureau@kjj.example")
    LedgerCheckpointFactory(period="day", period_end=date(2026, 7, 31), seq=5, merkle_root="ab" * 32,
                            chains=1)  # names no entry
    db.session.commit()
    run = run_job("chain_verification", "manual")
    assert run.ok and "BROKEN" in run.detail
    subjects = {str(m["Subject"]): sorted(r) for r, m in smtp.messages}
    alert = next(v for k, v in subjects.items() if "ALERT" in k or "=?" in k and "ledger chain broken" in
                 __import__("email.header", fromlist=["x"]).make_header(
                     __import__("email.header", fromlist=["x"]).decode_header(k)).__str__())
    assert alert == ["audit@sj.example", "bureau@kjj.example"]
    bodies = [m.get_payload(decode=True).decode() for _, m in smtp.messages]
    assert any("ab" * 32 in b and "seq 5" in b for b in bodies)


def test_bureau_lists_runs_pauses_and_resumes_jobs(app, committed_db, smtp):
    """Through the API (the job store needs committed data: it uses connections of its own)."""
    from tests.conftest import Caller
    from tests.factories import make_user

    client = app.test_client()
    bureau = Caller(client, *make_user("finance_bureau"))
    auditor = Caller(client, *make_user("auditor"))
    committed_db.session.commit()
    assert auditor.get("/api/v1/jobs").status_code == 403
    jobs = bureau.get("/api/v1/jobs").get_json()
    assert {j["name"] for j in jobs} == {"ledger_checkpoints", "chain_verification", "audit_export_monthly",
                                         "evaluations", "mail_outbox"}
    assert all(j["next_run_time"] and j["title_zh"] and j["title_en"] and not j["paused"] for j in jobs)
    r = bureau.post("/api/v1/jobs/evaluations/run")
    assert r.status_code == 200 and r.get_json()["ok"] and r.get_json()["trigger"] == "manual"
    assert bureau.post("/api/v1/jobs/evaluations/pause").get_json()["paused"] is True
    listed = {j["name"]: j for j in bureau.get("/api/v1/jobs").get_json()}
    assert listed["evaluations"]["paused"] and listed["evaluations"]["next_run_time"] is None
    assert listed["evaluations"]["last_run"]["ok"] and listed["evaluations"]["last_run"]["trigger"] == "manual"
    resumed = bureau.post("/api/v1/jobs/evaluations/resume").get_json()
    assert resumed["paused"] is False and resumed["next_run_time"]
    history = bureau.get("/api/v1/jobs/runs?job=evaluations").get_json()
    assert len(history) == 1 and history[0]["detail"].startswith("0 evaluations scheduled") and history[0]["runner"]
    assert bureau.post("/api/v1/jobs/nope/run").status_code == 404


def test_jobs_cli_lists_runs_pauses_and_resumes(app, committed_db, smtp):
    from grants.cli import grants_cli

    runner = app.test_cli_runner()
    out = runner.invoke(grants_cli, ["jobs", "list"]).output
    assert "evaluations" in out and "下次运行 / next run" in out and "每天 08:00 / daily at 08:00" in out
    r = runner.invoke(grants_cli, ["jobs", "run", "evaluations"])
    assert r.exit_code == 0 and "成功 / ok" in r.output, r.output
    assert "已暂停 / paused" in runner.invoke(grants_cli, ["jobs", "pause", "mail_outbox"]).output
    assert "mail_outbox" in runner.invoke(grants_cli, ["jobs", "list"]).output
    assert "已恢复" in runner.invoke(grants_cli, ["jobs", "resume", "mail_outbox"]).output
    assert runner.invoke(grants_cli, ["jobs", "run", "nope"]).exit_code != 0


def test_the_bureau_sees_and_runs_jobs_on_a_page(app, committed_db, smtp):
    from grants.accounts import create_user

    create_user("web_bureau", "finance_bureau", "a-long-password")
    create_user("web_audit", "auditor", "a-long-password")

    def logged_in(username):
        from flask import g

        for key in ("_login_user", "csrf_token"):  # the test's app context is shared by its requests
            g.pop(key, None)
        client = app.test_client()
        page = client.get("/login")
        token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        assert client.post("/login", data={"username": username, "password": "a-long-password",
                                           "csrf_token": token}).status_code == 302
        return client, token

    auditor, _ = logged_in("web_audit")
    assert auditor.get("/jobs").status_code == 403
    committed_db.session.rollback()
    client, token = logged_in("web_bureau")
    from flask import g

    g.pop("csrf_token", None)  # the login began a new session: its CSRF token is the page's, not the login form's
    page = client.get("/jobs").get_data(as_text=True)
    assert "绩效评价：排期、逾期与提醒" in page and "下次运行 / next run" in page and "尚无记录 / none yet" in page
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/jobs/evaluations/run", data={"csrf_token": csrf}).status_code == 302
    assert client.post("/jobs/evaluations/pause", data={"csrf_token": csrf}).status_code == 302
    page = client.get("/jobs").get_data(as_text=True)
    assert "0 evaluations scheduled" in page and "已暂停 / paused" in page and "manual" in page
    assert client.post("/jobs/evaluations/pause", data={}).status_code == 400   # no CSRF token
