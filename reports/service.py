"""Use cases of the reports package: verify the ledger, record checkpoints, record report inputs.

Reports read every package's tables; the only writes here are the reports-owned tables and ledger
checkpoints, each inside ``unit_of_work()``.
"""
from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from grants import ledger
from grants.db import TZ, now, today, unit_of_work
from grants.errors import Forbidden, Invalid, NotFound
from grants.extensions import db
from grants.ledger import GENESIS, LedgerCheckpoint, LedgerEntry
from grants.models import Institution, InstitutionKind, Role, User
from reports.models import JobRun, RdSpendReport, StBudgetYear

READERS = (Role.FINANCE_BUREAU, Role.AUDITOR, Role.ADMIN)
RECORDERS = (Role.FINANCE_BUREAU, Role.ADMIN)


def require_reader(user: User) -> None:
    """The bureau's and auditors' reports cover every institution: institution staff may not read them."""
    if user.role not in READERS:
        raise Forbidden("仅财政/科技主管部门和审计人员可查看 / only the finance bureau and auditors may read this")


def require_recorder(user: User) -> None:
    if user.role not in RECORDERS:
        raise Forbidden("仅财政/科技主管部门可登记 / only the finance bureau records these figures")


# --------------------------------------------------------------------------- ledger verification
@dataclass
class LedgerReport:
    ok: bool
    entries_checked: int
    start_seq: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    reason: str = ""
    checkpoints_checked: int = 0
    checkpoint_mismatches: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def verify_ledger(since_checkpoint: bool = False) -> LedgerReport:
    """Recompute the hash chain (all of it, or from the latest checkpoint on) and compare every checkpoint.

    The chain finds an edited or deleted row; the checkpoints also find a truncated tail or a chain
    rewritten from some row on (a rewrite recomputes hashes but cannot match a recorded head).
    """
    s = db.session
    start_seq, start_hash = 1, GENESIS
    if since_checkpoint:
        cp = latest_checkpoint()
        if cp is not None and cp.seq > 0:
            start_seq, start_hash = cp.seq + 1, cp.hash
    r = ledger.verify(s, start_seq=start_seq, start_hash=start_hash)
    report = LedgerReport(r.ok, r.entries, start_seq, r.head_seq, r.head_hash, r.first_broken_seq, r.reason)
    checked, mismatches = check_checkpoints()
    report.checkpoints_checked, report.checkpoint_mismatches = checked, mismatches
    if mismatches:
        report.ok = False
        if report.first_broken_seq is None:
            first = min(m["seq"] for m in mismatches)
            report.first_broken_seq = first
            report.reason = mismatches[0]["reason"]
    return report


def check_checkpoints() -> tuple[int, list[dict]]:
    """Every checkpoint must still name an entry with the recorded hash (one SQL join)."""
    cp, e = LedgerCheckpoint, LedgerEntry
    total = db.session.execute(select(func.count()).select_from(cp).where(cp.seq > 0)).scalar_one()
    rows = db.session.execute(
        select(cp.period, cp.period_end, cp.seq, cp.hash, e.hash.label("entry_hash"))
        .outerjoin(e, e.seq == cp.seq)
        .where(cp.seq > 0, or_(e.hash.is_(None), e.hash != cp.hash))
        .order_by(cp.seq)).all()
    mismatches = [{"period": r.period, "period_end": r.period_end.isoformat(), "seq": r.seq,
                   "checkpoint_hash": r.hash, "entry_hash": r.entry_hash,
                   "reason": "checkpointed entry missing (ledger truncated or row deleted)" if r.entry_hash is None
                   else "checkpointed entry's hash changed (chain rewritten)"} for r in rows]
    return total, mismatches


# --------------------------------------------------------------------------- checkpoints
def latest_checkpoint() -> LedgerCheckpoint | None:
    return db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq.desc(),
                                                                LedgerCheckpoint.period_end.desc()).limit(1)).first()


def _end_of(day: date) -> datetime:
    """The first instant after ``day`` in the bureau's time zone: entries created before it belong to the day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=TZ)


def _head_before(instant: datetime) -> tuple[int, str]:
    row = db.session.execute(select(LedgerEntry.seq, LedgerEntry.hash).where(LedgerEntry.created_at < instant)
                             .order_by(LedgerEntry.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def record_checkpoints(up_to: date | None = None) -> list[LedgerCheckpoint]:
    """Record the chain head at the end of every finished day and month up to ``up_to`` (default yesterday).

    Idempotent: periods already checkpointed are skipped, so the job can run as often as it likes.
    The head of a day is the last entry *created* before midnight (Asia/Shanghai), whatever its
    booking date.
    """
    up_to = min(up_to or today() - timedelta(days=1), today())  # never a day that has not begun
    added: list[LedgerCheckpoint] = []
    with unit_of_work() as s:
        first_at = s.execute(select(func.min(LedgerEntry.created_at))).scalar_one()
        if first_at is None:
            return []
        if first_at.tzinfo is None:  # SQLite returns the stored local time without its zone
            first_at = first_at.replace(tzinfo=TZ)
        first_day = first_at.astimezone(TZ).date()
        for period in ("day", "month"):
            done = set(s.scalars(select(LedgerCheckpoint.period_end).where(
                LedgerCheckpoint.period == period, LedgerCheckpoint.period_end >= first_day)))
            ends = _period_ends(period, first_day, up_to)
            for end in ends:
                if end in done:
                    continue
                seq, h = _head_before(_end_of(end))
                cp = LedgerCheckpoint(period=period, period_end=end, seq=seq, hash=h)
                s.add(cp)
                added.append(cp)
        s.flush()
    return added


def _period_ends(period: str, first_day: date, up_to: date) -> list[date]:
    ends = []
    if period == "day":
        d = first_day
        while d <= up_to:
            ends.append(d)
            d += timedelta(days=1)
    else:
        d = _month_end(first_day)
        while d <= up_to:
            ends.append(d)
            d = _month_end(d + timedelta(days=1))
    return ends


def list_checkpoints(user: User, period: str | None = None):
    require_reader(user)
    stmt = select(LedgerCheckpoint).order_by(LedgerCheckpoint.period_end, LedgerCheckpoint.period)
    if period:
        stmt = stmt.where(LedgerCheckpoint.period == period)
    return stmt


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
    require_reader(user)
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
    require_reader(user)
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
    from budgets.models import Expense, ExpenseStatus
    from compliance import policy as policy_store
    from compliance.models import PolicyVersion
    from compliance.service import EXPENSE_FIELDS, expense_facts, judge_expense, load_grant_state
    from grants.models import Category, Grant
    from reports.queries import _period

    require_reader(user)
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
    from budgets.models import Expense, ExpenseStatus

    return db.session.execute(select(Expense.id).where(Expense.invoice_no == e.invoice_no, Expense.id < e.id,
                                                       Expense.status != ExpenseStatus.REJECTED)
                              .order_by(Expense.id).limit(1)).scalar_one_or_none()


# --------------------------------------------------------------------------- reports
def compliance_overview(user: User, args: dict) -> dict:
    from reports import queries

    require_reader(user)
    return queries.compliance_overview(db.session, args.get("date_from"), args.get("date_to"), args.get("top", 10))


def budget_execution(user: User, args: dict) -> dict:
    from reports import queries

    require_reader(user)
    on = args.get("as_of") or today()
    return queries.budget_execution(db.session, on, queries.report_parameters(db.session, on))


def seed_figures(user: User, args: dict) -> dict:
    from reports import queries

    require_reader(user)
    on = args.get("as_of") or today()
    return queries.seed_figures(db.session, queries.report_parameters(db.session, on), args.get("date_from"),
                                args.get("date_to"))
