"""Pages of institution staff (and the read-only views of them the bureau and auditors share): expenses
with filters, an expense's page and printable 报销单, the dry run (htmx), spreadsheet import, 预算调剂 and
evaluations. Thin: parse, call the service, render."""
from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from budgets import expense_queries, import_files
from budgets.schemas import AdjustmentSchema
from budgets.service import list_lines, request_adjustment
from budgets.expenses import service as expense_service
from budgets.expenses.importer import COLUMNS
from budgets.expenses.schemas import ExpenseInSchema
from evaluations.service import list_due
from grants import registry as grants
from grants import access
from grants.errors import DomainError
from grants.extensions import db
from webui.common import Page, lang, page_number
from webui.forms import AdjustmentForm, BookImportForm, ExpenseForm, ImportForm, SubmissionForm

bp = Blueprint("inst", __name__, template_folder="templates")


def _date_arg(name):
    try:
        return date.fromisoformat(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


def _int_arg(name):
    v = request.args.get(name, "")
    return int(v) if v.isdigit() and len(v) < 18 else None


def _visible_grants():
    return db.session.scalars(grants.list_grants(current_user, {}).limit(500)).all()


@bp.get("/expenses")
@login_required
def expenses():
    from budgets.models import ExpenseStatus, Verdict

    filters = {"grant_id": _int_arg("grant_id"), "date_from": _date_arg("date_from"), "date_to": _date_arg("date_to"),
               "subject": request.args.get("subject") or None}
    if request.args.get("status") in {s.value for s in ExpenseStatus}:
        filters["status"] = ExpenseStatus(request.args["status"])
    if request.args.get("verdict") in {v.value for v in Verdict}:
        filters["verdict"] = Verdict(request.args["verdict"])
    number = page_number()
    rows, total = expense_queries.expense_page(current_user, filters, number, 25)
    return render_template("inst/expenses.html", page=Page(rows, number, 25, total), grants=_visible_grants(),
                           args=request.args)


@bp.get("/expenses/<int:expense_id>")
@login_required
def expense(expense_id):
    detail = expense_queries.expense_detail(expense_id, current_user)
    return render_template("inst/expense.html", d=detail, e=detail.expense)


@bp.get("/expenses/<int:expense_id>/voucher")
@login_required
def voucher(expense_id):
    detail = expense_queries.expense_detail(expense_id, current_user)
    return render_template("inst/voucher.html", d=detail, e=detail.expense, today=date.today())


@bp.post("/grants/<int:grant_id>/check")
@login_required
def check(grant_id):
    """The dry run for htmx: the verdict and its cited findings, nothing recorded."""
    g = grants.get_grant(grant_id, current_user)
    form = ExpenseForm(researchers=_researchers(g))
    verdict, errors = None, {}
    if form.validate():
        try:
            judgement, version = expense_service.check_expense(ExpenseInSchema().load(form.data_for(g.id)), current_user)
            verdict = {"verdict": judgement.verdict, "findings": [f.to_dict() for f in judgement.findings],
                       "recorded": False, "policy_version": version.version if version else None}
        except ValidationError as e:
            errors = e.messages
        except DomainError as e:
            errors = e.errors or {"_": [e.message]}
    else:
        errors = form.errors
    return render_template("inst/_verdict.html", verdict=verdict, errors=errors, form=form)


def _researchers(g):
    try:
        return db.session.scalars(grants.list_researchers(current_user, g.institution_id)).all()
    except DomainError:
        return []


@bp.route("/grants/<int:grant_id>/adjustments", methods=["GET", "POST"])
@login_required
def adjustments(grant_id):
    g = grants.get_grant(grant_id, current_user)
    form = AdjustmentForm()
    errors = {}
    if request.method == "POST":
        if not access.is_writer(current_user):
            abort(403)
        if form.validate_on_submit():
            try:
                data = AdjustmentSchema().load({"from_subject": form.from_subject.data, "to_subject": form.to_subject.data,
                                                "amount": form.amount.data, "reason": form.reason.data})
                adj = request_adjustment(g.id, data, current_user)
                flash(_("预算调剂已提交") + f" #{adj.id}", "ok")
                return redirect(url_for("inst.adjustments", grant_id=g.id))
            except ValidationError as e:
                errors = e.messages
            except DomainError as e:
                if e.status == 403:
                    abort(403)
                errors = e.errors or {"_": [e.message]}
        else:
            errors = form.errors
    rows = expense_queries.adjustments_of(current_user, [g.id])
    return render_template("inst/adjustments.html", grant=g, form=form, errors=errors, rows=rows,
                           lines=list_lines(g.id, current_user)), (422 if errors else 200)


# --------------------------------------------------------------------------- import
def _upload_dir() -> Path:
    d = Path(current_app.instance_path) / "uploads"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _stored(token: str) -> tuple[bytes, str]:
    if not re.fullmatch(r"[0-9a-f]{64}\.(csv|xlsx|xlsm)", token or ""):
        abort(404)
    path = _upload_dir() / token
    if not path.exists():
        abort(404)
    return path.read_bytes(), token


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_form():
    form = ImportForm()
    report, token, errors = None, None, {}
    if request.method == "POST":
        if not access.is_writer(current_user):
            abort(403)
        if form.validate_on_submit():
            upload = form.file.data
            name = (upload.filename or "upload.csv").lower()
            ext = "xlsx" if name.endswith((".xlsx", ".xlsm")) else "csv"
            content = upload.read()
            token = hashlib.sha256(content).hexdigest() + "." + ext
            (_upload_dir() / token).write_bytes(content)
            try:
                report = import_files.preview(content, token, current_user)
            except DomainError as e:
                errors = e.errors or {"file": [e.message]}
        else:
            errors = form.errors

    columns = {k: v[0] for k, v in COLUMNS.items()} if lang() == "zh" else {k: k.replace("_", " ") for k in COLUMNS}
    return render_template("inst/import.html", form=form, report=report, token=token, errors=errors,
                           book_form=BookImportForm(), import_columns=columns), (422 if errors else 200)


@bp.post("/import/book")
@login_required
def import_book():
    form = BookImportForm()
    if not form.validate_on_submit():
        abort(400)
    content, name = _stored(form.token.data)
    result = import_files.book(content, name, current_user, partial=form.mode.data == "partial")
    return render_template("inst/import_result.html", result=result)


@bp.get("/import/template.<any(csv, xlsx):fmt>")
@login_required
def import_template(fmt):
    if fmt == "csv":
        body, mime = import_files.template_csv(), "text/csv; charset=utf-8"
    else:
        body, mime = import_files.template_xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = Response(body, mimetype=mime)
    resp.headers["Content-Disposition"] = f"attachment; filename=expense-import-template.{fmt}"
    return resp


# --------------------------------------------------------------------------- evaluations
@bp.get("/evaluations")
@login_required
def evaluations():
    from evaluations.submissions import submissions_for

    rows = db.session.scalars(list_due(current_user, None, None).limit(500)).all()
    return render_template("inst/evaluations.html", rows=rows, today=date.today(), form=SubmissionForm(),
                           submissions=submissions_for([ev.id for ev in rows], current_user))


@bp.post("/evaluations/<int:evaluation_id>/submission")
@login_required
def submit_evaluation(evaluation_id):
    from evaluations.submissions import submit_self_assessment

    form = SubmissionForm()
    if not form.validate_on_submit():
        flash(_("请填写自评内容"), "error")
    else:
        submit_self_assessment(evaluation_id, form.summary.data, current_user)
        flash(_("自评已提交"), "ok")
    return redirect(url_for("inst.evaluations"))
