"""The ledger for readers (auditors, the bureau, administrators): browse with filters, one entry with its
hash, previous hash and source record, verify the chain with checkpoint status, and download the exports
(CSV / XLSX / Parquet / zip bundle with manifest) with the browser session. Read-only: nothing here writes."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request, stream_with_context

from flask_login import current_user, login_required

from grants import access
from grants.extensions import db
from reports import exports, ledger_queries
from reports import service as reports
from webui.common import Page, page_number

bp = Blueprint("auditor", __name__, template_folder="templates")


def _filters() -> dict:
    a = request.args

    def num(name):
        v = a.get(name, "")
        return int(v) if v.isdigit() and len(v) < 18 else None

    return {"institution_id": num("institution_id"), "grant_id": num("grant_id"),
            "category": a.get("category") or None, "entry_type": a.get("entry_type") or None,
            "date_from": ledger_queries.parse_date(a.get("date_from")),
            "date_to": ledger_queries.parse_date(a.get("date_to"))}


@bp.get("/ledger")
@login_required
def ledger():
    from grants import registry as grants

    filters = _filters()
    number = page_number()
    rows, total = ledger_queries.ledger_page(current_user, filters, number, 50)
    institutions = db.session.scalars(grants.list_institutions(current_user)).all()
    all_grants = db.session.scalars(grants.list_grants(current_user, {}).limit(500)).all()
    download_args = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()
                     if v is not None and k != "entry_type"}
    return render_template("auditor/ledger.html", page=Page(rows, number, 50, total), args=request.args,
                           institutions=institutions, grants=all_grants, download_args=download_args,
                           grant_codes={g.id: g.code for g in all_grants})


@bp.get("/ledger/<int:seq>")
@login_required
def entry(seq):
    return render_template("auditor/entry.html", d=ledger_queries.entry_detail(seq, current_user))


@bp.get("/ledger/verify")
@login_required
def verify():
    access.require_report_reader(current_user)
    result, checkpoints = None, []
    if request.args.get("run"):
        result = reports.verify_ledger(since_checkpoint=request.args.get("since") == "1")
    from grants.ledger import LedgerCheckpoint

    checkpoints = db.session.scalars(reports.list_checkpoints(current_user, None).order_by(None)
                                     .order_by(LedgerCheckpoint.period_end.desc()).limit(20)).all()
    template = "auditor/_verify_result.html" if request.headers.get("HX-Request") else "auditor/verify.html"
    return render_template(template, result=result, checkpoints=checkpoints)


@bp.get("/ledger/download")
@login_required
def download():
    """The same streamed export as GET /api/v1/ledger/export, authorised by the browser session."""
    from reports.schemas import ExportQuerySchema

    args = ExportQuerySchema().load({k: v for k, v in request.args.items() if k in ExportQuerySchema().fields})
    flt = exports.scoped_filter(db.session, current_user, args)
    fmt = args["format"]
    if args["bundle"] == "zip":
        make, mime, name = (lambda: exports.zip_bundle_chunks(db.session, db.session.connection(), fmt, flt),
                            exports.MIMETYPES["zip"], exports.filename(fmt, flt) + ".zip")
    else:
        make, mime, name = (lambda: exports.export_chunks(db.session.connection(), fmt, flt), exports.MIMETYPES[fmt],
                            exports.filename(fmt, flt))

    def deferred():
        yield from make()

    resp = Response(stream_with_context(deferred()), mimetype=mime)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["X-Ledger-Head-Seq"] = str(flt.seq_to)
    resp.headers["Cache-Control"] = "no-store"
    return resp
