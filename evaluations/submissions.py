"""The institution's side of an evaluation: hand in the self-assessment / progress report (what is due is
scheduled by evaluations.service; the bureau records the result)."""
from __future__ import annotations

from sqlalchemy import select

from evaluations.models import OPEN_STATUSES, Evaluation, EvaluationStatus, EvaluationSubmission
from grants.access import require_writer_of
from grants.db import today, unit_of_work
from grants.errors import Conflict, Invalid, NotFound
from grants.extensions import db
from grants.models import User
from grants.registry import get_grant


def submit_self_assessment(evaluation_id: int, summary: str, user: User) -> EvaluationSubmission:
    """Hand in the self-assessment for a due or overdue evaluation of one's own grant, which makes it
    ``submitted`` (a later report while it waits for the bureau is kept too). Auditors: 403; another
    institution's: 404; an evaluation with a result already: 409."""
    summary = (summary or "").strip()
    if not summary:
        raise Invalid("请填写自评内容 / the self-assessment is empty", {"summary": ["required"]})
    if len(summary) > 20000:
        raise Invalid("自评内容过长 / the self-assessment is too long", {"summary": ["at most 20,000 characters"]})
    with unit_of_work() as s:
        ev = db.session.get(Evaluation, evaluation_id)
        if ev is None:
            raise NotFound(f"评价 {evaluation_id} 不存在 / evaluation not found")
        grant = get_grant(ev.grant_id, user)
        require_writer_of(user, grant.institution_id)
        if ev.status not in (*OPEN_STATUSES, EvaluationStatus.SUBMITTED):
            raise Conflict("该评价已有结果，不能再提交 / the evaluation already has a result")
        sub = EvaluationSubmission(evaluation_id=ev.id, submitted_by=user.id, summary=summary)
        s.add(sub)
        if ev.status in OPEN_STATUSES:
            ev.status, ev.submitted_on = EvaluationStatus.SUBMITTED, today()
    return sub


def submissions_for(evaluation_ids: list[int], user: User) -> dict[int, list[EvaluationSubmission]]:
    """The submissions of the given evaluations (the caller got the evaluations through a scoped list)."""
    out: dict[int, list[EvaluationSubmission]] = {i: [] for i in evaluation_ids}
    if not evaluation_ids:
        return out
    rows = db.session.scalars(select(EvaluationSubmission).where(EvaluationSubmission.evaluation_id.in_(evaluation_ids))
                              .order_by(EvaluationSubmission.submitted_at, EvaluationSubmission.id))
    for row in rows:
        out[row.evaluation_id].append(row)
    return out
