"""Read-only report queries: every figure is a SQL aggregate (GROUP BY), never a Python loop over rows.

Money is summed as fen (``money_cents``: numeric on PostgreSQL, 64-bit integers on SQLite, which stores
Numeric as REAL) so every total is exact and no amount is too large to sum;
results leave as two-decimal strings. The compliance overview reads the totals the database keeps per day, institution, category, verdict
and rule (``expense_totals``, ``expense_rule_totals``; triggers of migration 0011_expense_totals).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, Numeric, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased

from budgets.models import BudgetLine, Expense, ExpenseRuleTotal, ExpenseStatus, ExpenseTotal, Verdict
from compliance import policy as policy_store
from grants.db import CENT, TZ, now, today
from grants.models import Grant, GrantStatus, GrantTransition, Institution, InstitutionKind, Researcher
from reports.models import RdSpendReport, StBudgetYear

RATIO = Decimal("0.0001")
QUEUE_BUCKETS = ((3, "0-3d"), (7, "4-7d"), (14, "8-14d"), (30, "15-30d"))  # then "over-30d"
VERDICTS = tuple(v.value for v in Verdict)
BOOKED = (ExpenseStatus.POSTED, ExpenseStatus.PENDING)  # money that is, or may become, spent


# --------------------------------------------------------------------------- helpers
def dialect_of(session) -> str:
    return session.get_bind().dialect.name


def money_cents(col, dialect: str):
    """SUM of money in fen, exact and unbounded: ``numeric`` on PostgreSQL (never a 32-bit cast: one
    amount of 21,474,836.48 yuan would overflow it), 64-bit integer fen on SQLite, where Numeric is
    stored as REAL and each amount is rounded to whole fen before it is added."""
    if dialect == "postgresql":
        return func.sum(cast(col * 100, Numeric(30, 0)))
    return func.sum(cast(func.round(col * 100), BigInteger))


def yuan(cents) -> str:
    return f"{(Decimal(cents or 0) / 100).quantize(CENT):.2f}"


def money(value) -> str | None:
    return None if value is None else f"{Decimal(value).quantize(CENT):.2f}"


def ratio(num, den) -> str | None:
    if not den:
        return None
    return f"{(Decimal(num) / Decimal(den)).quantize(RATIO)}"


def month_of(col, dialect: str):
    return func.to_char(col, "YYYY-MM") if dialect == "postgresql" else func.strftime("%Y-%m", col)


def _period(stmt, col, date_from: date | None, date_to: date | None):
    if date_from:
        stmt = stmt.where(col >= date_from)
    if date_to:
        stmt = stmt.where(col <= date_to)
    return stmt


def _count_if(cond):
    return func.sum(case((cond, 1), else_=0))


def _verdict_counts():
    return [_count_if(Expense.verdict == Verdict(v)).label(v) for v in VERDICTS]


def _rows(result) -> list[dict]:
    return [dict(r._mapping) for r in result]


# --------------------------------------------------------------------------- parameters
@dataclass
class ReportParameters:
    """Thresholds of the seed figures and the at-risk flags: from the policy in force, else these defaults."""

    instrument_min_unit_value: Decimal = Decimal("300000")          # seed 001 (二十二)
    instrument_institution_kinds: tuple = ("university", "research_institute")
    instrument_exempt_fund_sources: tuple = ("self_raised", "enterprise_contract")
    horizontal_min_non_fiscal: Decimal = Decimal("400000")          # seed 001 (八)
    horizontal_fund_sources: tuple = ("horizontal", "enterprise_contract")
    youth_max_age: int = 40                                         # seed 001 (八)
    youth_share_goal: Decimal = Decimal("0.40")
    basic_research_fund_sources: tuple = ("basic_research",)
    soe_increment_weight: Decimal = Decimal("1.50")                 # seed 001 (七)
    st_budget_growth_target: Decimal = Decimal("0.20")              # seed 001 (二十九)
    under_spend_pace: Decimal = Decimal("0.50")   # spent < pace × time elapsed …
    under_spend_min_elapsed: Decimal = Decimal("0.50")  # … once this much of the period has passed
    over_spend_pace: Decimal = Decimal("1.50")    # committed > pace × time elapsed …
    over_spend_min_committed: Decimal = Decimal("0.50")  # … and at least this share committed
    source: str = "defaults (docs/ledger.md)"

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items()}


def report_parameters(session, on: date | None = None) -> ReportParameters:
    """Read the seed thresholds from the policy version in force on ``on`` (where it states them)."""
    p = ReportParameters()
    version, policy = policy_store.in_force(session, on or today())
    if policy is None:
        return p
    p.source = f"policy {version.policy_set} {version.version}"
    seed = policy.seed_figures
    for name, value in (("youth_share_goal", seed.youth_share_min),
                        ("youth_max_age", seed.youth_max_age),
                        ("horizontal_min_non_fiscal", seed.horizontal_min_non_fiscal),
                        ("soe_increment_weight", seed.soe_increment_weight),
                        ("st_budget_growth_target", seed.special_fund_growth_rate),
                        ("instrument_min_unit_value", seed.instrument_min_unit_value),
                        ("instrument_exempt_fund_sources", seed.instrument_exempt_fund_sources),
                        ("instrument_institution_kinds", seed.instrument_institution_kinds)):
        if value is not None:
            setattr(p, name, value)
    return p


# --------------------------------------------------------------------------- compliance overview
def compliance_overview(session, date_from: date | None = None, date_to: date | None = None, top: int = 10,
                        as_of: datetime | None = None) -> dict:
    """Expenses and amounts by verdict, rule, institution, category and month; worst institutions; queue age.

    Read from ``expense_totals`` / ``expense_rule_totals``, which the database keeps in step with every
    write to ``expenses`` (migration 0011_expense_totals): a few thousand rows, not every expense.
    """
    d = dialect_of(session)
    t, rt = ExpenseTotal, ExpenseRuleTotal
    n, cents = func.sum(t.expenses), func.sum(t.cents)
    counts = lambda tbl: [func.sum(case((tbl.verdict == v, tbl.expenses), else_=0)).label(v)  # noqa: E731
                          for v in VERDICTS]
    base = lambda stmt, tbl=t: _period(stmt, tbl.expense_date, date_from, date_to).having(func.sum(tbl.expenses) > 0)  # noqa: E731

    by_verdict = session.execute(base(select(t.verdict, n.label("expenses"), cents.label("cents"))
                                      .group_by(t.verdict))).all()
    by_rule = session.execute(
        base(select(rt.rule_id, func.sum(rt.expenses).label("expenses"), func.sum(rt.cents).label("cents"), *counts(rt))
             .group_by(rt.rule_id).order_by(func.sum(rt.expenses).desc(), rt.rule_id), rt)).all()
    rejected_cents = func.sum(case((t.verdict == Verdict.REJECT.value, t.cents), else_=0))
    per_institution = session.execute(
        base(select(t.institution_id, n.label("expenses"), cents.label("cents"), *counts(t),
                    rejected_cents.label("rejected_cents")).group_by(t.institution_id))).all()
    names = {i.id: i for i in session.execute(
        select(Institution.id, Institution.name, Institution.kind)
        .where(Institution.id.in_([r.institution_id for r in per_institution])))} if per_institution else {}
    by_institution = sorted(per_institution, key=lambda r: (names[r.institution_id].name, r.institution_id))
    by_category = session.execute(base(select(t.category, n.label("expenses"), cents.label("cents"), *counts(t))
                                       .group_by(t.category).order_by(t.category))).all()
    month = month_of(t.expense_date, d).label("month")
    by_month = session.execute(base(select(month, n.label("expenses"), cents.label("cents"), *counts(t))
                                    .group_by(month).order_by(month))).all()

    flagged = lambda r: getattr(r, Verdict.REJECT.value) + getattr(r, Verdict.NEEDS_APPROVAL.value)  # noqa: E731
    worst = sorted((r for r in per_institution if getattr(r, Verdict.REJECT.value) > 0),
                   key=lambda r: (-getattr(r, Verdict.REJECT.value), -r.rejected_cents,
                                  names[r.institution_id].name))[:top]
    total_n = sum(r.expenses for r in by_verdict)
    total_c = sum(r.cents for r in by_verdict)
    verdict_counts = lambda r: {v: int(getattr(r, v)) for v in VERDICTS}  # noqa: E731

    return {
        "period": {"date_from": date_from.isoformat() if date_from else None,
                   "date_to": date_to.isoformat() if date_to else None},
        "expenses": int(total_n), "amount": yuan(total_c),
        "by_verdict": [{"verdict": r.verdict, "expenses": int(r.expenses), "amount": yuan(r.cents)}
                       for r in sorted(by_verdict, key=lambda r: VERDICTS.index(r.verdict))],
        "by_rule": [{"rule_id": r.rule_id, "expenses": int(r.expenses), "amount": yuan(r.cents), **verdict_counts(r)}
                    for r in by_rule],
        "by_institution": [{"institution_id": r.institution_id, "name": names[r.institution_id].name,
                            "kind": names[r.institution_id].kind.value, "expenses": int(r.expenses),
                            "amount": yuan(r.cents), "rejected_amount": yuan(r.rejected_cents), **verdict_counts(r)}
                           for r in by_institution],
        "by_category": [{"category": r.category, "expenses": int(r.expenses), "amount": yuan(r.cents),
                         **verdict_counts(r)} for r in by_category],
        "by_month": [{"month": r.month, "expenses": int(r.expenses), "amount": yuan(r.cents), **verdict_counts(r)}
                     for r in by_month],
        "top_violating_institutions": [
            {"institution_id": r.institution_id, "name": names[r.institution_id].name,
             "rejected": int(getattr(r, Verdict.REJECT.value)), "rejected_amount": yuan(r.rejected_cents),
             "flagged": int(flagged(r)), "expenses": int(r.expenses),
             "rejected_share": ratio(getattr(r, Verdict.REJECT.value), r.expenses)} for r in worst],
        "approval_queue": approval_queue_age(session, as_of),
    }


def approval_queue_age(session, as_of: datetime | None = None) -> dict:
    """How long expenses have waited for the bureau: count, money, oldest, and age buckets (one query)."""
    as_of = as_of or now()
    d = dialect_of(session)
    bucket_cols, lower = [], None
    for days, label in QUEUE_BUCKETS:
        edge = as_of - timedelta(days=days)
        cond = Expense.submitted_at >= edge if lower is None else and_(Expense.submitted_at >= edge,
                                                                      Expense.submitted_at < lower)
        bucket_cols.append(_count_if(cond).label(label))
        lower = edge
    bucket_cols.append(_count_if(Expense.submitted_at < lower).label("over-30d"))
    r = session.execute(select(func.count().label("pending"), money_cents(Expense.amount, d).label("cents"),
                               func.min(Expense.submitted_at).label("oldest"), *bucket_cols)
                        .where(Expense.status == ExpenseStatus.PENDING)).one()
    oldest = r.oldest
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=TZ)
    labels = [label for _, label in QUEUE_BUCKETS] + ["over-30d"]
    return {"pending": r.pending, "amount": yuan(r.cents),
            "oldest_submitted_at": oldest.isoformat() if oldest else None,
            "oldest_age_days": (as_of - oldest).days if oldest else None,
            "buckets": [{"age": label, "expenses": getattr(r, label) or 0} for label in labels]}


# --------------------------------------------------------------------------- budget execution
ACTIVE = (GrantStatus.ACTIVE, GrantStatus.CLOSING, GrantStatus.SUSPENDED)


def _elapsed(start: date, end: date, on: date) -> Decimal:
    span = (end - start).days + 1
    return min(max(Decimal((on - start).days + 1) / Decimal(span), Decimal(0)), Decimal(1))


def _execution(budget: Decimal, spent: Decimal, pending: Decimal, elapsed: Decimal, p: ReportParameters) -> dict:
    rate = spent / budget if budget else None
    committed = (spent + pending) / budget if budget else None
    flags = []
    if rate is not None and elapsed >= p.under_spend_min_elapsed and rate < p.under_spend_pace * elapsed:
        flags.append("under_spending")
    if committed is not None and (committed > 1 or (committed >= p.over_spend_min_committed
                                                    and committed > p.over_spend_pace * elapsed)):
        flags.append("over_spending")
    return {"budget": money(budget), "spent": money(spent), "pending": money(pending),
            "remaining": money(budget - spent - pending),
            "execution_rate": f"{rate.quantize(RATIO)}" if rate is not None else None,
            "time_elapsed": f"{elapsed.quantize(RATIO)}",
            "burn_vs_time": f"{(rate / elapsed).quantize(RATIO)}" if rate is not None and elapsed else None,
            "at_risk": flags}


def budget_execution(session, as_of: date | None = None, params: ReportParameters | None = None,
                     statuses=ACTIVE) -> dict:
    """执行率 per grant and per subject: budget, spent, pending, remaining, burn rate vs time elapsed."""
    as_of, p, d = as_of or today(), params or ReportParameters(), dialect_of(session)
    budget_c = money_cents(BudgetLine.amount + BudgetLine.adjusted, d).label("budget")
    per_grant = session.execute(
        select(Grant.id, Grant.code, Grant.title, Grant.status, Grant.funding_mode, Grant.start_date,
               Grant.end_date, Institution.name.label("institution"), budget_c,
               money_cents(BudgetLine.spent, d).label("spent"), money_cents(BudgetLine.reserved, d).label("pending"))
        .join(BudgetLine, BudgetLine.grant_id == Grant.id).join(Institution, Institution.id == Grant.institution_id)
        .where(Grant.status.in_(statuses))
        .group_by(Grant.id, Grant.code, Grant.title, Grant.status, Grant.funding_mode, Grant.start_date,
                  Grant.end_date, Institution.name)
        .order_by(Grant.code)).all()
    per_line = session.execute(
        select(BudgetLine.grant_id, BudgetLine.subject, budget_c,
               money_cents(BudgetLine.spent, d).label("spent"), money_cents(BudgetLine.reserved, d).label("pending"))
        .join(Grant, Grant.id == BudgetLine.grant_id).where(Grant.status.in_(statuses))
        .group_by(BudgetLine.grant_id, BudgetLine.subject).order_by(BudgetLine.grant_id, BudgetLine.subject)).all()
    c = lambda cents: Decimal(cents or 0) / 100  # noqa: E731
    grants, elapsed_of = [], {}
    for g in per_grant:
        elapsed = elapsed_of[g.id] = _elapsed(g.start_date, g.end_date, as_of)
        grants.append({"grant_id": g.id, "code": g.code, "title": g.title, "institution": g.institution,
                       "status": g.status.value, "funding_mode": g.funding_mode.value,
                       "start_date": g.start_date.isoformat(), "end_date": g.end_date.isoformat(),
                       **_execution(c(g.budget), c(g.spent), c(g.pending), elapsed, p)})
    subjects = [{"grant_id": r.grant_id, "subject": r.subject.value,
                 **_execution(c(r.budget), c(r.spent), c(r.pending), elapsed_of[r.grant_id], p)}
                for r in per_line]
    return {"as_of": as_of.isoformat(), "grants": grants, "subjects": subjects,
            "at_risk": [{"grant_id": g["grant_id"], "code": g["code"], "flags": g["at_risk"]}
                        for g in grants if g["at_risk"]],
            "thresholds": {k: str(getattr(p, k)) for k in ("under_spend_pace", "under_spend_min_elapsed",
                                                           "over_spend_pace", "over_spend_min_committed")}}


# --------------------------------------------------------------------------- seed-policy figures
def unregistered_instruments(session, p: ReportParameters) -> dict:
    """Seed 001 (二十二): instruments ≥ 300,000 yuan per unit bought by universities and institutes with
    fiscal money that are not (or not known to be) on the sharing platform."""
    d = dialect_of(session)
    where = (Expense.subject == "equipment", Expense.unit_value >= p.instrument_min_unit_value,
             Expense.platform_registered.is_not(True), Expense.status.in_(BOOKED),
             Institution.kind.in_([InstitutionKind(k) for k in p.instrument_institution_kinds]),
             or_(Expense.fund_source.is_(None), Expense.fund_source.not_in(p.instrument_exempt_fund_sources)))
    stmt = (select(Expense.id.label("expense_id"), Grant.code.label("grant_code"), Institution.name.label("institution"),
                   Expense.expense_date, Expense.description, Expense.unit_value, Expense.quantity, Expense.amount,
                   Expense.platform_registered, Expense.status)
            .join(Grant, Grant.id == Expense.grant_id).join(Institution, Institution.id == Expense.institution_id)
            .where(*where).order_by(Expense.expense_date, Expense.id))
    rows = session.execute(stmt).all()
    total = session.execute(select(func.count(), money_cents(Expense.amount, d))
                            .join(Institution, Institution.id == Expense.institution_id).where(*where)).one()
    return {"rule": "SEED-INSTRUMENT-30W", "source": "seed 001 (二十二)",
            "threshold": money(p.instrument_min_unit_value), "count": total[0], "amount": yuan(total[1]),
            "items": [{"expense_id": r.expense_id, "grant_code": r.grant_code, "institution": r.institution,
                       "expense_date": r.expense_date.isoformat(), "description": r.description,
                       "unit_value": money(r.unit_value), "quantity": r.quantity, "amount": money(r.amount),
                       "platform_registered": r.platform_registered, "status": r.status.value} for r in rows]}


def horizontal_recognition(session, p: ReportParameters) -> dict:
    """Seed 001 (八): horizontal projects with ≥ 400,000 yuan non-fiscal money may be recognised as municipal
    S&T plan projects once accepted."""
    was_accepted = exists().where(GrantTransition.grant_id == Grant.id, GrantTransition.to_status == "accepted")
    accepted = or_(Grant.status == GrantStatus.ACCEPTED, and_(Grant.status == GrantStatus.CLOSED, was_accepted))
    rows = session.execute(
        select(Grant.id, Grant.code, Grant.title, Institution.name.label("institution"), Grant.self_raised_amount,
               Grant.status, case((accepted, True), else_=False).label("eligible"))
        .join(Institution, Institution.id == Grant.institution_id)
        .where(Grant.fund_source.in_(p.horizontal_fund_sources),
               Grant.self_raised_amount >= p.horizontal_min_non_fiscal)
        .order_by(Grant.code)).all()
    return {"rule": "SEED-HORIZONTAL-40W", "source": "seed 001 (八)",
            "threshold": money(p.horizontal_min_non_fiscal),
            "eligible": sum(1 for r in rows if r.eligible), "awaiting_acceptance": sum(1 for r in rows if not r.eligible),
            "projects": [{"grant_id": r.id, "code": r.code, "title": r.title, "institution": r.institution,
                          "non_fiscal_amount": money(r.self_raised_amount), "status": r.status.value,
                          "eligible": bool(r.eligible)} for r in rows]}


def youth_share(session, p: ReportParameters, date_from: date | None = None, date_to: date | None = None) -> dict:
    """Seed 001 (八): each institution's share of 基本科研业务费 spent on researchers aged ≤ 40 on the expense date."""
    d = dialect_of(session)
    years = p.youth_max_age + 1
    if d == "postgresql":
        turns_over_age = Expense.expense_date - func.make_interval(years)
    else:
        turns_over_age = func.date(Expense.expense_date, f"-{years} years")
    # younger than max_age + 1 on the expense date ⇔ born after (expense date − (max_age + 1) years)
    young = and_(Researcher.id.is_not(None), Researcher.birth_date > turns_over_age)
    stmt = (select(Institution.id.label("institution_id"), Institution.name, func.count(Expense.id).label("expenses"),
                   money_cents(Expense.amount, d).label("total"),
                   money_cents(case((young, Expense.amount), else_=0), d).label("youth"),
                   money_cents(case((Expense.researcher_id.is_(None), Expense.amount), else_=0), d).label("unattributed"))
            .join(Institution, Institution.id == Expense.institution_id)
            .outerjoin(Researcher, Researcher.id == Expense.researcher_id)
            .where(Expense.fund_source.in_(p.basic_research_fund_sources), Expense.status == ExpenseStatus.POSTED)
            .group_by(Institution.id, Institution.name).order_by(Institution.name))
    rows = session.execute(_period(stmt, Expense.expense_date, date_from, date_to)).all()
    out = []
    for r in rows:
        share = Decimal(r.youth or 0) / Decimal(r.total) if r.total else None
        out.append({"institution_id": r.institution_id, "name": r.name, "expenses": r.expenses,
                    "basic_research_amount": yuan(r.total), "youth_amount": yuan(r.youth),
                    "unattributed_amount": yuan(r.unattributed),
                    "youth_share": f"{share.quantize(RATIO)}" if share is not None else None,
                    "meets_goal": share is not None and share >= p.youth_share_goal})
    return {"rule": "SEED-YOUTH-40", "source": "seed 001 (八)", "goal": str(p.youth_share_goal),
            "max_age": p.youth_max_age, "institutions": out}


def soe_rd_add_back(session, p: ReportParameters) -> dict:
    """Seed 001 (七): a state-owned enterprise's R&D spend counts as profit added back, the increment at 150%."""
    prev = aliased(RdSpendReport)
    rows = session.execute(
        select(RdSpendReport.institution_id, Institution.name, RdSpendReport.year, RdSpendReport.rd_spend,
               prev.rd_spend.label("prev_spend"))
        .join(Institution, Institution.id == RdSpendReport.institution_id)
        .outerjoin(prev, and_(prev.institution_id == RdSpendReport.institution_id,
                              prev.year == RdSpendReport.year - 1))
        .where(Institution.kind == InstitutionKind.STATE_OWNED)
        .order_by(Institution.name, RdSpendReport.year)).all()
    out = []
    for r in rows:
        increment = None if r.prev_spend is None else max(r.rd_spend - r.prev_spend, Decimal(0))
        add_back = r.rd_spend + (p.soe_increment_weight - 1) * (increment or 0)
        out.append({"institution_id": r.institution_id, "name": r.name, "year": r.year,
                    "rd_spend": money(r.rd_spend), "previous_year": money(r.prev_spend),
                    "increment": money(increment), "add_back": money(add_back)})
    return {"rule": "SEED-SOE-150", "source": "seed 001 (七)", "increment_weight": str(p.soe_increment_weight),
            "rows": out}


def st_budget_growth(session, p: ReportParameters) -> dict:
    """Seed 001 (二十九): the municipal S&T special-fund budget grows 20% a year."""
    prev = aliased(StBudgetYear)
    rows = session.execute(select(StBudgetYear.year, StBudgetYear.amount, prev.amount.label("prev_amount"))
                           .outerjoin(prev, prev.year == StBudgetYear.year - 1).order_by(StBudgetYear.year)).all()
    out = []
    for r in rows:
        growth = (r.amount - r.prev_amount) / r.prev_amount if r.prev_amount else None
        out.append({"year": r.year, "amount": money(r.amount), "previous_year": money(r.prev_amount),
                    "growth": f"{growth.quantize(RATIO)}" if growth is not None else None,
                    "meets_target": None if growth is None else growth >= p.st_budget_growth_target})
    return {"rule": "SEED-BUDGET-GROWTH-20", "source": "seed 001 (二十九)", "target": str(p.st_budget_growth_target),
            "years": out}


def seed_figures(session, p: ReportParameters, date_from: date | None = None, date_to: date | None = None) -> dict:
    return {"parameters": p.to_dict(),
            "instruments": unregistered_instruments(session, p),
            "horizontal_projects": horizontal_recognition(session, p),
            "youth_share": youth_share(session, p, date_from, date_to),
            "soe_rd_add_back": soe_rd_add_back(session, p),
            "st_budget_growth": st_budget_growth(session, p)}
