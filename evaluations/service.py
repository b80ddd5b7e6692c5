"""Use cases: schedule a grant's evaluations, record their results, remind people of what is due."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from compliance import policy as policy_store
from evaluations import consequences
from evaluations.models import (KIND_EN, KIND_ZH, OPEN_STATUSES, Evaluation, EvaluationHold, EvaluationKind,
                                EvaluationStatus, Reminder)
from evaluations.schedule import add_months, due_dates
from grants import mail
from grants.access import require_bureau, require_writer_of, scope
from grants.db import today, unit_of_work
from grants.errors import Conflict, NotFound
from grants.extensions import db
from grants.models import Category, Grant, GrantStatus, Role, User
from grants.registry import get_grant

ACCEPTANCE_MONTHS_DEFAULT = 6
ES = EvaluationStatus
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
    plan = due_dates(grant.start_date, grant.end_date, _acceptance_months(grant.start_date))
    if grant.category == Category.GRANT_TO_EQUITY:  # 拨改投: the periodic post-investment review
        every, k, last = consequences.policy().post_investment_every_months, 1, plan[-1][1]
        while (due := add_months(grant.start_date, every * k)) <= last:
            plan.append((EvaluationKind.POST_INVESTMENT_REVIEW, due))
            k += 1
    for kind, due in plan:
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
    """The scheduler's part: every approved or running grant not yet scheduled gets its evaluations (idempotent;
    a grant's period is fixed once approved, so a scheduled grant is not looked at again)."""
    with unit_of_work() as s:
        scheduled = select(Evaluation.id).where(Evaluation.grant_id == Grant.id).exists()
        grants = s.scalars(select(Grant).where(Grant.status.in_(SCHEDULABLE), ~scheduled).order_by(Grant.id)).all()
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


def submit_evaluation(evaluation_id: int, user: User, note: str = "", on: date | None = None) -> Evaluation:
    """The institution files its report: due or overdue → submitted (an overdue hold stays until it passes)."""
    with unit_of_work():
        ev = _get(evaluation_id, user)
        require_writer_of(user, ev.grant.institution_id)
        if ev.status not in OPEN_STATUSES:
            raise Conflict(f"评价状态为 {ev.status.value}，不能提交 / evaluation is {ev.status.value}, not due",
                           {"status": [ev.status.value]})
        ev.status, ev.submitted_on = ES.SUBMITTED, on or today()
        if note:
            ev.note = note
    return ev


def _get(evaluation_id: int, user: User) -> Evaluation:
    ev = db.session.get(Evaluation, evaluation_id)
    if ev is None:
        raise NotFound(f"评价 {evaluation_id} 不存在 / evaluation not found")
    get_grant(ev.grant_id, user)
    return ev


RESULTS = (ES.PASSED, ES.FAILED, ES.WAIVED)


def record_result(evaluation_id: int, status: EvaluationStatus, note: str, user: User,
                  decided_on: date | None = None) -> Evaluation:
    """The bureau's result. Failed imposes the policy's consequences; passed (or waived) lifts those of its kind."""
    require_bureau(user, "记录评价结果")
    with unit_of_work() as s:
        ev = _get(evaluation_id, user)
        if ev.status in RESULTS:
            raise Conflict(f"评价已有结果（{ev.status.value}）/ already {ev.status.value}")
        if status not in RESULTS:
            raise Conflict("结果须为 passed、failed 或 waived / a result is passed, failed or waived",
                           {"status": ["not a result"]})
        ev.status, ev.note, ev.decided_on = status, note, decided_on or today()
        if status == ES.FAILED:
            for h in consequences.impose(ev, "failed", ev.decided_on):
                _tell_bureau(s, h)
        else:
            consequences.lift(ev, ev.decided_on)
    return ev


def _tell_bureau(s, hold: EvaluationHold) -> None:
    if hold.effect != "flag_for_bureau":
        return
    g = db.session.get(Grant, hold.grant_id)
    mail.enqueue(s, f"flag:{hold.id}", mail.role_addresses(Role.FINANCE_BUREAU, Role.ADMIN),
                 f"课题列入关注名单 / grant flagged: {g.code}",
                 f"{g.code} {g.title}\n{hold.reason_zh}\n{hold.reason_en}\n依据 / source: {hold.source}\n"
                 f"{_link(g)}")


def mark_overdue(on: date | None = None) -> list[Evaluation]:
    """Evaluations past their date with nothing filed become overdue, with their consequences (idempotent)."""
    on = on or today()
    with unit_of_work() as s:
        late = s.scalars(select(Evaluation).where(Evaluation.status == ES.DUE, Evaluation.due_date < on)
                         .order_by(Evaluation.id)).all()
        for ev in late:
            ev.status = ES.OVERDUE
            for h in consequences.impose(ev, "overdue", on):
                _tell_bureau(s, h)
    return list(late)


def _recipients(grant: Grant, escalate: bool) -> list[str]:
    """The institution's staff (the PI's side), and the bureau too once the evaluation is overdue."""
    roles = (User.role == Role.INSTITUTION) & (User.institution_id == grant.institution_id)
    if escalate:
        roles = roles | (User.role == Role.FINANCE_BUREAU)
    rows = db.session.scalars(select(User.email).where(User.active.is_(True), User.email.is_not(None),
                                                       User.email != "", roles)).all()
    return sorted(set(rows))


def reminder_stage(due: date, on: date) -> tuple[str, int] | None:
    """The latest reminder stage reached on ``on`` (and the days before the date, negative once late).

    30, 7 and 1 days before and on the day (policy data), then weekly while overdue: a day missed while the
    scheduler was down is caught up by the next run, once, because each stage is recorded."""
    p = consequences.policy()
    days = (due - on).days
    if days >= 0:
        reached = [d for d in p.reminder_days_before if d >= days]
        return (f"d{min(reached)}", days) if reached else None
    week = (-days - 1) // p.overdue_every_days
    return f"overdue-w{week}", days


def _link(grant: Grant) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/grants/{grant.id}"


def _message(ev: Evaluation, days: int) -> tuple[str, str]:
    g = ev.grant
    kind_zh, kind_en = KIND_ZH[ev.kind.value], KIND_EN[ev.kind.value]
    if days > 0:
        when_zh, when_en = f"还有 {days} 天到期", f"due in {days} days"
    elif days == 0:
        when_zh, when_en = "今天到期", "due today"
    else:
        when_zh, when_en = f"已逾期 {-days} 天", f"overdue by {-days} days"
    subject = f"绩效评价提醒：{g.code} {kind_zh}{when_zh} / evaluation reminder: {kind_en} {when_en}"
    body = (f"{g.code}《{g.title}》的{kind_zh}须于 {ev.due_date} 前提交，{when_zh}。\n"
            f"请登录系统提交：{_link(g)}（接口 POST /api/v1/evaluations/{ev.id}/submission）\n"
            + ("逾期已抄送主管部门，并按评价后果政策处理。\n" if days < 0 else "")
            + f"\nThe {kind_en} of grant {g.code} \"{g.title}\" is due by {ev.due_date}: {when_en}.\n"
            f"File it at {_link(g)} (API: POST /api/v1/evaluations/{ev.id}/submission).\n"
            + ("Overdue: the finance bureau is copied and the consequence policy applies.\n" if days < 0 else ""))
    return subject, body


def send_reminders(on: date | None = None) -> list[Reminder]:
    """Queue one reminder per open evaluation per stage reached (never twice); escalate overdue ones to the
    bureau. Each reminder and its outbox message are written in one transaction; the outbox delivers them."""
    on = on or today()
    sent: list[Reminder] = []
    with unit_of_work() as s:
        open_ = s.scalars(select(Evaluation).join(Grant, Grant.id == Evaluation.grant_id)
                          .where(Evaluation.status.in_(OPEN_STATUSES), Grant.status.in_(SCHEDULABLE))
                          .order_by(Evaluation.due_date, Evaluation.id)).all()
        ids = [e.id for e in open_]
        done = {(r.evaluation_id, r.stage) for i in range(0, len(ids), 500) for r in s.execute(
            select(Reminder.evaluation_id, Reminder.stage).where(Reminder.evaluation_id.in_(ids[i:i + 500])))}
        sent_today = set(s.scalars(select(Reminder.evaluation_id).where(Reminder.sent_on == on)))
        for ev in open_:
            stage = reminder_stage(ev.due_date, on)
            if stage is None or (ev.id, stage[0]) in done or ev.id in sent_today:
                continue
            name, days = stage
            to = _recipients(ev.grant, escalate=days < 0 and consequences.policy().escalate_when_overdue)
            if not to:
                continue
            subject, body = _message(ev, days)
            mail.enqueue(s, f"reminder:{ev.id}:{name}", to, subject, body)
            r = Reminder(evaluation_id=ev.id, sent_on=on, recipients=", ".join(to), days_before=days, stage=name)
            s.add(r)
            sent.append(r)
        s.flush()
    return sent


def run_daily(on: date | None = None) -> dict:
    """The scheduler's evaluation job: schedule, mark overdue (with consequences), queue reminders, deliver."""
    on = on or today()
    added = schedule_all()
    late = mark_overdue(on)
    reminders = send_reminders(on)
    delivered = mail.deliver_due()
    return {"scheduled": added, "overdue": len(late), "reminders": len(reminders), **delivered}


def list_holds(user: User, grant_id: int | None = None, active: bool = True):
    """Holds on grants (institution staff see their own); the bureau's flagged list is effect=flag_for_bureau."""
    stmt = select(EvaluationHold).join(Grant, Grant.id == EvaluationHold.grant_id).order_by(EvaluationHold.id)
    stmt = scope(stmt, Grant.institution_id, user)
    if grant_id is not None:
        stmt = stmt.where(EvaluationHold.grant_id == grant_id)
    if active:
        stmt = stmt.where(EvaluationHold.lifted_on.is_(None))
    return stmt
