"""Use cases of the reports package: verify the ledger, record checkpoints, record report inputs.

Reports read every package's tables; the only writes here are the reports-owned tables and ledger
checkpoints, each inside ``unit_of_work()``.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from budgets.models import Expense, ExpenseStatus
from compliance import policy as policy_store
from compliance.models import PolicyVersion
from budgets.expenses.service import EXPENSE_FIELDS, expense_facts, judge_expense, load_grant_state
from grants.access import require_recorder, require_report_reader
from grants.db import now, today, unit_of_work
from grants.errors import Invalid, NotFound
from grants.extensions import db
from grants.models import Category, Grant, Institution, InstitutionKind, User
from reports import checkpoints, queries
from reports.checkpoints import (LedgerReport, chain_heads_now, check_checkpoints, check_recorded_heads,  # noqa: F401
                                 daily_head_report, latest_checkpoint, record_checkpoints, verify_ledger)
from reports.models import JobRun, RdSpendReport, StBudgetYear
from reports.queries import _period


# --------------------------------------------------------------------------- ledger verification, checkpoints
# (reports.checkpoints; named here too, where the API, the CLI and the jobs have always found them)
def list_checkpoints(user: User, period: str | None = None):
    require_report_reader(user)
    return checkpoints.list_checkpoints(period)


# --------------------------------------------------------------------------- job runs
def record_job_run(job: str, started_at: datetime, ok: bool, detail: str, *, period: str | None = None,
                   trigger: str = "scheduled", runner: str = "") -> JobRun:
    with unit_of_work() as s:
        run = JobRun(job=job, started_at=started_at, finished_at=now(), ok=ok, detail=detail[:4000], period=period,
                     trigger=trigger, runner=runner)
        s.add(run)
    return run


# --------------------------------------------------------------------------- report inputs
def record_rd_spend(data: dict, user: User) -> RdSpendReport:
    """Record (or correct) one state-owned enterprise's R&D spend for a year."""
    require_recorder(user)
    with unit_of_work() as s:
        inst = s.get(Institution, data["institution_id"])
        if inst is None:
            raise NotFound(f"单位 {data['institution_id']} 不存在 / institution not found")
        if inst.kind != InstitutionKind.STATE_OWNED:
            raise Invalid("只有国有企业登记研发投入视同利润 / only state-owned enterprises report R&D add-back",
                          {"institution_id": ["not a state-owned enterprise"]})
        row = s.scalars(select(RdSpendReport).where(RdSpendReport.institution_id == inst.id,
                                                    RdSpendReport.year == data["year"])).first()
        if row is None:
            row = RdSpendReport(institution_id=inst.id, year=data["year"], rd_spend=data["rd_spend"])
            s.add(row)
        row.rd_spend, row.note, row.recorded_by, row.recorded_at = data["rd_spend"], data.get("note", ""), user.id, now()
        s.flush()
    return row


def list_rd_spend(user: User):
    require_report_reader(user)
    return select(RdSpendReport).order_by(RdSpendReport.institution_id, RdSpendReport.year)


def record_st_budget(year: int, data: dict, user: User) -> StBudgetYear:
    """Record (or correct) the municipal S&T special-fund budget of a year."""
    require_recorder(user)
    with unit_of_work() as s:
        row = s.get(StBudgetYear, year)
        if row is None:
            row = StBudgetYear(year=year, amount=data["amount"])
            s.add(row)
        row.amount, row.note, row.recorded_by, row.recorded_at = data["amount"], data.get("note", ""), user.id, now()
        s.flush()
    return row


def list_st_budget(user: User):
    require_report_reader(user)
    return select(StBudgetYear).order_by(StBudgetYear.year)


# --------------------------------------------------------------------------- policy-change replay
REPLAY_LIMIT = 100_000


def policy_replay(user: User, *, version_id: int | None = None, policy=None, date_from: date | None = None,
                  date_to: date | None = None, changed_only: bool = True) -> dict:
    """Re-judge a period's expenses under a draft policy and list the verdicts that would change.

    Each expense is judged twice against the grant's budget as it stands now (its own amount released):
    under the version that judged it and under the draft, so a change shows the policy's effect, not
    money spent since. Nothing is written: no expense, budget line or ledger entry changes.
    """
    require_report_reader(user)
    s = db.session
    if policy is None:
        version = s.get(PolicyVersion, version_id) if version_id is not None else None
        if version is None:
            raise NotFound(f"政策版本 {version_id} 不存在 / policy version {version_id} not found")
        policy = policy_store.policy_for(version)
        label = {"id": version.id, "policy_set": version.policy_set, "version": version.version,
                 "status": version.status}
    else:
        label = {"id": None, "policy_set": policy.policy_set, "version": policy.version, "status": policy.status}

    stmt = _period(select(Expense).order_by(Expense.id), Expense.expense_date, date_from, date_to)
    count = s.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    if count > REPLAY_LIMIT:
        raise Invalid(f"期间内有 {count} 笔支出，超过 {REPLAY_LIMIT} / narrow the period",
                      {"date_from": [f"{count} expenses; at most {REPLAY_LIMIT} per replay"]})
    versions: dict[int | None, object] = {None: None}
    states: dict[int, object] = {}
    changes, transitions, examined, changed_amount = [], {}, 0, Decimal(0)
    for e in s.scalars(stmt.execution_options(yield_per=2000)):
        examined += 1
        if e.grant_id not in states:
            states[e.grant_id] = load_grant_state(s.get(Grant, e.grant_id), lock=False)
        state = states[e.grant_id]
        if e.policy_version_id not in versions:
            versions[e.policy_version_id] = policy_store.policy_for(s.get(PolicyVersion, e.policy_version_id))
        facts = expense_facts({f: getattr(e, f) for f in EXPENSE_FIELDS})
        counted = e.status in (ExpenseStatus.POSTED, ExpenseStatus.PENDING) and \
            state.grant.category != Category.POST_SUBSIDY and e.subject in state.lines
        release = (e.subject, e.amount) if counted else None
        dup = _earlier_duplicate(e) if e.invoice_no else None
        before = judge_expense(facts, state, versions[e.policy_version_id], dup, release)
        after = judge_expense(facts, state, policy, dup, release)
        old_rules = {f.rule_id for f in before.findings}
        new_rules = {f.rule_id for f in after.findings}
        changed = before.verdict != after.verdict or old_rules != new_rules
        if changed and before.verdict != after.verdict:
            key = f"{before.verdict}→{after.verdict}"
            transitions[key] = transitions.get(key, 0) + 1
            changed_amount += e.amount
        if changed or not changed_only:
            changes.append({"expense_id": e.id, "grant_id": e.grant_id, "institution_id": e.institution_id,
                            "expense_date": e.expense_date.isoformat(), "amount": f"{e.amount:.2f}",
                            "status": e.status.value, "recorded_verdict": e.verdict.value,
                            "old_verdict": before.verdict, "new_verdict": after.verdict,
                            "verdict_changed": before.verdict != after.verdict,
                            "rules_added": sorted(new_rules - old_rules), "rules_removed": sorted(old_rules - new_rules)})
    return {"policy": label, "period": {"date_from": date_from.isoformat() if date_from else None,
                                        "date_to": date_to.isoformat() if date_to else None},
            "examined": examined, "verdicts_changed": sum(transitions.values()),
            "amount_with_changed_verdict": f"{changed_amount:.2f}", "transitions": transitions,
            "changes": changes}


def _earlier_duplicate(e) -> int | None:
    """The first earlier, not-rejected expense with the same invoice (what the original judgement saw)."""
    return db.session.execute(select(Expense.id).where(Expense.invoice_no == e.invoice_no, Expense.id < e.id,
                                                       Expense.status != ExpenseStatus.REJECTED)
                              .order_by(Expense.id).limit(1)).scalar_one_or_none()


# --------------------------------------------------------------------------- reports
def compliance_overview(user: User, args: dict) -> dict:
    require_report_reader(user)
    return queries.compliance_overview(db.session, args.get("date_from"), args.get("date_to"), args.get("top", 10))


def budget_execution(user: User, args: dict) -> dict:
    require_report_reader(user)
    on = args.get("as_of") or today()
    return queries.budget_execution(db.session, on, queries.report_parameters(db.session, on))


def seed_figures(user: User, args: dict) -> dict:
    require_report_reader(user)
    on = args.get("as_of") or today()
    return queries.seed_figures(db.session, queries.report_parameters(db.session, on), args.get("date_from"),
                                args.get("date_to"))
