"""The scheduler's page for the bureau and admins: jobs, next runs, run history; run now, pause, resume.

A thin view over ``reports.scheduler`` (the same calls as ``/api/v1/jobs``). Labels are bilingual literals
until the web branch's vocabulary takes them over.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from grants.extensions import db
from grants.models import Role
from webui.views import bp
from reports.models import JobRun
from reports.scheduler import JOBS, describe_jobs, run_job, store_view

MANAGERS = (Role.FINANCE_BUREAU, Role.ADMIN)


def _require_manager():
    if current_user.role not in MANAGERS:
        abort(403)
    db.session.commit()  # end the read: the job store uses connections of its own (SQLite: one writer)


@bp.get("/jobs")
@login_required
def jobs():

    _require_manager()
    with store_view() as scheduler:
        described = describe_jobs(scheduler)
    runs = db.session.scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(50)).all()
    return render_template("jobs.html", jobs=described, runs=runs, form=FlaskForm())


@bp.post("/jobs/<name>/<action>")
@login_required
def job_action(name, action):

    _require_manager()
    if name not in JOBS or action not in ("run", "pause", "resume") or not FlaskForm().validate_on_submit():
        abort(404 if name not in JOBS or action not in ("run", "pause", "resume") else 400)
    if action == "run":
        run = run_job(name, "manual")
        flash(f"{name}: {'成功 / ok' if run.ok else '失败 / failed'} — {run.detail}", "info" if run.ok else "error")
    else:
        with store_view() as scheduler:
            (scheduler.pause_job if action == "pause" else scheduler.resume_job)(name)
        flash(f"{name}: {'已暂停 / paused' if action == 'pause' else '已恢复 / resumed'}", "info")
    return redirect(url_for("web.jobs"))
