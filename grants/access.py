"""Who may read and write what: the one access policy, used by the API, the web pages and the CLI.

``grants.auth`` answers *who is calling*; this module answers *what that caller may do*:

- the finance bureau (and the administrator) sees every institution and alone writes the funder's
  objects (``require_funder``: tranches and their gates, milestones, races, subsidy terms, equity; also
  evaluations, adjustment and expense decisions, the reports' figures);
- institution staff see and write only their own institution's rows — another's answer 404, as if
  absent (``scope``, ``visible_to``) — and alone book and import expenses (``may_submit_expense``);
- auditors read everything and write nothing, except the read-only dry run of an expense
  (``may_dry_run``). On the API the refusal comes before the request body is read
  (``refuse_read_only_writes``, installed on every API blueprint), and every service refuses again.
"""
from __future__ import annotations

from flask import current_app, request

from grants.auth import token_user
from grants.errors import Forbidden, NotFound
from grants.models import Role, User

BUREAU_ROLES = (Role.FINANCE_BUREAU, Role.ADMIN)
REPORT_READERS = (Role.FINANCE_BUREAU, Role.AUDITOR, Role.ADMIN)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# --------------------------------------------------------------------------- reading
def visible_to(user: User, institution_id: int | None) -> bool:
    """Whether the caller may see a row of this institution."""
    return user.role != Role.INSTITUTION or user.institution_id == institution_id


def confined_to(user: User) -> int | None:
    """The one institution whose rows the caller is confined to (institution staff), or None (sees all)."""
    return user.institution_id if user.role == Role.INSTITUTION else None


def scope(stmt, institution_column, user: User):
    """Restrict a select to the caller's institution when the caller is institution staff."""
    if user.role == Role.INSTITUTION:
        return stmt.where(institution_column == user.institution_id)
    return stmt


def is_bureau(user: User) -> bool:
    return user.role in BUREAU_ROLES


def may_read_reports(user: User) -> bool:
    """The bureau's and auditors' reports (and the approval queue) cover every institution: not for
    institution staff."""
    return user.role in REPORT_READERS


def require_report_reader(user: User) -> None:
    if not may_read_reports(user):
        raise Forbidden("仅财政/科技主管部门和审计人员可查看 / only the finance bureau and auditors may read this")


# --------------------------------------------------------------------------- writing
def is_writer(user: User) -> bool:
    """Auditors are read-only; everyone else may write something (what, the other checks say)."""
    return user.role != Role.AUDITOR


def require_writer(user: User) -> None:
    """Any write at all: auditors are read-only."""
    if not is_writer(user):
        raise Forbidden("审计人员为只读角色 / auditors are read-only")


def require_writer_of(user: User, institution_id: int | None) -> None:
    """Write a row of this institution: not an auditor, and (for institution staff) their own."""
    require_writer(user)
    if not visible_to(user, institution_id):
        raise NotFound("记录不存在 / not found")


def require_bureau(user: User, action: str) -> None:
    """Only the finance bureau (or the administrator) may do ``action`` (Chinese, for the message)."""
    if user.role not in BUREAU_ROLES:
        raise Forbidden(f"只有财政/科技主管部门可以{action} / only the finance bureau may do this")


def require_funder(user: User, action: str) -> None:
    """The funder's objects — tranches (their amounts, dates and gates: milestone, race stage), milestones
    and their decisions, races and selections, subsidy terms, equity — are written by the finance bureau
    (or the administrator) only. Institution staff read them (their own) and never set the gate that
    releases their own money (``PATCH …/tranches/{t} {"milestone_id": null}`` is a 403)."""
    require_bureau(user, action)


def require_recorder(user: User) -> None:
    """Figures the bureau records for the reports (R&D spend, S&T budget years, checkpoints)."""
    if user.role not in BUREAU_ROLES:
        raise Forbidden("仅财政/科技主管部门可登记 / only the finance bureau records these figures")


def require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden("仅系统管理员可操作 / only the administrator may do this")


def may_submit_expense(user: User) -> bool:
    """Who books and imports expenses (API, web page, CLI): the institution's own staff — the spender
    records its spending; the bureau judges it, it does not book it."""
    return user.role == Role.INSTITUTION and user.institution_id is not None


def require_expense_submitter(user: User) -> None:
    require_writer(user)
    if not may_submit_expense(user):
        raise Forbidden("只有项目承担单位可以登记或导入支出 / only the institution's staff book or import expenses")


def may_dry_run(user: User) -> bool:
    """The dry run judges an expense and records nothing: every role may ask, auditors included."""
    return True


# --------------------------------------------------------------------------- the API's write gate
def dry_run(view):
    """Mark an API view method as a read-only dry run (allowed to every role ``may_dry_run``)."""
    view.dry_run = True
    return view


def _is_dry_run_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    method = getattr(view_class, request.method.lower(), None) if view_class else view
    return bool(getattr(method, "dry_run", False))


def refuse_read_only_writes() -> None:
    """Before-request check of every API blueprint: an auditor's write is refused with 403 before the body
    is parsed (the services refuse again, for the web pages and the CLI)."""
    if request.method not in WRITE_METHODS:
        return
    user = token_user()
    if user is None:
        return
    if _is_dry_run_view() and may_dry_run(user):
        return
    require_writer(user)
