"""Console commands of the scheduler: ``grants run-scheduler``, ``grants jobs list|run|pause|resume`` and
``grants audit-export``."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext


@click.command("run-scheduler")
@with_appcontext
def run_scheduler():
    """Run the one scheduler process (a second copy waits and takes over if the first dies).

    Web workers never start one."""
    from flask import current_app

    from reports.scheduler import run_scheduler as _run

    sys.exit(_run(current_app._get_current_object(), out=lambda line: click.echo(line)))


@click.group("jobs", help="定时任务 / scheduled jobs: list, run now, pause, resume")
def jobs():
    pass


def _name(name):
    from reports.scheduler import JOBS

    if name not in JOBS:
        raise click.BadParameter(f"unknown job {name}; jobs: {', '.join(JOBS)}", param_hint="NAME")
    return name


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_jobs(as_json):
    """Jobs, when they run, their next run and their last run."""
    from reports.scheduler import describe_jobs, job_lines, store_view

    with store_view() as scheduler:
        described = describe_jobs(scheduler)
    if as_json:
        click.echo(json.dumps(described, ensure_ascii=False, indent=2))
        return
    for line in job_lines(described):
        click.echo(line)
    for j in described:
        if j["last_run"]:
            r = j["last_run"]
            click.echo(f"  {j['name']}: 上次 / last {r['started_at']} {'成功 ok' if r['ok'] else '失败 FAILED'} — "
                       f"{r['detail']}")


@jobs.command("run")
@click.argument("name")
@with_appcontext
def run_job(name):
    """Run a job now in this process (e.g. send today's reminders) and record the run."""
    from reports.scheduler import run_job as _run

    run = _run(_name(name), "manual")
    click.echo(f"{name}: {'成功 / ok' if run.ok else '失败 / FAILED'} — {run.detail}")
    if not run.ok:
        sys.exit(1)


@jobs.command("pause")
@click.argument("name")
@with_appcontext
def pause_job(name):
    """Pause a job: the scheduler skips it until resumed."""
    from reports.scheduler import store_view

    with store_view() as scheduler:
        scheduler.pause_job(_name(name))
    click.echo(f"{name}: 已暂停 / paused")


@jobs.command("resume")
@click.argument("name")
@with_appcontext
def resume_job(name):
    """Resume a paused job from its next regular time."""
    from reports.scheduler import describe_jobs, store_view

    with store_view() as scheduler:
        scheduler.resume_job(_name(name))
        nxt = next(j for j in describe_jobs(scheduler) if j["name"] == name)["next_run_time"]
    click.echo(f"{name}: 已恢复，下次运行 / resumed, next run {nxt}")


@click.command("audit-export")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--folder", default=None, help="default: AUDIT_EXPORT_DIR")
@click.option("--no-mail", is_flag=True)
@with_appcontext
def audit_export(month, folder, no_mail):
    """Export a month's ledger as CSV + Parquet with manifests to the audit folder and mail the auditors."""
    from grants.mail import deliver_due
    from reports.audit_exports import export_month

    for f in export_month(month, folder, mail_auditors=not no_mail):
        click.echo(f"{f.fmt:8} {f.row_count} rows → {f.path}  sha256 {f.sha256}")
    if not no_mail:
        deliver_due()


COMMANDS = (run_scheduler, jobs, audit_export)
