"""The one scheduler process: a job registry, APScheduler with its job store in the application database,
a leader lock so a second copy waits, catch-up of runs missed while nobody was running, and run records.

- **Registry** (:data:`JOBS`): each job is one service call with a Chinese and English name, a trigger and,
  for daily or monthly work, the *period* a run covers (the day, the month exported).
- **Job store**: APScheduler's ``SQLAlchemyJobStore`` on the ``apscheduler_jobs`` table (made by the
  migrations). Jobs keep their next run time across restarts; on start a job whose time passed while the
  scheduler was down runs once (``coalesce=True``, ``misfire_grace_time=None``), and a scheduled run whose
  period already has a successful run record is skipped, so a run is never done twice.
- **Leader**: on PostgreSQL a session advisory lock held on a dedicated connection (released by the server
  when the process dies); on SQLite a lease row renewed by heartbeat, taken over once it expires. A
  scheduler that is not the leader waits, and polls to take over.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from evaluations.service import run_daily
from grants.db import TZ, now, today
from grants.extensions import db
from grants.mail import deliver_due
from reports.audit_exports import export_month, previous_month, verify_and_report
from reports.models import JobRun, SchedulerLease
from reports.service import record_checkpoints, record_job_run

JOBSTORE_TABLE = "apscheduler_jobs"
LOCK_NAME = "grants-scheduler"
ADVISORY_KEY = 0x6B796A66  # "kyjf": 科研经费


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class JobSpec:
    name: str
    zh: str
    en: str
    when_zh: str
    when_en: str
    trigger: Callable[[dict], object]           # app config → APScheduler trigger
    run: Callable[[], str]                      # the service call; returns what it did
    period: Callable[[date], str] | None = None  # the day/month a scheduled run covers (run once each)


def _checkpoints() -> str:

    added = record_checkpoints()
    return "; ".join(f"{c.period} {c.period_end} seq {c.seq}" for c in added) or "nothing due"


def _evaluations() -> str:

    r = run_daily()
    return (f"{r['scheduled']} evaluations scheduled, {r['overdue']} overdue, {r['reminders']} reminders queued, "
            f"{r['sent']} mails sent, {r['retry']} to retry")


def _outbox() -> str:

    r = deliver_due()
    return f"{r['sent']} sent, {r['retry']} to retry, {r['failed']} failed"


def _chain() -> str:

    r = verify_and_report()
    d = deliver_due()
    return (f"chain {'intact' if r['ok'] else 'BROKEN at seq ' + str(r['first_broken_seq'])}, head seq "
            f"{r['head_seq']}, chain head of {r['chain_head_mailed']} mailed; {d['sent']} mails sent")


def _monthly_export() -> str:

    files = export_month(previous_month())
    d = deliver_due()
    return "; ".join(f"{f.period} {f.fmt} {f.row_count} rows sha256 {f.sha256[:16]}…" for f in files) + \
        f"; {d['sent']} mails sent"


def _cron(**kw):
    def make(cfg):

        return CronTrigger(timezone=TZ, **kw)
    return make


def _interval(cfg):

    return IntervalTrigger(seconds=int(cfg.get("MAIL_OUTBOX_INTERVAL_SECONDS", 300)), timezone=TZ)


def _day(d: date) -> str:
    return d.isoformat()


def _prev_month(d: date) -> str:

    return previous_month(d)


JOBS: dict[str, JobSpec] = {j.name: j for j in (
    JobSpec("ledger_checkpoints", "总账检查点", "ledger checkpoints", "每天 00:05", "daily at 00:05",
            _cron(hour=0, minute=5), _checkpoints, _day),
    JobSpec("chain_verification", "总账哈希链校验并向审计发送链头", "chain verification and chain head to auditors",
            "每天 00:30", "daily at 00:30", _cron(hour=0, minute=30), _chain, _day),
    JobSpec("audit_export_monthly", "月度审计导出（CSV + Parquet）", "monthly audit export (CSV + Parquet)",
            "每月 1 日 01:00", "on the 1st of each month at 01:00", _cron(day=1, hour=1, minute=0),
            _monthly_export, _prev_month),
    JobSpec("evaluations", "绩效评价：排期、逾期与提醒", "evaluations: scheduling, overdue and reminders",
            "每天 08:00", "daily at 08:00", _cron(hour=8, minute=0), _evaluations, _day),
    JobSpec("mail_outbox", "发送待发邮件（失败重试）", "send queued mail (retry failures)",
            "每隔几分钟", "every few minutes", _interval, _outbox),
)}


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(name: str, trigger: str = "manual"):
    """Run one job now in this process and record the run (outcome and what it did). A scheduled run of a
    period that already has a successful run is skipped (returns None): catch-up never repeats work."""

    spec = JOBS.get(name)
    if spec is None:
        raise KeyError(name)
    period = spec.period(today()) if spec.period else None
    if trigger == "scheduled" and period is not None and db.session.scalar(
            select(JobRun.id).where(JobRun.job == name, JobRun.period == period, JobRun.ok.is_(True),
                                    JobRun.trigger == "scheduled").limit(1)) is not None:
        return None
    started = now()
    try:
        detail = spec.run()
        ok = True
    except Exception as e:  # recorded; the scheduler carries on to the next run

        logging.getLogger(__name__).exception("job %s failed", name)
        db.session.rollback()
        detail, ok = f"{type(e).__name__}: {e}", False
    run = record_job_run(name, started, ok, detail, period=period, trigger=trigger, runner=runner_id())
    db.session.refresh(run)  # loaded, detached, and no transaction left open (SQLite: one writer at a time)
    db.session.expunge(run)
    db.session.rollback()
    return run


_app = None


def execute(name: str) -> None:
    """What APScheduler calls (by reference, so the job store can hold it): one job in an app context."""
    app = _app
    if app is None:  # pragma: no cover - a job store used outside run_scheduler
        from grants.app import create_app  # the app shell imports this package's blueprints: not at the top

        app = create_app()
    with app.app_context():
        try:
            run_job(name, "scheduled")
        finally:
            db.session.remove()


# --------------------------------------------------------------------------- leader lock
class Leadership:
    """Who runs the jobs: a PostgreSQL advisory lock on a dedicated connection, or a SQLite lease row."""

    def __init__(self, engine, lease_seconds: float = 30.0, name: str = LOCK_NAME):
        self.engine, self.lease, self.name = engine, timedelta(seconds=lease_seconds), name
        self.me = runner_id()
        self.pg = engine.dialect.name == "postgresql"
        self._conn = None

    def try_acquire(self) -> bool:
        if self.pg:
            if self._conn is None:
                self._conn = self.engine.connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
            self._conn.commit()
            return bool(got)
        return self._lease()

    def _lease(self) -> bool:

        t = datetime.now(TZ)
        table = SchedulerLease.__table__
        with self.engine.begin() as conn:
            r = conn.execute(table.update().where(
                table.c.name == self.name, (table.c.holder == self.me) | (table.c.expires_at < t))
                .values(holder=self.me, heartbeat_at=t, expires_at=t + self.lease))
            if r.rowcount:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(table.insert().values(name=self.name, holder=self.me, heartbeat_at=t,
                                                   expires_at=t + self.lease))
            return True
        except IntegrityError:
            return False

    def renew(self) -> bool:
        """Still the leader? (PostgreSQL: the lock's connection is alive; SQLite: the lease is renewed.)"""
        if self.pg:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except Exception:
                return False
        return self._lease()

    def release(self) -> None:
        if self.pg:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                    self._conn.commit()
                finally:
                    self._conn.close()
                    self._conn = None
            return

        table = SchedulerLease.__table__
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.name == self.name, table.c.holder == self.me))


# --------------------------------------------------------------------------- APScheduler
def build_scheduler(engine, *, paused: bool = True):
    """A BackgroundScheduler over the database job store, started (paused unless asked otherwise)."""

    scheduler = BackgroundScheduler(
        timezone=TZ, jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.start(paused=paused)
    return scheduler


def ensure_jobs(scheduler, config) -> None:
    """Add the registry's jobs the store lacks; keep the stored ones (and their missed run times)."""
    for spec in JOBS.values():
        trigger = spec.trigger(config)
        job = scheduler.get_job(spec.name)
        if job is None:
            scheduler.add_job("reports.scheduler:execute", trigger, args=[spec.name], id=spec.name,
                              name=spec.en, replace_existing=False)
        elif str(job.trigger) != str(trigger):
            paused = job.next_run_time is None
            scheduler.reschedule_job(spec.name, trigger=trigger)
            if paused:
                scheduler.pause_job(spec.name)


def describe_jobs(scheduler) -> list[dict]:
    """Every registered job: names, when, next run, paused, and its last recorded run."""

    stored = {j.id: j for j in scheduler.get_jobs()}  # before any query: SQLite allows one writer at a time
    out = []
    for spec in JOBS.values():
        job = stored.get(spec.name)
        last = db.session.scalars(select(JobRun).where(JobRun.job == spec.name)
                                  .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()
        nxt = job.next_run_time if job else None
        out.append({"name": spec.name, "title_zh": spec.zh, "title_en": spec.en, "when_zh": spec.when_zh,
                    "when_en": spec.when_en, "trigger": str(job.trigger) if job else str(spec.trigger({})),
                    "scheduled": job is not None, "paused": job is not None and nxt is None,
                    "next_run_time": nxt.astimezone(TZ).isoformat(timespec="minutes") if nxt else None,
                    "last_run": None if last is None else {
                        "started_at": last.started_at.isoformat(timespec="seconds"), "ok": last.ok,
                        "detail": last.detail, "trigger": last.trigger, "period": last.period}})
    db.session.rollback()  # read only; and on SQLite a transaction left open would lock out the job store
    return out


def job_lines(jobs: list[dict]) -> list[str]:
    lines = []
    for j in jobs:
        nxt = j["next_run_time"] or ("已暂停 / paused" if j["paused"] else "未排程 / not scheduled")
        lines.append(f"  {j['name']:22} {j['title_zh']} / {j['title_en']}")
        lines.append(f"  {'':22} {j['when_zh']} / {j['when_en']} — 下次运行 / next run: {nxt}")
    return lines


class _StoreView:
    """A paused scheduler over the job store: list, pause and resume jobs without running any."""

    def __enter__(self):
        self.scheduler = build_scheduler(db.engine, paused=True)

        ensure_jobs(self.scheduler, current_app.config)
        return self.scheduler

    def __exit__(self, *exc):
        quiet_shutdown(self.scheduler)


def quiet_shutdown(scheduler) -> None:
    """Shut a paused scheduler down without it submitting due jobs on the way out (APScheduler 3 processes
    jobs once more when woken to stop, which would consume a run the real scheduler must catch up)."""
    scheduler._process_jobs = lambda: None
    scheduler.shutdown(wait=False)


def store_view() -> _StoreView:
    return _StoreView()


def run_scheduler(app, out=print, poll_seconds: float | None = None, stop: threading.Event | None = None) -> int:
    """``grants run-scheduler``: wait to be the leader, then run the jobs until stopped or leadership is lost."""
    global _app
    _app = app
    stop = stop or threading.Event()
    with app.app_context():
        engine = db.engine
        lease = float(app.config.get("SCHEDULER_LEASE_SECONDS", 30))
        poll = poll_seconds or max(lease / 3, 0.2)
        lead = Leadership(engine, lease)
        waiting_said = False
        while not lead.try_acquire():
            if not waiting_said:
                out(f"另一个调度进程正在运行，等待接管 / another scheduler is running; waiting to take over "
                    f"({lead.me})")
                waiting_said = True
            if stop.wait(poll):
                return 0
        out(f"本进程为调度进程 / this process is the scheduler ({lead.me}, "
            f"{'PostgreSQL advisory lock' if lead.pg else 'SQLite lease'})")
        scheduler = build_scheduler(engine, paused=True)
        try:
            ensure_jobs(scheduler, app.config)
            out("任务与下次运行时间 / jobs and their next run:")
            for line in job_lines(describe_jobs(scheduler)):
                out(line)
            db.session.remove()
            scheduler.resume()  # a job whose time passed while nobody ran runs now, once
            while not stop.wait(poll):
                if not lead.renew():
                    out("失去调度权，停止 / leadership lost; stopping")
                    return 1
                scheduler.wakeup()  # see pauses, resumes and runs requested from other processes
        finally:
            scheduler.shutdown(wait=True)
            lead.release()
    return 0
