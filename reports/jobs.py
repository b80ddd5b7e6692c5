"""Scheduled jobs: thin wrappers that open an app context, call one service and record the run.

Exactly one scheduler process runs them (``grants run-scheduler``); web workers never start one.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from evaluations.service import schedule_all, send_reminders
from grants.db import TZ, now
from reports.service import record_checkpoints, record_job_run

log = logging.getLogger(__name__)


def checkpoint_job(app) -> None:
    """Record the day and month checkpoints that are due."""
    with app.app_context():
        started = now()
        try:
            added = record_checkpoints()
        except Exception as e:  # recorded, then the scheduler carries on to the next run
            log.exception("ledger checkpoint job failed")
            record_job_run("ledger_checkpoints", started, False, f"{type(e).__name__}: {e}")
            return
        record_job_run("ledger_checkpoints", started, True,
                       "; ".join(f"{c.period} {c.period_end} seq {c.seq}" for c in added) or "nothing due")


def evaluation_job(app) -> None:
    """Schedule the evaluations of newly approved grants and mail today's reminders."""
    with app.app_context():
        started = now()
        try:
            added = schedule_all()
            sent = send_reminders()
        except Exception as e:  # recorded, then the scheduler carries on to the next run
            log.exception("evaluation job failed")
            record_job_run("evaluations", started, False, f"{type(e).__name__}: {e}")
            return
        record_job_run("evaluations", started, True, f"{added} evaluations scheduled, {len(sent)} reminders sent")


def build_scheduler(app, blocking: bool = True):
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=TZ)
    scheduler.add_job(checkpoint_job, "cron", hour=0, minute=5, args=[app], id="ledger_checkpoints",
                      coalesce=True, max_instances=1, replace_existing=True)
    scheduler.add_job(evaluation_job, "cron", hour=8, minute=0, args=[app], id="evaluations",
                      coalesce=True, max_instances=1, replace_existing=True)
    return scheduler


def run_scheduler(app) -> None:
    checkpoint_job(app)  # catch up at start-up: the job is idempotent
    build_scheduler(app, blocking=True).start()
