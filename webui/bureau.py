"""The finance bureau's workbench: the approval queue that scales (filters, sorting, pages, findings inline,
one reason for many decisions, keyboard shortcuts), the 预算调剂 queue by approver level, and the dashboard
(webui.dashboard) and grant pages (webui.grant_pages) registered with it."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from budgets import queue as q
from evaluations import service as evaluations
from evaluations.models import EvaluationStatus
from grants import access
from grants import registry as grants
from grants.errors import DomainError
from grants.extensions import db
from webui.common import Page, page_number

bp = Blueprint("bureau", __name__, template_folder="templates", url_prefix="/bureau")
PAGE_SIZES = (25, 50, 100, 200)


def register(app) -> None:
    from webui.dashboard import bp as dash_bp

    app.register_blueprint(dash_bp)
    app.register_blueprint(bp)
    try:
        from webui.grant_pages import bp as grant_bp
    except ImportError:  # pragma: no cover - the grant pages land after the queue
        return
    app.register_blueprint(grant_bp)


def _int(name):
    try:
        return int(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


def _money(name):
    try:
        v = Decimal(request.args.get(name, "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return v if v.is_finite() else None


def _filters() -> dict:
    verdict = request.args.get("verdict")
    return {"institution_id": _int("institution_id"), "grant_id": _int("grant_id"),
            "rule_id": request.args.get("rule_id") or None,
            "verdict": verdict if verdict in ("warn", "needs_approval", "reject", "allow") else None,
            "amount_min": _money("amount_min"), "amount_max": _money("amount_max"),
            "min_age_days": _int("min_age_days"), "max_age_days": _int("max_age_days"),
            "sort": request.args.get("sort") if request.args.get("sort") in q.SORTS else "age",
            "desc": request.args.get("desc") == "1"}


@bp.get("/queue")
@login_required
def queue():
    if not access.may_read_reports(current_user):
        abort(403)
    filters = _filters()
    size = _int("size") if _int("size") in PAGE_SIZES else 50
    number = page_number()
    rows, total, amount = q.queue_page(current_user, filters, number, size)
    institutions = db.session.scalars(grants.list_institutions(current_user)).all()
    grant_rows = db.session.scalars(grants.list_grants(current_user, {}).limit(1000)).all()
    from reports.dashboard import rule_titles
    from grants.db import today

    titles = rule_titles(db.session, today())
    pending_adj = {a.grant_id for a in db.session.scalars(q.adjustment_queue(current_user))}
    return render_template("bureau/queue.html", page=Page(rows, number, size, total), amount=amount, filters=filters,
                           institutions=institutions, grants=grant_rows, rules=q.queue_rules(current_user),
                           titles=titles, size=size, sizes=PAGE_SIZES, needs_adjustment=q.needs_adjustment,
                           pending_adj=pending_adj, age_days=_age_days, may_decide=q.may_decide(current_user),
                           adj_counts=q.adjustment_counts(current_user))


@bp.post("/queue/decide")
@login_required
def decide():
    if not q.may_decide(current_user):
        abort(403)
    decision = request.form.get("decision")
    ids = [request.args["only"]] if request.args.get("only") else request.form.getlist("ids")
    back = request.form.get("next") or url_for("bureau.queue")
    if not back.startswith("/"):
        back = url_for("bureau.queue")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        result = q.decide_many([int(i) for i in ids if i.isdigit()], decision == "approve",
                               request.form.get("reason", ""), current_user)
    except DomainError as e:
        if e.status == 403:
            abort(403)
        flash(e.message.split(" / ")[0] if _lang_zh() else e.message.split(" / ")[-1], "error")
        return redirect(back)
    if result.decided:
        flash((_("已批准 %(n)s 笔", n=len(result.decided)) if decision == "approve"
               else _("已驳回 %(n)s 笔", n=len(result.decided))), "ok")
    for i, msg in result.failed.items():
        flash(_("支出 #%(id)s 未处理：%(msg)s", id=i, msg=msg), "error")
    return redirect(back)


def _age_days(e) -> int:
    from grants.db import TZ, now

    at = e.submitted_at if e.submitted_at.tzinfo else e.submitted_at.replace(tzinfo=TZ)
    return max(0, (now() - at).days)


def _lang_zh() -> bool:
    from webui.common import lang

    return lang() == "zh"


@bp.get("/adjustments")
@login_required
def adjustments():
    if not access.may_read_reports(current_user):
        abort(403)
    level = request.args.get("level") if request.args.get("level") in ("institution", "funder") else None
    rows = db.session.scalars(q.adjustment_queue(current_user, level).limit(500)).all()
    from grants.models import Grant

    grant_of = {g.id: g for g in db.session.scalars(db.select(Grant).where(Grant.id.in_({a.grant_id for a in rows})))}
    return render_template("bureau/adjustments.html", rows=rows, grant_of=grant_of, level=level,
                           counts=q.adjustment_counts(current_user),
                           may_decide=q.may_decide(current_user))


@bp.post("/adjustments/<int:grant_id>/<int:adjustment_id>/<any(approve, reject):decision>")
@login_required
def decide_adjustment(grant_id, adjustment_id, decision):
    from budgets.service import decide_adjustment as decide_adj

    if not q.may_decide(current_user):
        abort(403)
    try:
        decide_adj(grant_id, adjustment_id, decision == "approve", request.form.get("reason", "").strip(), current_user)
        flash(_("已批准调剂 #%(id)s", id=adjustment_id) if decision == "approve"
              else _("已驳回调剂 #%(id)s", id=adjustment_id), "ok")
    except DomainError as e:
        if e.status == 403:
            abort(403)
        flash(e.message, "error")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/")
                    else url_for("bureau.adjustments"))


# --------------------------------------------------------------------------- 绩效评价: the bureau's results
OPEN = (EvaluationStatus.SUBMITTED, EvaluationStatus.OVERDUE, EvaluationStatus.DUE)


@bp.get("/evaluations")
@login_required
def evaluations_queue():
    """Submitted reports first, then overdue and due ones: record a result (its consequences follow)."""
    if not access.may_read_reports(current_user):
        abort(403)
    status = request.args.get("status")
    chosen = EvaluationStatus(status) if status in {s.value for s in OPEN} else None
    rows = db.session.scalars(evaluations.list_due(current_user, None, chosen).limit(500)).all()
    if chosen is None:
        rows = [e for e in rows if e.status in OPEN]
        rows.sort(key=lambda e: (OPEN.index(e.status), e.due_date, e.id))
    return render_template("bureau/evaluations.html", rows=rows, status=status, open_statuses=OPEN,
                           may_decide=access.is_bureau(current_user))


@bp.post("/evaluations/<int:evaluation_id>/<any(passed, failed):result>")
@login_required
def record_evaluation(evaluation_id, result):
    if not access.is_bureau(current_user):
        abort(403)
    try:
        evaluations.record_result(evaluation_id, EvaluationStatus(result), request.form.get("note", "").strip(),
                                  current_user)
        flash(_("已记录评价结果 #%(id)s", id=evaluation_id), "ok")
    except DomainError as e:
        if e.status == 403:
            abort(403)
        flash(e.message, "error")
    return redirect(url_for("bureau.evaluations_queue"))
