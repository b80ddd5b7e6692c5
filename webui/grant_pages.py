"""Grants through their whole life in the bureau's browser: create a grant of any category and management
mode, set its budget (the tiered indirect cap shown as you type), lifecycle actions with their reason,
milestones and tranches (why a tranche is blocked), 赛马制 selections, 先立项后补助 terms / assessment /
payment, 拨改投 investment and its events. Every write goes through the same services as the API."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from budgets import subsidy
from budgets.models import Subject
from budgets.planning import indirect_preview
from budgets.service import list_lines, set_budget
from grants import access, disbursement, equity, lifecycle
from grants import registry as grants
from grants.errors import DomainError
from grants.extensions import db
from grants.money import parse_money
from grants.models import (Category, EquityInvestment, FundingMode, Grant, ManagementMode, Race,
                           SubsidyAssessment, SubsidyTerms)
from grants.schemas import (EquityEventSchema, EquityInvestmentSchema, GrantSchema, MilestoneSchema,
                            SubsidyTermsSchema, TrancheSchema)
from webui.common import label, lang

bp = Blueprint("bgrant", __name__, template_folder="templates", url_prefix="/bureau/grants")

ACTION_SOURCES = {name: [s.value for s in t.sources] for name, t in lifecycle.TRANSITIONS.items()}
ACTION_LABELS = {"approve": ("批准立项", "Approve"), "activate": ("启动执行", "Start"), "suspend": ("暂停", "Suspend"),
                 "resume": ("恢复", "Resume"), "request_acceptance": ("申请结题验收", "Request acceptance"),
                 "accept": ("验收通过", "Accept"), "fail": ("验收不通过/终止", "Fail / terminate"), "close": ("结项", "Close")}


EQUITY_KINDS = {"follow_on": ("跟投", "Follow-on"), "dilution": ("稀释", "Dilution"), "buy_back": ("回购", "Buy-back"),
                "exit": ("退出", "Exit")}


def _bureau():
    if not access.is_bureau(current_user):
        abort(403)


_BILINGUAL = re.compile(r"\s*/\s+(?=[A-Za-z])")
_CODES = re.compile(r"(?<![\w-])(draft|approved|active|closing|accepted|failed|closed|suspended|pending|rejected|paid|"
                    r"planned|post_subsidy|grant_to_equity|competitive|stable)(?![\w-])")


def bilingual(message: str) -> str:
    """A service message "中文 / English" in the reader's language, status codes as their labels."""
    parts = _BILINGUAL.split(message or "", maxsplit=1)
    text = parts[1] if lang() == "en" and len(parts) == 2 else parts[0]
    return _CODES.sub(lambda m: label(m.group(1)), text)


def _msg(e: DomainError) -> str:
    return bilingual(e.message)


def _form(*names) -> dict:
    """The posted fields, blanks left out (the schemas fill their defaults)."""
    money = ("amount", "cap", "valuation", "size", "proceeds")
    return {n: request.form[n].strip().replace(",", "") if n.endswith(money)
            else request.form[n].strip() for n in names if request.form.get(n, "").strip() != ""}


def _errors(e) -> dict:
    if isinstance(e, ValidationError):
        return {k: v if isinstance(v, list) else [str(v)] for k, v in e.messages.items()}
    return {k: v for k, v in (e.errors or {"_": [_msg(e)]}).items()}


def _back(grant_id, anchor=""):
    return redirect(url_for("bgrant.workbench", grant_id=grant_id) + (f"#{anchor}" if anchor else ""))


@bp.get("/")
@login_required
def index():
    if not access.may_read_reports(current_user):
        abort(403)
    rows = db.session.scalars(grants.list_grants(current_user, {}).limit(1000)).all()
    return render_template("bureau/grants.html", grants=rows)


GRANT_FIELDS = ("code", "title", "institution_id", "pi_id", "category", "funding_mode", "management_mode",
                "fiscal_amount", "self_raised_amount", "start_date", "end_date", "fund_source", "race_id")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    _bureau()
    errors, values = {}, {}
    if request.method == "POST":
        values = _form(*GRANT_FIELDS)
        if request.form.get("pure_theory"):
            values["pure_theory"] = "true"
        try:
            g = grants.create_grant(GrantSchema().load(values), current_user)
            flash(_("课题已创建") + f" {g.code}", "ok")
            return _back(g.id)
        except (ValidationError, DomainError) as e:
            errors = _errors(e)
    institutions = db.session.scalars(grants.list_institutions(current_user)).all()
    researchers = db.session.scalars(grants.list_researchers(current_user)).all()
    races = db.session.scalars(db.select(Race).order_by(Race.id)).all()
    inst_name = {i.id: i.name for i in institutions}
    return render_template(
        "bureau/grant_new.html", errors=errors, values=values,
        inst_opts=[(i.id, i.name) for i in institutions],
        pi_opts=[(r.id, f"{r.name}（{inst_name.get(r.institution_id, '')}）") for r in researchers],
        race_opts=[(r.id, r.title) for r in races],
        cat_opts=[(c.value, label(c.value, "category")) for c in Category],
        mode_opts=[(m.value, label(m.value, "funding_mode")) for m in FundingMode],
        mgmt_opts=[(m.value, label(m.value, "management_mode")) for m in ManagementMode]), (422 if errors else 200)


def _context(g) -> dict:
    lines = list_lines(g.id, current_user)
    tranches = disbursement.list_tranches(g.id, current_user)
    ctx = {"grant": g, "lines": lines, "milestones": disbursement.list_milestones(g.id, current_user),
           "tranches": tranches, "gates": {t.id: bilingual(disbursement.tranche_gate(g, t) or "") for t in tranches},
           "actions": [a for a, sources in ACTION_SOURCES.items() if g.status.value in sources],
           "action_labels": ACTION_LABELS, "subjects": _subjects(g), "transitions": _transitions(g.id)}
    if g.category == Category.POST_SUBSIDY:
        ctx["terms"] = db.session.scalars(db.select(SubsidyTerms).where(SubsidyTerms.grant_id == g.id)).first()
        ctx["assessment"] = db.session.scalars(db.select(SubsidyAssessment)
                                               .where(SubsidyAssessment.grant_id == g.id)).first()
    if g.category == Category.GRANT_TO_EQUITY:
        inv = db.session.scalars(db.select(EquityInvestment).where(EquityInvestment.grant_id == g.id)).first()
        ctx["investment"] = inv
        ctx["position"] = equity.equity_position(g.id, current_user) if inv else None
        ctx["equity_labels"] = {k: v[1 if lang() == "en" else 0] for k, v in EQUITY_KINDS.items()}
        ctx["equity_kinds"] = list(ctx["equity_labels"].items())
    if g.race_id:
        race = disbursement.get_race(g.race_id)
        ctx["race"] = disbursement.race_view(race, current_user)
        ctx["race_teams"] = {t.id: t for t in db.session.scalars(
            grants.list_grants(current_user, {}).where(Grant.race_id == g.race_id)).all()}
    return ctx


def _subjects(g) -> list[str]:
    if g.funding_mode == FundingMode.LUMP_SUM:
        return [Subject.LUMP_SUM.value]
    return [s.value for s in (Subject.EQUIPMENT, Subject.OPERATIONS, Subject.LABOUR, Subject.INDIRECT)]


def _transitions(grant_id):
    from grants.models import GrantTransition

    return db.session.scalars(db.select(GrantTransition).where(GrantTransition.grant_id == grant_id)
                              .order_by(GrantTransition.id)).all()


def _grant(grant_id):
    try:
        return grants.get_grant(grant_id, current_user)
    except DomainError:
        abort(404)


@bp.get("/<int:grant_id>")
@login_required
def workbench(grant_id):
    if not access.may_read_reports(current_user):
        abort(403)
    g = _grant(grant_id)
    return render_template("bureau/grant.html", errors={}, **_context(g))


def _render_errors(g, errors, section):
    return render_template("bureau/grant.html", errors=errors, section=section, **_context(g)), 422


@bp.post("/<int:grant_id>/transition/<action>")
@login_required
def transition(grant_id, action):
    _bureau()
    g = _grant(grant_id)
    if action not in ACTION_SOURCES:
        abort(404)
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _render_errors(g, {f"reason-{action}": [_("请说明理由")]}, "lifecycle")
    try:
        lifecycle.transition(g.id, action, current_user, reason)
        flash(_("已执行：%(action)s", action=ACTION_LABELS[action][1 if lang() == "en" else 0]), "ok")
    except DomainError as e:
        return _render_errors(g, {f"reason-{action}": [_msg(e)]}, "lifecycle")
    return _back(g.id, "lifecycle")


def _amounts(g) -> tuple[dict[str, Decimal], dict[str, list[str]]]:
    """The budget typed per subject, read by the one strict money rule (``grants.money``: thousands only as
    1,234,567.89, at most two decimals, never rounded); a ¥ sign and spaces are the only leniency."""
    out, errors = {}, {}
    for s in _subjects(g):
        raw = request.values.get(f"amount_{s}", "").replace("¥", "").strip()
        if raw:
            try:
                out[s] = parse_money(raw, thousands=True)
            except ValueError as e:
                errors[f"amount_{s}"] = [str(e)]
    return out, errors


@bp.post("/<int:grant_id>/budget/preview")
@login_required
def budget_preview(grant_id):
    """htmx: the indirect cap and the total of the budget being typed."""
    g = _grant(grant_id)
    amounts, _ignored = _amounts(g)   # the preview shows what parses; saving names what does not
    return render_template("bureau/_budget_preview.html", p=indirect_preview(g, amounts), grant=g)


@bp.post("/<int:grant_id>/budget")
@login_required
def budget(grant_id):
    _bureau()
    g = _grant(grant_id)
    amounts, errors = _amounts(g)
    if errors:
        return _render_errors(g, {"budget": [m for msgs in errors.values() for m in msgs]}, "budget")
    try:
        set_budget(g.id, [{"subject": Subject(s), "amount": a} for s, a in amounts.items() if a], current_user)
        flash(_("预算已保存"), "ok")
    except DomainError as e:
        return _render_errors(g, {"budget": [_msg(e)]}, "budget")
    return _back(g.id, "budget")


@bp.post("/<int:grant_id>/milestones")
@login_required
def milestone_new(grant_id):
    _bureau()
    g = _grant(grant_id)
    try:
        disbursement.create_milestone(g.id, MilestoneSchema().load(_form("title", "due_date")), current_user)
        flash(_("里程碑已添加"), "ok")
    except (ValidationError, DomainError) as e:
        return _render_errors(g, {f"milestone.{k}": v for k, v in _errors(e).items()}, "money")
    return _back(g.id, "money")


@bp.post("/<int:grant_id>/milestones/<int:milestone_id>/<any(accept, reject):decision>")
@login_required
def milestone_decide(grant_id, milestone_id, decision):
    _bureau()
    g = _grant(grant_id)
    try:
        disbursement.decide_milestone(g.id, milestone_id, decision == "accept", current_user,
                                      note=request.form.get("note", "").strip())
        flash(_("里程碑已评审"), "ok")
    except DomainError as e:
        flash(_msg(e), "error")
    return _back(g.id, "money")


@bp.post("/<int:grant_id>/tranches")
@login_required
def tranche_new(grant_id):
    _bureau()
    g = _grant(grant_id)
    try:
        disbursement.create_tranche(g.id, TrancheSchema().load(_form("planned_date", "amount", "milestone_id",
                                                                     "race_stage_id")), current_user)
        flash(_("拨款批次已添加"), "ok")
    except (ValidationError, DomainError) as e:
        return _render_errors(g, {f"tranche.{k}": v for k, v in _errors(e).items()}, "money")
    return _back(g.id, "money")


@bp.post("/<int:grant_id>/tranches/<int:tranche_id>/pay")
@login_required
def tranche_pay(grant_id, tranche_id):
    _bureau()
    g = _grant(grant_id)
    try:
        disbursement.pay_tranche(g.id, tranche_id, current_user)
        flash(_("已拨付"), "ok")
    except DomainError as e:
        flash(_("不能拨付：%(why)s", why=_msg(e)), "error")
    return _back(g.id, "money")


@bp.post("/<int:grant_id>/race/<int:stage_no>")
@login_required
def race_select(grant_id, stage_no):
    _bureau()
    g = _grant(grant_id)
    ids = [int(i) for i in request.form.getlist("grant_ids") if i.isdigit()]
    try:
        if not ids:
            raise ValidationError({"grant_ids": ["select at least one team"]})
        disbursement.select_teams(g.race_id, stage_no, ids, current_user)
        flash(_("已评选第 %(n)s 阶段", n=stage_no), "ok")
    except (ValidationError, DomainError) as e:
        flash("; ".join(f"{m}" for v in _errors(e).values() for m in v), "error")
    return _back(g.id, "race")


@bp.post("/<int:grant_id>/subsidy/terms")
@login_required
def subsidy_terms(grant_id):
    _bureau()
    g = _grant(grant_id)
    data = _form("ratio_cap", "absolute_cap", "programme")
    if "ratio_cap" in data and data["ratio_cap"].endswith("%"):
        data["ratio_cap"] = str(Decimal(data["ratio_cap"][:-1]) / 100)
    try:
        disbursement.set_subsidy_terms(g.id, SubsidyTermsSchema().load(data), current_user)
        flash(_("补助条件已保存"), "ok")
    except (ValidationError, DomainError, InvalidOperation) as e:
        errs = _errors(e) if not isinstance(e, InvalidOperation) else {"ratio_cap": [_("请输入比例")]}
        return _render_errors(g, {f"terms.{k}": v for k, v in errs.items()}, "subsidy")
    return _back(g.id, "subsidy")


@bp.post("/<int:grant_id>/subsidy/<any(assess, pay):step>")
@login_required
def subsidy_step(grant_id, step):
    _bureau()
    g = _grant(grant_id)
    try:
        if step == "assess":
            subsidy.assess_subsidy(g.id, current_user)
            flash(_("补助已核定"), "ok")
        else:
            subsidy.pay_subsidy(g.id, current_user)
            flash(_("补助已拨付"), "ok")
    except DomainError as e:
        flash(_msg(e), "error")
    return _back(g.id, "subsidy")


@bp.post("/<int:grant_id>/equity")
@login_required
def equity_new(grant_id):
    _bureau()
    g = _grant(grant_id)
    try:
        equity.create_investment(g.id, EquityInvestmentSchema().load(_form(
            "investee_name", "investee_credit_code", "holder", "amount", "pre_money_valuation", "invested_on",
            "lock_up_end")), current_user)
        flash(_("股权投资已登记"), "ok")
    except (ValidationError, DomainError) as e:
        return _render_errors(g, {f"inv.{k}": v for k, v in _errors(e).items()}, "equity")
    return _back(g.id, "equity")


@bp.post("/<int:grant_id>/equity/events")
@login_required
def equity_event(grant_id):
    _bureau()
    g = _grant(grant_id)
    data = _form("kind", "event_date", "amount", "round_size", "pre_money_valuation", "fraction_sold", "proceeds",
                 "note")
    if data.get("fraction_sold", "").endswith("%"):
        try:
            data["fraction_sold"] = str(Decimal(data["fraction_sold"][:-1]) / 100)
        except InvalidOperation:
            pass
    try:
        equity.add_equity_event(g.id, EquityEventSchema().load(data), current_user)
        flash(_("股权事件已登记"), "ok")
    except (ValidationError, DomainError) as e:
        return _render_errors(g, {f"ev.{k}": v for k, v in _errors(e).items()}, "equity")
    return _back(g.id, "equity")

