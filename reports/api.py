"""HTTP API of ledger verification, auditor exports and the finance bureau's reports (thin views)."""
from __future__ import annotations

from flask import Response, stream_with_context
from flask.views import MethodView

from grants import access
from grants.extensions import db
from grants.web import blueprint, caller, page_of
from reports import exports
from reports import schemas as sc
from reports import service
from reports.workbook import report_workbook

blp = blueprint("reports", __name__, "审计与报表 / ledger verification, auditor exports, finance-bureau reports")
PAGE = {"page_size": 100, "max_page_size": 1000}

FILE_RESPONSE = {"200": {"description": "the file, streamed (CSV UTF-8 with BOM / XLSX / Parquet / zip)",
                         "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                     for m in exports.MIMETYPES.values()}}}


@blp.route("/ledger/verify")
class LedgerVerify(MethodView):
    @blp.arguments(sc.VerifyQuerySchema, location="query")
    @blp.response(200, sc.VerifySchema)
    def get(self, args):
        """校验总账 / recompute every institution's hash chain and the checkpoints; names each chain's first
        broken entry"""
        access.require_report_reader(caller())
        return service.verify_ledger(args["since_checkpoint"], args["institution_id"]).to_dict()


@blp.route("/ledger/heads")
class LedgerHeads(MethodView):
    @blp.response(200, sc.HeadsSchema)
    def get(self):
        """链头 / every chain's head now and the Merkle root over them (what the daily head report records)"""
        access.require_report_reader(caller())
        return service.chain_heads_now()


@blp.route("/ledger/checkpoints")
class LedgerCheckpoints(MethodView):
    @blp.arguments(sc.CheckpointQuerySchema, location="query")
    @blp.response(200, sc.CheckpointSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, args, pagination_parameters):
        """检查点 / the Merkle root of every chain's head, recorded at the end of each day and month"""
        return page_of(service.list_checkpoints(caller(), args["period"]), pagination_parameters)

    @blp.arguments(sc.CheckpointRunSchema)
    @blp.response(201, sc.CheckpointSchema(many=True))
    def post(self, args):
        """记录检查点 / record the missing day and month checkpoints now (idempotent; bureau; finished days only:
        ``up_to`` today or later is 422)"""
        access.require_recorder(caller())
        return service.record_checkpoints(args["up_to"])


def _deferred(make):
    """Build the chunk iterator only when streaming starts: the view's session is closed by then, and the
    streamed context opens its own connection (the export is pinned to ``seq_to``, so it sees the same rows)."""
    yield from make()


def _streamed(make, mimetype: str, name: str, head_seq: int) -> Response:
    resp = Response(stream_with_context(_deferred(make)), mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["X-Ledger-Head-Seq"] = str(head_seq)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@blp.route("/ledger/export")
class LedgerExport(MethodView):
    @blp.arguments(sc.ExportQuerySchema, location="query")
    @blp.doc(responses=FILE_RESPONSE)
    def get(self, args):
        """导出总账 / stream ledger entries as CSV, XLSX or Parquet (``bundle=zip`` adds manifest.json)

        Institution staff get their own institution's entries only. The export is pinned to the chain
        head at the start (header ``X-Ledger-Head-Seq``); pass it as ``seq_to`` to the manifest endpoint.
        """
        flt = exports.scoped_filter(db.session, caller(), args)
        fmt = args["format"]
        if args["bundle"] == "zip":
            return _streamed(lambda: exports.zip_bundle_chunks(db.session, db.session.connection(), fmt, flt),
                             exports.MIMETYPES["zip"], exports.filename(fmt, flt) + ".zip", flt.seq_to)
        return _streamed(lambda: exports.export_chunks(db.session.connection(), fmt, flt), exports.MIMETYPES[fmt],
                         exports.filename(fmt, flt), flt.seq_to)


@blp.route("/ledger/export/manifest")
class LedgerExportManifest(MethodView):
    @blp.arguments(sc.ExportQuerySchema, location="query")
    @blp.response(200, sc.ManifestSchema)
    def get(self, args):
        """导出清单 / the manifest of an export: rows, sums by subject, chain ends, SHA-256 of the file

        Recomputed from the same rows (outputs are deterministic), so give the ``seq_to`` the export
        answered in ``X-Ledger-Head-Seq``.
        """
        s = db.session
        flt = exports.scoped_filter(s, caller(), args)
        return exports.build_manifest(s, args["format"], flt, exports.export_chunks(s.connection(), args["format"], flt))


def _report(report: dict, args: dict, name: str):
    """JSON by default; ``format=xlsx`` downloads the same figures as a workbook."""
    if args.get("format") == "xlsx":
        resp = Response(report_workbook(report, name), mimetype=exports.MIMETYPES["xlsx"])
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return resp
    return report


XLSX_OR_JSON = {"200": {"description": "the report as JSON, or as XLSX with format=xlsx",
                        "content": {"application/json": {"schema": {"type": "object"}},
                                    exports.MIMETYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}


@blp.route("/reports/compliance-overview")
class ComplianceOverview(MethodView):
    @blp.arguments(sc.ReportQuerySchema, location="query")
    @blp.doc(responses=XLSX_OR_JSON)
    def get(self, args):
        """合规概览 / expenses and amounts by verdict, rule, institution, category, month; worst institutions;
        approval-queue age"""
        return _report(service.compliance_overview(caller(), args), args, "compliance-overview")


@blp.route("/reports/budget-execution")
class BudgetExecution(MethodView):
    @blp.arguments(sc.ReportQuerySchema, location="query")
    @blp.doc(responses=XLSX_OR_JSON)
    def get(self, args):
        """预算执行率 / per grant and subject: budget, spent, pending, remaining, burn vs time; at-risk grants"""
        return _report(service.budget_execution(caller(), args), args, "budget-execution")


@blp.route("/reports/seed-figures")
class SeedFigures(MethodView):
    @blp.arguments(sc.ReportQuerySchema, location="query")
    @blp.doc(responses=XLSX_OR_JSON)
    def get(self, args):
        """政策指标 / the seed policies' figures: unregistered ≥30万 instruments, horizontal projects ≥40万,
        youth share of 基本科研业务费, SOE R&D add-back, S&T budget growth"""
        return _report(service.seed_figures(caller(), args), args, "seed-figures")


@blp.route("/reports/policy-replay")
class PolicyReplay(MethodView):
    @blp.arguments(sc.ReplayQuerySchema, location="query")
    @blp.doc(responses=XLSX_OR_JSON)
    def get(self, args):
        """政策变更回放 / re-judge a period's expenses under a draft policy version; which verdicts change.
        Read-only: nothing on the books changes."""
        report = service.policy_replay(caller(), version_id=args["version_id"], date_from=args["date_from"],
                                       date_to=args["date_to"], changed_only=args["changed_only"])
        return _report(report, args, "policy-replay")


@blp.route("/reports/rd-spend")
class RdSpend(MethodView):
    @blp.response(200, sc.RdSpendSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, pagination_parameters):
        """国企研发投入 / state-owned enterprises' yearly R&D spend (for the 150% add-back)"""
        return page_of(service.list_rd_spend(caller()), pagination_parameters)

    @blp.arguments(sc.RdSpendSchema)
    @blp.response(200, sc.RdSpendSchema)
    def put(self, data):
        """登记国企研发投入 / record or correct one enterprise's R&D spend for a year (bureau)"""
        return service.record_rd_spend(data, caller())


@blp.route("/reports/st-budget-years")
class StBudgetYears(MethodView):
    @blp.response(200, sc.StBudgetYearSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, pagination_parameters):
        """市科技专项资金预算 / the municipal S&T special-fund budget by year"""
        return page_of(service.list_st_budget(caller()), pagination_parameters)


@blp.route("/reports/st-budget-years/<int:year>")
class StBudgetYearByYear(MethodView):
    @blp.arguments(sc.StBudgetYearSchema)
    @blp.response(200, sc.StBudgetYearSchema)
    def put(self, data, year):
        """登记年度预算 / record or correct one year's municipal S&T budget (bureau)"""
        return service.record_st_budget(year, data, caller())
