"""Use cases: schedule a grant's evaluations, record their results, remind people of what is due."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select

from compliance import policy as policy_store
from evaluations.mail import send_mail
from evaluations.models import KIND_ZH, Evaluation, EvaluationKind, EvaluationStatus, Reminder
from evaluations.schedule import due_dates
from grants.access import require_bureau, scope
from grants.db import today, unit_of_work
from grants.errors import Conflict, NotFound
from grants.extensions import db
from grants.models import Grant, GrantStatus, Role, User
from grants.registry import get_grant

ACCEPTANCE_MONTHS_DEFAULT = 6
REMIND_DAYS_BEFORE = (30, 7, 1, 0)    # and every day once overdue
SCHEDULABLE = (GrantStatus.APPROVED, GrantStatus.ACTIVE, GrantStatus.CLOSING, GrantStatus.SUSPENDED)


def _acceptance_months(on: date) -> int:
    """From the policy in force (parameters.evaluations.acceptance_request_within_months), else 6."""
    _, policy = policy_store.in_force(db.session, on)
    months = policy.evaluations.acceptance_request_within_months if policy else None
    return ACCEPTANCE_MONTHS_DEFAULT if months is None else months


def _schedule(grant: Grant) -> list[Evaluation]:
    existing = {(e.kind, e.due_date) for e in db.session.scalars(
        select(Evaluation).where(Evaluation.grant_id == grant.id))}
    added = []
    for kind, due in due_dates(grant.start_date, grant.end_date, _acceptance_months(grant.start_date)):
        if (kind, due) not in existing:
            ev = Evaluation(grant_id=grant.id, kind=kind, due_date=due)
            db.session.add(ev)
            added.append(ev)
    return added


def schedule_grant(grant_id: int, user: User) -> list[Evaluation]:
    """Add the grant's mid-term, annual and final-acceptance evaluations (idempotent)."""
    require_bureau(user, "安排绩效评价")
    with unit_of_work():
        grant = get_grant(grant_id, user, for_update=True)
        if grant.status not in SCHEDULABLE:
            raise Conflict(f"课题状态为 {grant.status.value}，不安排绩效评价 / grant is {grant.status.value}")
        _schedule(grant)
    return list_for_grant(grant_id, user)


def schedule_all() -> int:
    """The scheduler's part: every approved or running grant has its evaluations (idempotent)."""
    with unit_of_work() as s:
        grants = s.scalars(select(Grant).where(Grant.status.in_(SCHEDULABLE)).order_by(Grant.id)).all()
        return sum(len(_schedule(g)) for g in grants)


def list_for_grant(grant_id: int, user: User) -> list[Evaluation]:
    get_grant(grant_id, user)
    return list(db.session.scalars(select(Evaluation).where(Evaluation.grant_id == grant_id)
                                   .order_by(Evaluation.due_date, Evaluation.id)))


def list_due(user: User, due_before: date | None, status: EvaluationStatus | None):
    stmt = select(Evaluation).join(Grant, Grant.id == Evaluation.grant_id).order_by(Evaluation.due_date, Evaluation.id)
    stmt = scope(stmt, Grant.institution_id, user)
    if due_before:
        stmt = stmt.where(Evaluation.due_date <= due_before)
    if status:
        stmt = stmt.where(Evaluation.status == status)
    return stmt


def add_evaluation(grant_id: int, kind: EvaluationKind, due: date, user: User) -> Evaluation:
    require_bureau(user, "安排绩效评价")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user)
        if s.execute(select(Evaluation.id).where(Evaluation.grant_id == grant.id, Evaluation.kind == kind,
                                                 Evaluation.due_date == due)).first():
            raise Conflict("该评价已安排 / already scheduled", {"due_date": ["already scheduled"]})
        ev = Evaluation(grant_id=grant.id, kind=kind, due_date=due)
        s.add(ev)
    return ev


def record_result(evaluation_id: int, status: EvaluationStatus, note: str, user: User,
                  decided_on: date | None = None) -> Evaluation:
    require_bureau(user, "记录评价结果")
    with unit_of_work():
        ev = db.session.get(Evaluation, evaluation_id)
        if ev is None:
            raise NotFound(f"评价 {evaluation_id} 不存在 / evaluation not found")
        get_grant(ev.grant_id, user)
        if ev.status != EvaluationStatus.SCHEDULED:
            raise Conflict(f"评价已有结果（{ev.status.value}）/ already {ev.status.value}")
        if status == EvaluationStatus.SCHEDULED:
            raise Conflict("结果须为 passed、failed 或 waived / a result is passed, failed or waived",
                           {"status": ["not a result"]})
        ev.status, ev.note, ev.decided_on = status, note, decided_on or today()
    return ev


def _recipients(grant: Grant) -> list[str]:
    """The institution's staff and the bureau: whoever must act on, or follow up, the evaluation."""
    rows = db.session.scalars(select(User.email).where(
        User.active.is_(True), User.email.is_not(None),
        ((User.role == Role.INSTITUTION) & (User.institution_id == grant.institution_id))
        | (User.role == Role.FINANCE_BUREAU))).all()
    return sorted(set(rows))


def send_reminders(on: date | None = None) -> list[Reminder]:
    """Mail one reminder per evaluation falling due in 30, 7, 1 or 0 days, or overdue; never twice a day."""
    on = on or today()
    horizon = on + timedelta(days=max(REMIND_DAYS_BEFORE))
    sent: list[Reminder] = []
    with unit_of_work() as s:
        due = s.scalars(select(Evaluation).where(Evaluation.status == EvaluationStatus.SCHEDULED,
                                                 Evaluation.due_date <= horizon)
                        .order_by(Evaluation.due_date, Evaluation.id)).all()
        already = set(s.scalars(select(Reminder.evaluation_id).where(Reminder.sent_on == on)))
        by_recipients: dict[tuple, list[tuple[Evaluation, int]]] = defaultdict(list)
        for ev in due:
            days = (ev.due_date - on).days
            if ev.id in already or (days > 0 and days not in REMIND_DAYS_BEFORE):
                continue
            if ev.grant.status not in SCHEDULABLE:
                continue
            to = tuple(_recipients(ev.grant))
            if to:
                by_recipients[to].append((ev, days))
        for to, items in by_recipients.items():
            lines = []
            for ev, days in items:
                when = (f"还有 {days} 天 / due in {days} days" if days > 0 else
                        "今天到期 / due today" if days == 0 else f"已逾期 {-days} 天 / overdue by {-days} days")
                lines.append(f"- {ev.grant.code} {ev.grant.title}: {KIND_ZH[ev.kind.value]} ({ev.kind.value}) "
                             f"{ev.due_date} — {when}")
                r = Reminder(evaluation_id=ev.id, sent_on=on, recipients=", ".join(to), days_before=days)
                s.add(r)
                sent.append(r)
            s.flush()
            # a failed send rolls the whole run back and the next run tries again: at least once
            send_mail(list(to), f"绩效评价提醒 / evaluation reminder ({len(items)})",
                      "以下绩效评价即将到期或已逾期 / these evaluations are due or overdue:\n\n" + "\n".join(lines))
    return sent
