"""The bureau's queues at scale: pending expenses filtered (institution, grant, rule, verdict, amount, age),
sorted and counted in SQL; decisions on many at once with one reason; pending 预算调剂 by approver level.

Each decision is its own unit of work (``decide_expense``), so one expense the budget can no longer carry
does not undo the others: the result says which were decided and why the rest were not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import exists, func, literal, select

from budgets.expenses.service import approval_queue, decide_expense
from budgets.models import AdjustmentStatus, BudgetAdjustment, Expense, Verdict
from grants.access import is_bureau, require_report_reader, scope
from grants.db import now
from grants.errors import DomainError, Invalid
from grants.extensions import db
from grants.models import Grant, User

SORTS = {"age": (Expense.submitted_at, Expense.id), "amount": (Expense.amount, Expense.id),
         "date": (Expense.expense_date, Expense.id), "id": (Expense.id,)}
BULK_LIMIT = 500


def has_rule(rule_id: str):
    """EXISTS a finding of ``rule_id`` in the expense's findings JSON (the backend's JSON table function)."""
    if db.session.get_bind().dialect.name == "postgresql":
        fe = func.json_array_elements(Expense.findings).table_valued("value")
        rid = fe.c.value.op("->>")("rule_id")
    else:
        fe = func.json_each(Expense.findings).table_valued("value")
        rid = func.json_extract(fe.c.value, "$.rule_id")
    return exists(select(literal(1)).select_from(fe).where(rid == rule_id))


def filtered_queue(user: User, filters: dict):
    """Pending expenses the user may see, filtered and sorted: ``institution_id``, ``grant_id``, ``rule_id``,
    ``verdict``, ``amount_min``, ``amount_max``, ``min_age_days`` / ``max_age_days`` (since submission),
    ``sort`` (age | amount | date | id) and ``desc``."""
    require_report_reader(user)
    stmt = approval_queue(user).order_by(None)
    if filters.get("institution_id") is not None:
        stmt = stmt.where(Expense.institution_id == filters["institution_id"])
    if filters.get("grant_id") is not None:
        stmt = stmt.where(Expense.grant_id == filters["grant_id"])
    if filters.get("verdict"):
        stmt = stmt.where(Expense.verdict == Verdict(filters["verdict"]))
    if filters.get("rule_id"):
        stmt = stmt.where(has_rule(filters["rule_id"]))
    if filters.get("amount_min") is not None:
        stmt = stmt.where(Expense.amount >= filters["amount_min"])
    if filters.get("amount_max") is not None:
        stmt = stmt.where(Expense.amount <= filters["amount_max"])
    if filters.get("min_age_days") is not None:
        stmt = stmt.where(Expense.submitted_at <= now() - timedelta(days=filters["min_age_days"]))
    if filters.get("max_age_days") is not None:
        stmt = stmt.where(Expense.submitted_at >= now() - timedelta(days=filters["max_age_days"]))
    cols = SORTS.get(filters.get("sort") or "age", SORTS["age"])
    return stmt.order_by(*[c.desc() if filters.get("desc") else c for c in cols])


def queue_page(user: User, filters: dict, page: int = 1, size: int = 50) -> tuple[list[Expense], int, Decimal]:
    """One page of the filtered queue, the number of matches and their total amount."""
    stmt = filtered_queue(user, filters)
    sub = stmt.order_by(None).subquery()
    total, amount = db.session.execute(select(func.count(), func.coalesce(func.sum(sub.c.amount), 0))).one()
    rows = db.session.scalars(stmt.limit(size).offset((page - 1) * size)).all()
    return rows, total, Decimal(str(amount)).quantize(Decimal("0.01"))


def queue_rules(user: User) -> list[str]:
    """The rule ids found on pending expenses (the rule filter's choices)."""
    require_report_reader(user)
    d = db.session.get_bind().dialect.name
    if d == "postgresql":
        fe = func.json_array_elements(Expense.findings).table_valued("value", joins_implicitly=True)
        rid = fe.c.value.op("->>")("rule_id")
    else:
        fe = func.json_each(Expense.findings).table_valued("value", joins_implicitly=True)
        rid = func.json_extract(fe.c.value, "$.rule_id")
    pending = approval_queue(user).order_by(None).with_only_columns(Expense.id, Expense.findings).subquery()
    stmt = (select(rid.label("rule_id")).select_from(Expense).join(fe, literal(True))
            .where(Expense.id.in_(select(pending.c.id))).distinct())
    return sorted(r for r in db.session.scalars(stmt) if r)


@dataclass
class BulkResult:
    decided: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def decide_many(expense_ids: list[int], approve: bool, reason: str, user: User) -> BulkResult:
    """Approve or reject many queued expenses with one reason; each is decided (and may fail) on its own."""
    if not reason.strip():
        raise Invalid("审批须填写意见 / a reason is required", {"reason": ["required"]})
    ids = list(dict.fromkeys(int(i) for i in expense_ids))
    if not ids:
        raise Invalid("未选择支出 / no expense selected", {"ids": ["select at least one"]})
    if len(ids) > BULK_LIMIT:
        raise Invalid(f"一次最多审批 {BULK_LIMIT} 笔 / at most {BULK_LIMIT} at once", {"ids": ["too many"]})
    result = BulkResult()
    for i in ids:
        try:
            decide_expense(i, approve, reason, user)
            result.decided.append(i)
        except DomainError as e:
            if e.status == 403:
                raise
            result.failed[i] = e.message
    return result


def needs_adjustment(expense: Expense) -> bool:
    """An expense the budget line cannot carry: its findings include a budget-availability finding."""
    return any(f.get("kind") in ("budget_availability", "subject_not_in_budget") for f in (expense.findings or []))


def adjustment_queue(user: User, level: str | None = None):
    """Pending 预算调剂 across grants, oldest first, optionally of one approver level (institution | funder)."""
    require_report_reader(user)
    stmt = (select(BudgetAdjustment).join(Grant, Grant.id == BudgetAdjustment.grant_id)
            .where(BudgetAdjustment.status == AdjustmentStatus.PENDING)
            .order_by(BudgetAdjustment.requested_at, BudgetAdjustment.id))
    stmt = scope(stmt, Grant.institution_id, user)
    if level:
        stmt = stmt.where(BudgetAdjustment.approver_level == level)
    return stmt


def adjustment_counts(user: User) -> dict[str, int]:
    """Pending adjustments per approver level."""
    sub = adjustment_queue(user).order_by(None).subquery()
    return dict(db.session.execute(select(sub.c.approver_level, func.count()).group_by(sub.c.approver_level)).all())


def may_decide(user: User) -> bool:
    return is_bureau(user)
