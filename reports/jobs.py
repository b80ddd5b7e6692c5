"""Scheduled jobs: thin wrappers that open an app context, call one service and record the run.

The registry, the job store, the leader lock and ``run_scheduler`` live in ``reports.scheduler``.
Exactly one scheduler process runs them (``grants run-scheduler``); web workers never start one.
"""
from __future__ import annotations


def _run(app, name: str, trigger: str):
    from reports.scheduler import run_job

    with app.app_context():
        return run_job(name, trigger)


def checkpoint_job(app, trigger: str = "manual"):
    """Record the day and month checkpoints that are due."""
    return _run(app, "ledger_checkpoints", trigger)


def evaluation_job(app, trigger: str = "manual"):
    """Schedule evaluations, mark overdue ones (with consequences), queue reminders and send mail."""
    return _run(app, "evaluations", trigger)


def run_scheduler(app) -> int:
    from reports.scheduler import run_scheduler as _run_scheduler

    return _run_scheduler(app)
