"""The bureau's dashboard: charts (ECharts, vendored) drawn from JSON embedded in the page, each with its table
and an XLSX download; the seed policies' figures as panels, with forms for their inputs (SOE R&D spend,
S&T budget years)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from grants import access
from grants import registry as grants
from grants.errors import DomainError
from grants.extensions import db
from grants.models import InstitutionKind
from reports import dashboard as dash
from reports import service as reports
from webui.common import label, lang, pct, yesno, yuan

VERDICTS = ("allow", "warn", "needs_approval", "reject")

bp = Blueprint("dash", __name__, template_folder="templates")

TITLES = {
    "verdicts_by_month": (_l("各月审核结论"), _l("每月登记的支出笔数，按审核结论分色。")),
    "violations_by_rule": (_l("按规则的违规"), _l("触发各规则的支出笔数（提示、需审批、不合规）。")),
    "violations_by_institution": (_l("按单位的违规"), _l("各单位支出的审核结论。")),
    "violations_by_category": (_l("按类别的审核结论"), _l("四类资金的支出笔数，按审核结论。")),
    "top_findings": (_l("问题最多的单位"), _l("不合规支出最多的单位，及其金额与占比。")),
    "execution_by_category": (_l("按类别的预算执行"), _l("执行中课题的已支出、待审批占用与可用余额，对照时间进度。")),
    "execution_by_institution": (_l("按单位的预算执行"), _l("各单位执行中课题的已支出、占用与余额，对照时间进度。")),
    "grants_at_risk": (_l("执行异常的课题"), _l("执行率明显落后或超前于时间进度的课题。")),
    "overdue_evaluations": (_l("逾期未评价"), _l("已过截止日期仍未完成的绩效评价。")),
    "money_by_category": (_l("按类别的资金"), _l("拨款批次（已拨付、计划）、后补助（核定、已拨付）、股权投资（成本、回收）。")),
    "youth_share": (_l("青年科研人员经费占比"), _l("基本科研业务费中用于40岁以下科研人员的比例，目标不低于40%。")),
    "st_budget_growth": (_l("科技专项资金预算增长"), _l("市本级科技专项资金预算逐年增长，目标不低于20%。")),
    "soe_rd_add_back": (_l("国有企业研发投入视同利润"), _l("研发投入视同利润加回考核，增量部分按150%计。")),
    "instruments": (_l("未登记共享的大型仪器"), _l("单价30万元以上、财政资金购置但未登记共享平台的仪器设备。")),
    "horizontal_projects": (_l("横向项目认定"), _l("非财政资金40万元以上的横向项目，验收后可认定为市级科技计划项目。")),
}
SECTIONS = [
    (_l("合规审核"), ["verdicts_by_month", "violations_by_rule", "violations_by_institution", "violations_by_category",
                  "top_findings"]),
    (_l("预算执行"), ["execution_by_category", "execution_by_institution", "grants_at_risk", "overdue_evaluations"]),
    (_l("资金"), ["money_by_category"]),
]
HEADINGS = {
    "month": _l("月份"), "expenses": _l("支出笔数"), "amount": _l("金额"), "rule_id": _l("规则名称"), "name": _l("承担单位"),
    "rejected_amount": _l("不合规金额"), "category": _l("类别"), "rejected": _l("不合规笔数"), "flagged": _l("需关注笔数"),
    "rejected_share": _l("不合规占比"), "grants": _l("课题数"), "budget": _l("预算"), "spent": _l("已支出"),
    "reserved": _l("待审批占用"), "available": _l("可用余额"), "execution_rate": _l("执行率"),
    "time_elapsed": _l("时间进度"), "institution": _l("承担单位"), "code": _l("课题编号"), "flags": _l("风险"),
    "evaluation_kind": _l("评价类型"), "due_date": _l("评价截止日"), "days_overdue": _l("逾期天数"),
    "tranches_paid": _l("已拨付批次"), "tranches_planned": _l("计划批次"), "subsidy_assessed": _l("后补助核定"),
    "subsidy_paid": _l("后补助已拨付"), "equity_cost": _l("股权投资成本"), "equity_proceeds": _l("股权回收"),
    "basic_research_amount": _l("基本科研业务费"), "youth_amount": _l("40岁以下人员"), "youth_share": _l("青年占比"),
    "meets_goal": _l("达到目标"), "year": _l("年度"), "previous_year": _l("上年"), "growth": _l("增长率"),
    "meets_target": _l("达到目标"), "label": _l("企业与年度"), "rd_spend": _l("研发投入"), "increment": _l("增量"),
    "add_back": _l("视同利润加回"), "grant_code": _l("课题编号"), "expense_date": _l("日期"), "description": _l("说明"),
    "unit_value": _l("单价"), "quantity": _l("数量"), "platform_registered": _l("已登记共享"), "status": _l("状态"),
    "title": _l("名称"), "non_fiscal_amount": _l("非财政资金"), "eligible": _l("可认定"),
    "under_spending": _l("执行偏慢"), "over_spending": _l("执行过快"),
}


def _heading(key: str) -> str:
    if key in VERDICTS:
        return label(key, "verdict")
    return str(HEADINGS.get(key, key))


def _text(v, kind: str, rules: dict | None = None) -> str:
    """A cell as the page shows it: money ¥1,234.50, ratios as percentages, labels never codes."""
    if kind == "rule":
        title = (rules or {}).get(v)
        return (title[1] if lang() == "en" else title[0]) if title else str(v)
    if kind == "money":
        return yuan(v)
    if kind == "ratio":
        return pct(v)
    if kind == "bool":
        return yesno(v)
    if kind == "flags":
        return "、".join(str(HEADINGS.get(f, f)) for f in (v or [])) or "—"
    if kind.startswith("label:"):
        return label(v, kind.split(":", 1)[1])
    return "—" if v is None or v == "" else str(v)


def _number(v, kind: str):
    if v is None:
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return None
    return float(d * 100) if kind == "ratio" else float(d)  # float only for drawing; tables show the Decimal


def _view(chart: dict, rules: dict) -> dict:
    """What the template and the script need: headings, cells as text, and the series as numbers."""
    kinds = dict((k, kind) for k, kind in chart["columns"])
    x_kind = kinds.get(chart["x"], "text")
    title, text = TITLES[chart["key"]]
    return {
        "key": chart["key"], "title": str(title), "text": str(text), "kind": chart["kind"],
        "headings": [(_heading(k), kind) for k, kind in chart["columns"]],
        "cells": [[(_text(r.get(k), kind, rules), kind) for k, kind in chart["columns"]] for r in chart["rows"]],
        "plot": {"kind": chart["kind"], "ratio": any(kinds.get(s) == "ratio" for s in chart["series"]),
                 "money": any(kinds.get(s) == "money" for s in chart["series"]),
                 "x": [_text(r.get(chart["x"]), x_kind, rules) for r in chart["rows"]],
                 "series": [{"key": s, "name": _heading(s),
                             "data": [_number(r.get(s), kinds.get(s, "int")) for r in chart["rows"]]}
                            for s in chart["series"]]},
    }


def _data() -> dict:
    try:
        return dash.dashboard_for(current_user)
    except DomainError as e:
        abort(e.status)


@bp.get("/dashboard")
@login_required
def dashboard():
    data = _data()
    charts = {k: _view(c, data["rule_titles"]) for k, c in data["charts"].items()}
    soe = [i for i in db.session.scalars(grants.list_institutions(current_user)).all()
           if i.kind == InstitutionKind.STATE_OWNED]
    return render_template("bureau/dashboard.html", data=data, charts=charts, sections=SECTIONS,
                           plots={k: c["plot"] for k, c in charts.items() if c["kind"] != "table"},
                           soe=soe, may_record=current_user.role in access.BUREAU_ROLES, this_year=date.today().year)


@bp.get("/dashboard/<key>.xlsx")
@login_required
def chart_xlsx(key):
    data = _data()
    chart = data["charts"].get(key)
    if chart is None:
        abort(404)
    headings = {k: _heading(k) for k, _kind in chart["columns"]}
    headings.update({k: _heading(k) for k in ("under_spending", "over_spending")})
    for k, kind in chart["columns"]:
        if kind.startswith("label:") or kind in ("bool", "rule"):
            for r in chart["rows"]:
                headings[f"{kind}:{r.get(k)}"] = _text(r.get(k), kind, data["rule_titles"])
    from reports.exports import MIMETYPES

    resp = Response(dash.chart_workbook(chart, str(TITLES[key][0]), headings), mimetype=MIMETYPES["xlsx"])
    resp.headers["Content-Disposition"] = f'attachment; filename="{key}.xlsx"'
    return resp


def _decimal(text: str | None) -> Decimal | None:
    try:
        d = Decimal((text or "").replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        return None
    return d.quantize(Decimal("0.01")) if d.is_finite() and d >= 0 else None


def _year(text: str | None) -> int | None:
    try:
        y = int(text or "")
    except ValueError:
        return None
    return y if 2000 <= y <= 2100 else None


@bp.post("/dashboard/rd-spend")
@login_required
def record_rd_spend():
    year, amount = _year(request.form.get("year")), _decimal(request.form.get("rd_spend"))
    try:
        inst = int(request.form.get("institution_id", ""))
    except ValueError:
        inst = None
    if year is None or amount is None or inst is None:
        flash(_("请填写有效的企业、年度和金额"), "error")
        return redirect(url_for("dash.dashboard") + "#seed")
    try:
        reports.record_rd_spend({"institution_id": inst, "year": year, "rd_spend": amount,
                                 "note": request.form.get("note", "")[:500]}, current_user)
        flash(_("已登记研发投入"), "ok")
    except DomainError as e:
        if e.status == 403:
            abort(403)
        flash(e.message, "error")
    return redirect(url_for("dash.dashboard") + "#seed")


@bp.post("/dashboard/st-budget")
@login_required
def record_st_budget():
    year, amount = _year(request.form.get("year")), _decimal(request.form.get("amount"))
    if year is None or amount is None:
        flash(_("请填写有效的年度和金额"), "error")
        return redirect(url_for("dash.dashboard") + "#seed")
    try:
        reports.record_st_budget(year, {"amount": amount, "note": request.form.get("note", "")[:500]}, current_user)
        flash(_("已登记年度预算"), "ok")
    except DomainError as e:
        if e.status == 403:
            abort(403)
        flash(e.message, "error")
    return redirect(url_for("dash.dashboard") + "#seed")
