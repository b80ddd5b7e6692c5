"""HTTP API of the scheduler for the bureau and admins: jobs, next runs, run history, run/pause/resume, and
the audit exports (thin views over ``reports.scheduler`` and ``reports.audit_exports``)."""
from __future__ import annotations

import re

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select

from grants.access import require_bureau
from grants.access import require_report_reader as require_reader
from grants.errors import Invalid, NotFound
from grants.extensions import db
from grants.mail import deliver_due
from grants.web import blueprint, caller, page_of
from reports.audit_exports import export_month, list_exports
from reports.models import JobRun
from reports.scheduler import JOBS, describe_jobs, run_job, store_view

blp = blueprint("jobs", __name__, "定时任务 / scheduled jobs: next runs, run history, run now, pause, resume")


class LastRunSchema(Schema):
    started_at = fields.Str()
    ok = fields.Bool()
    detail = fields.Str()
    trigger = fields.Str()
    period = fields.Str(allow_none=True)


class JobSchema(Schema):
    name = fields.Str()
    title_zh = fields.Str()
    title_en = fields.Str()
    when_zh = fields.Str()
    when_en = fields.Str()
    trigger = fields.Str()
    scheduled = fields.Bool()
    paused = fields.Bool()
    next_run_time = fields.Str(allow_none=True)
    last_run = fields.Nested(LastRunSchema, allow_none=True)


class JobRunSchema(Schema):
    id = fields.Int()
    job = fields.Str()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    ok = fields.Bool()
    detail = fields.Str()
    period = fields.Str(allow_none=True)
    trigger = fields.Str()
    runner = fields.Str()


class RunQuerySchema(Schema):
    job = fields.Str()


class AuditExportSchema(Schema):
    id = fields.Int()
    period = fields.Str()
    fmt = fields.Str()
    path = fields.Str()
    sha256 = fields.Str()
    bytes = fields.Int()
    row_count = fields.Int()
    seq_to = fields.Int()
    created_at = fields.DateTime()


class AuditExportRequestSchema(Schema):
    month = fields.Str(required=True, metadata={"example": "2026-10"})


def _bureau():

    user = caller()
    require_bureau(user, "管理定时任务")
    db.session.commit()  # end the read transaction: the job store uses connections of its own
    return user


def _job(name):

    if name not in JOBS:
        raise NotFound(f"任务 {name} 不存在 / job {name} not found")
    return name


def _describe(name=None):

    with store_view() as scheduler:
        jobs = describe_jobs(scheduler)
    return jobs if name is None else next(j for j in jobs if j["name"] == name)


@blp.route("/jobs")
class Jobs(MethodView):
    @blp.response(200, JobSchema(many=True))
    def get(self):
        """定时任务与下次运行时间 / jobs, their next run and last run"""
        _bureau()
        return _describe()


@blp.route("/jobs/runs")
class JobRuns(MethodView):
    @blp.arguments(RunQuerySchema, location="query")
    @blp.response(200, JobRunSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query, pagination_parameters):
        """运行记录 / run history: outcome and what each run did, newest first"""

        _bureau()
        stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
        if query.get("job"):
            stmt = stmt.where(JobRun.job == query["job"])
        return page_of(stmt, pagination_parameters)


@blp.route("/jobs/<string:name>/run")
class JobRunNow(MethodView):
    @blp.response(200, JobRunSchema)
    def post(self, name):
        """立即运行 / run the job now (recorded as a manual run)"""

        _bureau()
        return run_job(_job(name), "manual")


@blp.route("/jobs/<string:name>/pause")
class JobPause(MethodView):
    @blp.response(200, JobSchema)
    def post(self, name):
        """暂停 / pause the job"""

        _bureau()
        with store_view() as scheduler:
            scheduler.pause_job(_job(name))
        return _describe(name)


@blp.route("/jobs/<string:name>/resume")
class JobResume(MethodView):
    @blp.response(200, JobSchema)
    def post(self, name):
        """恢复 / resume the job from its next regular time"""

        _bureau()
        with store_view() as scheduler:
            scheduler.resume_job(_job(name))
        return _describe(name)


@blp.route("/audit-exports")
class AuditExports(MethodView):
    @blp.response(200, AuditExportSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, pagination_parameters):
        """审计导出记录 / the monthly audit exports with their SHA-256 (bureau, admins and auditors)"""

        require_reader(caller())
        return page_of(list_exports(), pagination_parameters)

    @blp.arguments(AuditExportRequestSchema)
    @blp.response(201, AuditExportSchema(many=True))
    def post(self, data):
        """按需导出某月 / export a month now (CSV + Parquet + manifests) and mail the auditors"""


        _bureau()
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", data["month"]):
            raise Invalid("月份格式为 YYYY-MM / month is YYYY-MM", {"month": ["YYYY-MM"]})
        files = export_month(data["month"])
        deliver_due()
        return files
