"""Read side of expenses for the pages: a filtered, paginated list and one expense with everything around
it (policy version, approvals, ledger entries). Scoped through the same access helpers as the API."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from budgets.models import BudgetAdjustment, Expense
from budgets.expenses import service as compliance
from compliance.models import PolicyVersion
from grants.extensions import db
from grants.ledger import LedgerEntry
from grants.models import User

FILTER_KEYS = ("grant_id", "institution_id", "status", "verdict", "subject", "date_from", "date_to")


def expense_page(user: User, filters: dict, page: int = 1, size: int = 25) -> tuple[list[Expense], int]:
    """One page of the expenses the user may see, newest first, and the total matching the filters."""
    stmt = compliance.list_expenses(user, {k: v for k, v in filters.items() if k in FILTER_KEYS})
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    offset = (max(page, 1) - 1) * size
    if offset >= total:
        return [], total
    rows = db.session.scalars(stmt.order_by(None).order_by(Expense.expense_date.desc(), Expense.id.desc())
                              .limit(size).offset(offset)).all()
    return list(rows), total


@dataclass
class ExpenseDetail:
    expense: Expense
    policy_version: PolicyVersion | None
    ledger_entries: list[LedgerEntry] = field(default_factory=list)
    approvals: list[dict] = field(default_factory=list)


def expense_detail(expense_id: int, user: User) -> ExpenseDetail:
    """The expense (404 for another institution's), the policy version that judged it, its ledger entries
    and its approval trail (submission, the bureau's decision, a reversal)."""
    from grants.models import User as U

    e = compliance.get_expense(expense_id, user)
    version = db.session.get(PolicyVersion, e.policy_version_id) if e.policy_version_id else None
    entries = list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.ref_type == "expense",
                                                               LedgerEntry.ref_id == e.id).order_by(LedgerEntry.seq)))
    names = {}
    for uid in {e.submitted_by, e.decided_by} - {None}:
        u = db.session.get(U, uid)
        names[uid] = (u.display_name or u.username) if u else str(uid)
    approvals = [{"step": "submitted", "who": names.get(e.submitted_by, "—"), "at": e.submitted_at, "reason": ""}]
    if e.decided_at is not None:
        approvals.append({"step": e.status.value, "who": names.get(e.decided_by, "—"), "at": e.decided_at,
                          "reason": e.decision_reason})
    return ExpenseDetail(e, version, entries, approvals)


def adjustments_of(user: User, grant_ids: list[int]) -> list[BudgetAdjustment]:
    """The adjustments of the given grants the user may see (each grant checked by the budgets service)."""
    from budgets.service import list_adjustments

    out = []
    for gid in grant_ids:
        out.extend(list_adjustments(gid, user))
    return sorted(out, key=lambda a: a.id, reverse=True)
