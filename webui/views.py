"""Thin page handlers: read the form, call the same services as the API, render."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from marshmallow import ValidationError

from budgets.models import Expense
from budgets.service import list_lines
from budgets.expenses import service as expense_service
from budgets.expenses.schemas import ExpenseInSchema
from evaluations.service import list_for_grant as list_evaluations
from grants import access, disbursement
from grants import registry as grants
from grants.accounts import authenticate, end_sessions
from grants.auth import start_session
from grants.errors import DomainError
from grants.extensions import db, limiter
from webui.forms import DecisionForm, ExpenseForm, LoginForm

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static")


@bp.app_context_processor
def _template_helpers():
    return {"access": access}


@bp.get("/lang/<code>")
def set_language(code):
    if code in ("zh", "en"):
        session["lang"] = code
    return redirect(_same_site_referrer() or url_for("web.home"))


def _same_site_referrer() -> str | None:
    """Back to the page the user came from, only if it is one of ours (never an open redirect)."""
    ref = urlsplit(request.referrer or "")
    if (ref.netloc != request.host or ref.scheme not in ("http", "https") or not ref.path.startswith("/")
            or ref.path.startswith(("//", "/\\"))):  # browsers read "//x" and "/\x" as another host
        return None
    return ref.path + ("?" + ref.query if ref.query else "")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _failed_login(response) -> bool:
    return response.status_code != 302  # a successful login redirects; only failures use up the limit


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_login)  # per client address
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_login,
               key_func=lambda: "user:" + (request.form.get("username") or "")[:80])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(url_for("web.home"))
        flash(_("用户名或密码错误"), "error")
    return render_template("login.html", form=form), 200 if request.method == "GET" or form.errors == {} else 400


@bp.errorhandler(429)
def too_many_logins(e):
    """The login limit answers with the login page (429), not the API's JSON."""
    flash(_("登录失败次数过多，请稍后再试"), "error")
    return render_template("login.html", form=LoginForm()), 429


@bp.post("/logout")
@login_required
def logout():
    """Signs this user out of every browser: the session cookie is a signed value a copy of which could
    outlive this one logout, so the user's session version moves on."""
    end_sessions(current_user.id)
    logout_user()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def home():
    if current_user.role.value == "finance_bureau":  # the bureau's home page is its dashboard
        from webui.dashboard import dashboard

        return dashboard()
    stmt = grants.list_grants(current_user, {})
    rows = db.session.scalars(stmt.limit(200)).all()
    execution = {}
    for g in rows:  # execution rate: spent of the budget (the fiscal amount when no subjects are set)
        lines = list_lines(g.id, current_user)
        budget = sum((ln.amount + ln.adjusted for ln in lines), 0) or g.fiscal_amount
        execution[g.id] = (sum((ln.spent for ln in lines), 0) / budget) if budget else 0
    return render_template("home.html", grants=rows, execution=execution)


def _expense_data(form: ExpenseForm, grant_id: int) -> dict:
    return ExpenseInSchema().load(form.data_for(grant_id))


@bp.route("/grants/<int:grant_id>", methods=["GET", "POST"])
@login_required
def grant(grant_id):
    try:
        g = grants.get_grant(grant_id, current_user)
    except DomainError:
        abort(404)
    researchers = db.session.scalars(grants.list_researchers(current_user, g.institution_id)).all()
    form = ExpenseForm(researchers=researchers)
    verdict, errors = None, {}
    if request.method == "POST":
        if not form.check_only.data and not access.may_submit_expense(current_user):
            abort(403)
        if form.validate_on_submit():
            try:
                data = _expense_data(form, g.id)
                if form.check_only.data:
                    judgement, _version = expense_service.check_expense(data, current_user)
                    verdict = {"verdict": judgement.verdict, "findings": [f.to_dict() for f in judgement.findings],
                               "recorded": False}
                else:
                    expense, _created = expense_service.submit_expense(data, current_user)
                    verdict = {"verdict": expense.verdict.value, "findings": expense.findings, "recorded": True,
                               "status": expense.status.value, "id": expense.id}
            except ValidationError as e:
                errors = e.messages
            except DomainError as e:
                errors = e.errors or {"_": [e.message]}
        else:
            errors = form.errors
    lines = list_lines(g.id, current_user)
    expenses = db.session.scalars(expense_service.list_expenses(current_user, {"grant_id": g.id})
                                  .order_by(None).order_by(Expense.id.desc()).limit(50)).all()
    evaluations = list_evaluations(g.id, current_user)
    status = 200 if not errors else 422
    return render_template("grant.html", grant=g, lines=lines, expenses=expenses, form=form, verdict=verdict,
                           errors=errors, evaluations=evaluations, tranches=disbursement.list_tranches(g.id, current_user),
                           milestones=disbursement.list_milestones(g.id, current_user)), status


REPORTS = {
    "compliance-overview": ("合规概览", "compliance_overview"),
    "budget-execution": ("预算执行", "budget_execution"),
    "seed-figures": ("政策指标", "seed_figures"),
}


def _report(name: str) -> dict:
    from reports import service as reports

    if name not in REPORTS:
        abort(404)
    try:
        return getattr(reports, REPORTS[name][1])(current_user, {})
    except DomainError as e:
        abort(e.status)


@bp.get("/reports/<name>")
@login_required
def report(name):
    """The bureau's reports at a glance: every list in the report is a table (same figures as the API)."""
    data = _report(name)
    tables = {k: v for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    nested = {k: v for k, v in data.items() if isinstance(v, dict)}
    scalars = {k: v for k, v in data.items() if k not in tables and k not in nested and not isinstance(v, list)}
    return render_template("report.html", name=name, title=REPORTS[name][0], reports=REPORTS, scalars=scalars,
                           tables=tables, nested=nested)


@bp.get("/reports/<name>.xlsx")
@login_required
def report_xlsx(name):
    from flask import Response

    from reports.exports import MIMETYPES
    from reports.workbook import report_workbook

    resp = Response(report_workbook(_report(name), name), mimetype=MIMETYPES["xlsx"])
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return resp


@bp.get("/queue")
@login_required
def queue():
    if not access.may_read_reports(current_user):
        abort(403)
    rows = db.session.scalars(expense_service.approval_queue(current_user).limit(200)).all()
    return render_template("queue.html", expenses=rows, form=DecisionForm())


@bp.post("/queue/<int:expense_id>/<any(approve, reject):decision>")
@login_required
def decide(expense_id, decision):
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("请填写审批意见"), "error")
        return redirect(url_for("web.queue"))
    try:
        expense_service.decide_expense(expense_id, decision == "approve", form.reason.data, current_user)
        flash(_("已审批") + f" #{expense_id}", "ok")
    except DomainError as e:
        if e.status == 403:
            abort(403)
        flash(e.message, "error")
    return redirect(url_for("web.queue"))
