"""The bureau's dashboard: chart-ready figures, each a table (columns + rows) that a page draws as a chart
and a workbook downloads as a sheet. Figures come from reports.queries where they exist; the few new ones
(execution by category / institution, money by funding category, overdue evaluations) are SQL aggregates
in the same style (money summed as integer fen, leaving as two-decimal strings).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select

from budgets.models import BudgetLine
from evaluations.models import Evaluation, EvaluationStatus
from grants.db import today
from grants.models import (EquityEvent, EquityInvestment, Grant, GrantStatus, Institution, SubsidyAssessment,
                           Tranche, TrancheStatus)
from reports import queries
from reports.queries import ACTIVE, RATIO, dialect_of, money_cents, ratio, yuan


@dataclass
class Chart:
    """One dashboard panel: ``columns`` are (key, kind) with kind in text/label:<domain>/int/money/ratio;
    ``series`` the columns drawn (as bars or lines), ``x`` the category column."""

    key: str
    kind: str                      # bar | stacked | line | hbar
    x: str
    series: list[str]
    columns: list[tuple[str, str]]
    rows: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"key": self.key, "kind": self.kind, "x": self.x, "series": self.series,
                "columns": [list(c) for c in self.columns], "rows": self.rows}


def _c(cents) -> Decimal:
    return Decimal(cents or 0) / 100


def execution_by(session, by: str, as_of: date | None = None) -> list[dict]:
    """Budget, spent, reserved and available of the active grants by funding category or institution, with the
    budget-weighted share of the grants' periods elapsed (what execution should roughly be by now)."""
    as_of, d = as_of or today(), dialect_of(session)
    key = Grant.category if by == "category" else Institution.name
    per_grant = session.execute(
        select(key.label("key"), Grant.id, Grant.start_date, Grant.end_date,
               money_cents(BudgetLine.amount + BudgetLine.adjusted, d).label("budget"),
               money_cents(BudgetLine.spent, d).label("spent"), money_cents(BudgetLine.reserved, d).label("reserved"))
        .join(BudgetLine, BudgetLine.grant_id == Grant.id).join(Institution, Institution.id == Grant.institution_id)
        .where(Grant.status.in_(ACTIVE))
        .group_by(key, Grant.id, Grant.start_date, Grant.end_date)).all()
    groups: dict[str, dict] = {}
    for r in per_grant:
        k = getattr(r.key, "value", r.key)
        g = groups.setdefault(k, {"budget": Decimal(0), "spent": Decimal(0), "reserved": Decimal(0),
                                  "weighted": Decimal(0), "grants": 0})
        budget = _c(r.budget)
        g["budget"] += budget
        g["spent"] += _c(r.spent)
        g["reserved"] += _c(r.reserved)
        g["weighted"] += budget * queries._elapsed(r.start_date, r.end_date, as_of)
        g["grants"] += 1
    out = []
    for k in sorted(groups):
        g = groups[k]
        out.append({by if by == "category" else "institution": k, "grants": g["grants"],
                    "budget": queries.money(g["budget"]), "spent": queries.money(g["spent"]),
                    "reserved": queries.money(g["reserved"]),
                    "available": queries.money(g["budget"] - g["spent"] - g["reserved"]),
                    "execution_rate": ratio(g["spent"], g["budget"]),
                    "time_elapsed": f"{(g['weighted'] / g['budget']).quantize(RATIO)}" if g["budget"] else None})
    return out


def money_by_category(session) -> list[dict]:
    """Per funding category: tranches paid and planned, subsidies assessed and paid, equity at cost and returns."""
    d = dialect_of(session)
    out: dict[str, dict] = {}

    def row(cat):
        return out.setdefault(cat.value, {"category": cat.value, "tranches_paid": 0, "tranches_planned": 0,
                                          "subsidy_assessed": 0, "subsidy_paid": 0, "equity_cost": 0,
                                          "equity_proceeds": 0})

    for r in session.execute(
            select(Grant.category,
                   money_cents(case((Tranche.status == TrancheStatus.PAID, Tranche.amount), else_=0), d).label("paid"),
                   money_cents(case((Tranche.status == TrancheStatus.PLANNED, Tranche.amount), else_=0), d)
                   .label("planned"))
            .join(Tranche, Tranche.grant_id == Grant.id).group_by(Grant.category)):
        row(r.category).update(tranches_paid=r.paid or 0, tranches_planned=r.planned or 0)
    for r in session.execute(
            select(Grant.category, money_cents(SubsidyAssessment.payable, d).label("assessed"),
                   money_cents(case((SubsidyAssessment.paid_on.is_not(None), SubsidyAssessment.payable), else_=0), d)
                   .label("paid"))
            .join(SubsidyAssessment, SubsidyAssessment.grant_id == Grant.id).group_by(Grant.category)):
        row(r.category).update(subsidy_assessed=r.assessed or 0, subsidy_paid=r.paid or 0)
    follow_on = (select(EquityEvent.investment_id, money_cents(EquityEvent.amount, d).label("amount"),
                        money_cents(EquityEvent.proceeds, d).label("proceeds"))
                 .group_by(EquityEvent.investment_id).subquery())
    for r in session.execute(
            select(Grant.category, money_cents(EquityInvestment.amount, d).label("cost"),
                   func.sum(func.coalesce(follow_on.c.amount, 0)).label("follow_on"),
                   func.sum(func.coalesce(follow_on.c.proceeds, 0)).label("proceeds"))
            .join(EquityInvestment, EquityInvestment.grant_id == Grant.id)
            .outerjoin(follow_on, follow_on.c.investment_id == EquityInvestment.id).group_by(Grant.category)):
        row(r.category).update(equity_cost=(r.cost or 0) + (r.follow_on or 0), equity_proceeds=r.proceeds or 0)
    return [{k: (yuan(v) if k != "category" else v) for k, v in out[c].items()} for c in sorted(out)]


def overdue_evaluations(session, as_of: date | None = None) -> list[dict]:
    """Evaluations overdue (or still due after their date, before the daily job marks them), oldest first."""
    as_of = as_of or today()
    rows = session.execute(
        select(Evaluation.id, Evaluation.kind, Evaluation.due_date, Grant.id.label("grant_id"), Grant.code,
               Institution.name.label("institution"))
        .join(Grant, Grant.id == Evaluation.grant_id).join(Institution, Institution.id == Grant.institution_id)
        .where(or_(Evaluation.status == EvaluationStatus.OVERDUE,
                   and_(Evaluation.status == EvaluationStatus.DUE, Evaluation.due_date < as_of)))
        .order_by(Evaluation.due_date, Evaluation.id)).all()
    return [{"grant_id": r.grant_id, "code": r.code, "institution": r.institution, "evaluation_kind": r.kind.value,
             "due_date": r.due_date.isoformat(), "days_overdue": (as_of - r.due_date).days} for r in rows]


VERDICT_SERIES = list(queries.VERDICTS)


def rule_titles(session, on: date) -> dict[str, list[str]]:
    """Rule id → [title zh, title en] from the policy versions on file (the newest title wins)."""
    from compliance import policy as policy_store
    from compliance.models import PolicyVersion

    titles: dict[str, list[str]] = {}
    for version in session.scalars(select(PolicyVersion).order_by(PolicyVersion.id)):
        try:
            policy = policy_store.policy_for(version)
        except Exception:  # a version that no longer parses names no titles; the id is shown instead
            continue
        for r in policy.rules:
            titles[r.id] = [r.title_zh, r.title_en]
    return titles


def dashboard(session, as_of: date | None = None) -> dict:
    """Every panel of the dashboard: charts (tables to draw) and the seed-policy figures."""
    as_of = as_of or today()
    p = queries.report_parameters(session, as_of)
    co = queries.compliance_overview(session)
    be = queries.budget_execution(session, as_of, p)
    seed = queries.seed_figures(session, p)
    vcols = [(v, "int") for v in VERDICT_SERIES]
    exec_cols = [("grants", "int"), ("budget", "money"), ("spent", "money"), ("reserved", "money"),
                 ("available", "money"), ("execution_rate", "ratio"), ("time_elapsed", "ratio")]
    risk_rows = [{"code": g["code"], "institution": g["institution"], "flags": g["at_risk"],
                  "execution_rate": g["execution_rate"], "time_elapsed": g["time_elapsed"], "grant_id": g["grant_id"]}
                 for g in be["grants"] if g["at_risk"]]
    charts = [
        Chart("verdicts_by_month", "stacked", "month", VERDICT_SERIES,
              [("month", "text"), ("expenses", "int"), ("amount", "money"), *vcols],
              [{k: r[k] for k in ("month", "expenses", "amount", *VERDICT_SERIES)} for r in co["by_month"]]),
        Chart("violations_by_rule", "hbar", "rule_id", ["warn", "needs_approval", "reject"],
              [("rule_id", "rule"), ("expenses", "int"), ("amount", "money"), *vcols],
              [{k: r[k] for k in ("rule_id", "expenses", "amount", *VERDICT_SERIES)} for r in co["by_rule"]]),
        Chart("violations_by_institution", "hbar", "name", ["warn", "needs_approval", "reject"],
              [("name", "text"), ("expenses", "int"), ("amount", "money"), ("rejected_amount", "money"), *vcols],
              [{k: r[k] for k in ("name", "expenses", "amount", "rejected_amount", *VERDICT_SERIES)}
               for r in co["by_institution"]]),
        Chart("violations_by_category", "stacked", "category", VERDICT_SERIES,
              [("category", "label:category"), ("expenses", "int"), ("amount", "money"), *vcols],
              [{k: r[k] for k in ("category", "expenses", "amount", *VERDICT_SERIES)} for r in co["by_category"]]),
        Chart("top_findings", "hbar", "name", ["rejected"],
              [("name", "text"), ("rejected", "int"), ("rejected_amount", "money"), ("flagged", "int"),
               ("expenses", "int"), ("rejected_share", "ratio")],
              [{k: r[k] for k in ("name", "rejected", "rejected_amount", "flagged", "expenses", "rejected_share")}
               for r in co["top_violating_institutions"]]),
        Chart("execution_by_category", "stacked", "category", ["spent", "reserved", "available"],
              [("category", "label:category"), *exec_cols], execution_by(session, "category", as_of)),
        Chart("execution_by_institution", "stacked", "institution", ["spent", "reserved", "available"],
              [("institution", "text"), *exec_cols], execution_by(session, "institution", as_of)),
        Chart("grants_at_risk", "bar", "code", ["execution_rate", "time_elapsed"],
              [("code", "text"), ("institution", "text"), ("flags", "flags"), ("execution_rate", "ratio"),
               ("time_elapsed", "ratio")], risk_rows),
        Chart("overdue_evaluations", "table", "code", [],
              [("code", "text"), ("institution", "text"), ("evaluation_kind", "label:evaluation_kind"),
               ("due_date", "date"), ("days_overdue", "int")], overdue_evaluations(session, as_of)),
        Chart("money_by_category", "bar", "category",
              ["tranches_paid", "tranches_planned", "subsidy_assessed", "subsidy_paid", "equity_cost",
               "equity_proceeds"],
              [("category", "label:category"), ("tranches_paid", "money"), ("tranches_planned", "money"),
               ("subsidy_assessed", "money"), ("subsidy_paid", "money"), ("equity_cost", "money"),
               ("equity_proceeds", "money")], money_by_category(session)),
        Chart("youth_share", "bar", "name", ["youth_share"],
              [("name", "text"), ("basic_research_amount", "money"), ("youth_amount", "money"),
               ("youth_share", "ratio"), ("meets_goal", "bool")],
              [{k: r[k] for k in ("name", "basic_research_amount", "youth_amount", "youth_share", "meets_goal")}
               for r in seed["youth_share"]["institutions"]]),
        Chart("st_budget_growth", "line", "year", ["amount"],
              [("year", "text"), ("amount", "money"), ("previous_year", "money"), ("growth", "ratio"),
               ("meets_target", "bool")],
              [{**r, "year": str(r["year"])} for r in seed["st_budget_growth"]["years"]]),
        Chart("soe_rd_add_back", "bar", "label", ["rd_spend", "add_back"],
              [("label", "text"), ("rd_spend", "money"), ("previous_year", "money"), ("increment", "money"),
               ("add_back", "money")],
              [{"label": f"{r['name']} {r['year']}", **{k: r[k] for k in ("rd_spend", "previous_year", "increment",
                                                                        "add_back")}}
               for r in seed["soe_rd_add_back"]["rows"]]),
        Chart("instruments", "table", "grant_code", [],
              [("grant_code", "text"), ("institution", "text"), ("expense_date", "date"), ("description", "text"),
               ("unit_value", "money"), ("quantity", "int"), ("amount", "money"),
               ("platform_registered", "bool"), ("status", "label:expense_status")],
              [{k: r[k] for k in ("grant_code", "institution", "expense_date", "description", "unit_value",
                                  "quantity", "amount", "platform_registered", "status")}
               for r in seed["instruments"]["items"]]),
        Chart("horizontal_projects", "table", "code", [],
              [("code", "text"), ("title", "text"), ("institution", "text"), ("non_fiscal_amount", "money"),
               ("status", "label:grant_status"), ("eligible", "bool")],
              [{k: r[k] for k in ("code", "title", "institution", "non_fiscal_amount", "status", "eligible")}
               for r in seed["horizontal_projects"]["projects"]]),
    ]
    return {"as_of": as_of.isoformat(), "charts": {c.key: c.to_dict() for c in charts},
            "rule_titles": rule_titles(session, as_of),
            "totals": {"expenses": co["expenses"], "amount": co["amount"], "queue": co["approval_queue"],
                       "grants_active": len(be["grants"]), "at_risk": len(risk_rows)},
            "seed": {"parameters": seed["parameters"],
                     "instruments": {k: seed["instruments"][k] for k in ("threshold", "count", "amount", "source")},
                     "horizontal": {k: seed["horizontal_projects"][k]
                                    for k in ("threshold", "eligible", "awaiting_acceptance", "source")},
                     "youth": {"goal": seed["youth_share"]["goal"], "max_age": seed["youth_share"]["max_age"],
                               "source": seed["youth_share"]["source"],
                               "meeting": sum(1 for r in seed["youth_share"]["institutions"] if r["meets_goal"]),
                               "institutions": len(seed["youth_share"]["institutions"])},
                     "soe": {"weight": seed["soe_rd_add_back"]["increment_weight"],
                             "source": seed["soe_rd_add_back"]["source"]},
                     "growth": {"target": seed["st_budget_growth"]["target"],
                                "source": seed["st_budget_growth"]["source"],
                                "latest": (seed["st_budget_growth"]["years"] or [None])[-1]}}}


def chart_workbook(chart: dict, title: str, headings: dict[str, str] | None = None) -> bytes:
    """One chart's table as an XLSX sheet: headings in the reader's language, money as numbers (0.00),
    ratios as percentages (0.0%)."""
    import io

    from openpyxl import Workbook

    headings = headings or {}
    wb = Workbook()
    ws = wb.active
    ws.title = chart["key"][:31]
    ws.append([title])
    ws.append([headings.get(k, k) for k, _kind in chart["columns"]])
    for r in chart["rows"]:
        values = []
        for k, kind in chart["columns"]:
            v = r.get(k)
            if v is not None and kind in ("money", "ratio"):
                v = Decimal(v)
            elif isinstance(v, list):
                v = ", ".join(headings.get(x, x) for x in v)
            elif v is not None and (kind.startswith("label:") or kind in ("bool", "rule")):
                v = headings.get(f"{kind}:{v}", v)
            values.append(v)
        ws.append(values)
        for (k, kind), cell in zip(chart["columns"], ws[ws.max_row]):
            cell.number_format = "#,##0.00" if kind == "money" else "0.0%" if kind == "ratio" else cell.number_format
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def dashboard_for(user, as_of: date | None = None) -> dict:
    """The dashboard for a report reader (the bureau, auditors)."""
    from grants.access import require_report_reader
    from grants.extensions import db

    require_report_reader(user)
    return dashboard(db.session, as_of)
