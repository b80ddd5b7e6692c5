"""The grant's lifecycle: the transitions, who may make them, and the guards other packages add."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from grants.access import require_bureau, require_writer_of
from grants.db import today, unit_of_work
from grants.errors import IllegalTransition, Invalid, NotFound
from grants.models import Grant, GrantStatus, GrantTransition, User
from grants.registry import get_grant

S = GrantStatus


@dataclass(frozen=True)
class Transition:
    sources: tuple[GrantStatus, ...]
    target: GrantStatus | None  # None: back to the status before suspension
    bureau_only: bool
    zh: str


TRANSITIONS: dict[str, Transition] = {
    "approve": Transition((S.DRAFT,), S.APPROVED, True, "批准立项"),
    "activate": Transition((S.APPROVED,), S.ACTIVE, True, "启动执行"),
    "suspend": Transition((S.ACTIVE, S.CLOSING), S.SUSPENDED, True, "暂停"),
    "resume": Transition((S.SUSPENDED,), None, True, "恢复"),
    "request_acceptance": Transition((S.ACTIVE,), S.CLOSING, False, "申请结题验收"),
    "accept": Transition((S.CLOSING,), S.ACCEPTED, True, "验收通过"),
    "fail": Transition((S.CLOSING, S.SUSPENDED), S.FAILED, True, "验收不通过/终止"),
    "close": Transition((S.ACCEPTED, S.FAILED), S.CLOSED, True, "结项"),
}

# Other packages add preconditions (e.g. budgets: "the budget must equal the fiscal amount before
# approval") without the registry importing them.
TransitionGuard = Callable[[Grant], None]
_guards: dict[str, list[TransitionGuard]] = {}


def register_transition_guard(action: str, guard: TransitionGuard) -> None:
    if guard not in _guards.setdefault(action, []):
        _guards[action].append(guard)


DATED_ACTIONS = ("accept", "fail")   # the 验收 outcome: the date it took place is entered, not assumed


def transition(grant_id: int, action: str, user: User, reason: str = "", effective_on: date | None = None) -> Grant:
    """Move a grant through its lifecycle. ``effective_on`` (accept/fail): the date the acceptance took place,
    as entered — recorded on the transition with who entered it; defaults to today."""
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise NotFound(f"未知操作 {action} / unknown action {action}")
    if effective_on is not None and action not in DATED_ACTIONS:
        raise Invalid(f"只有验收（accept/fail）可以填写日期 / effective_on applies to {', '.join(DATED_ACTIONS)} only",
                      {"effective_on": [f"only for {', '.join(DATED_ACTIONS)}"]})
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        require_writer_of(user, grant.institution_id)
        if rule.bureau_only:
            require_bureau(user, rule.zh)
        if grant.status not in rule.sources:
            allowed = ", ".join(x.value for x in rule.sources)
            raise IllegalTransition(
                f"课题当前状态为 {grant.status.value}，不能{rule.zh}（仅允许从 {allowed}）/ "
                f"cannot {action} a grant in status {grant.status.value}; {action} is allowed only from {allowed}",
                {"status": [grant.status.value]}, allowed_from=[x.value for x in rule.sources])
        when = None
        if action in DATED_ACTIONS:
            when = effective_on or today()
            if when > today() or when < grant.start_date:
                raise Invalid(f"验收日期 {when} 须在课题开始日 {grant.start_date} 与今天之间 / the acceptance date must "
                              f"lie between the grant's start {grant.start_date} and today",
                              {"effective_on": ["not between the grant's start and today"]})
        for guard in _guards.get(action, []):
            guard(grant)
        old = grant.status
        if rule.target is None:
            target = S(grant.status_before_suspension or S.ACTIVE.value)
            grant.status_before_suspension = None
        else:
            target = rule.target
            if target == S.SUSPENDED:
                grant.status_before_suspension = old.value
        grant.status = target
        if action == "accept":
            grant.accepted_on = when
        s.add(GrantTransition(grant_id=grant.id, action=action, from_status=old.value, to_status=target.value,
                              user_id=user.id, reason=reason, effective_on=when))
    return grant
