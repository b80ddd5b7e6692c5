"""Budget lines, adjustments between subjects, and expenses with their verdicts."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import (BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Numeric, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from budgets.expenses import fields as expense_fields
from compliance.vocabulary import Subject, Verdict  # the engine owns these vocabularies
from grants.db import Base, Money, now
from grants.models import Grant, _enum


DIRECT_SUBJECTS = (Subject.EQUIPMENT, Subject.OPERATIONS, Subject.LABOUR)
SUBJECT_ZH = dict(expense_fields.SUBJECTS)  # subject → its Chinese name, from the one vocabulary


class BudgetLine(Base):
    """One subject's money on a grant.

    ``spent`` and ``reserved`` are running totals kept in the same transaction as the expense that
    moves them, under a row lock, so "is there money left?" is one locked row read, not a SUM.
    """

    __tablename__ = "budget_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    subject: Mapped[Subject] = mapped_column(_enum(Subject, "budget_subject"))
    amount: Mapped[Money]                                         # approved budget
    adjusted: Mapped[Money] = mapped_column(default=Decimal("0"))  # net approved 调剂
    spent: Mapped[Money] = mapped_column(default=Decimal("0"))
    reserved: Mapped[Money] = mapped_column(default=Decimal("0"))  # expenses awaiting approval
    note: Mapped[str] = mapped_column(Text, default="")
    grant: Mapped[Grant] = relationship()

    __table_args__ = (
        UniqueConstraint("grant_id", "subject"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("spent >= 0 AND reserved >= 0", name="usage_non_negative"),
    )

    @property
    def available(self) -> Decimal:
        return self.amount + self.adjusted - self.spent - self.reserved


class AdjustmentStatus(str, enum.Enum):
    RECORDED = "recorded"   # PI may make it alone: takes effect at once
    PENDING = "pending"     # waits for approval
    APPROVED = "approved"
    REJECTED = "rejected"


class BudgetAdjustment(Base):
    """预算调剂: move money from one subject to another."""

    __tablename__ = "budget_adjustments"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    from_subject: Mapped[Subject] = mapped_column(_enum(Subject, "budget_subject"))
    to_subject: Mapped[Subject] = mapped_column(_enum(Subject, "budget_subject"))
    amount: Mapped[Money]
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[AdjustmentStatus] = mapped_column(_enum(AdjustmentStatus, "adjustment_status"))
    approver_level: Mapped[str] = mapped_column(String(32))  # pi | institution | funder
    rule_id: Mapped[Optional[str]] = mapped_column(String(64))
    requested_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class ExpenseStatus(str, enum.Enum):
    PENDING = "pending"     # needs_approval: waits in the bureau's queue, money reserved
    POSTED = "posted"       # on the books
    REJECTED = "rejected"   # refused by a rule or by the bureau; kept so violations stay visible
    REVERSED = "reversed"   # posted, then undone by a reversal entry


class Expense(Base):
    __tablename__ = "expenses"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    expense_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Money]
    subject: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[Optional[str]] = mapped_column(String(40))  # materials, travel, fine, gift_card, …
    description: Mapped[str] = mapped_column(Text, default="")
    payee_name: Mapped[Optional[str]] = mapped_column(String(200))
    payee_kind: Mapped[Optional[str]] = mapped_column(String(32))
    payment_method: Mapped[Optional[str]] = mapped_column(String(32))
    invoice_no: Mapped[Optional[str]] = mapped_column(String(64))
    invoice_verified: Mapped[Optional[bool]]
    unit_value: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))
    quantity: Mapped[Optional[int]]
    platform_registered: Mapped[Optional[bool]]
    expert_title: Mapped[Optional[str]] = mapped_column(String(32))
    expert_days: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 1))
    fund_source: Mapped[Optional[str]] = mapped_column(String(64))
    researcher_id: Mapped[Optional[int]] = mapped_column(ForeignKey("researchers.id"))  # who benefits (youth rule)
    # the facts of the rulebook (travel, meetings, procurement, labour, partners): fields.py, migration 0004_rulebook
    trip_city: Mapped[Optional[str]] = mapped_column(String(32))
    traveller_rank: Mapped[Optional[str]] = mapped_column(String(16))
    nights: Mapped[Optional[int]]
    travel_days: Mapped[Optional[int]]
    hotel_invoice: Mapped[Optional[bool]]
    lodging_amount: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))
    fare_amount: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))
    meals_provided_days: Mapped[Optional[int]]
    meeting_class: Mapped[Optional[str]] = mapped_column(String(16))
    attendees: Mapped[Optional[int]]
    meeting_staff: Mapped[Optional[int]]
    meeting_days: Mapped[Optional[int]]
    procurement_method: Mapped[Optional[str]] = mapped_column(String(32))
    procurement_record_no: Mapped[Optional[str]] = mapped_column(String(64))
    partner_in_task_book: Mapped[Optional[bool]]
    partner_share: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))
    fee_basis: Mapped[Optional[str]] = mapped_column(String(8))
    pay_months: Mapped[Optional[int]]

    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict, "verdict"))
    findings: Mapped[list] = mapped_column(default=list)
    policy_version_id: Mapped[Optional[int]] = mapped_column(ForeignKey("policy_versions.id"))
    status: Mapped[ExpenseStatus] = mapped_column(_enum(ExpenseStatus, "expense_status"))
    subsidy_eligible: Mapped[Optional[bool]]

    # unique per submitting user; the fingerprint (SHA-256 of the canonical request) tells a retry from a
    # different request reusing the key
    idempotency_key: Mapped[Optional[str]] = mapped_column(String(128))
    idempotency_fingerprint: Mapped[Optional[str]] = mapped_column(String(64))
    import_key: Mapped[Optional[str]] = mapped_column(String(96), unique=True)  # file hash + row number
    submitted_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))

    grant: Mapped[Grant] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_expenses_grant_date", "grant_id", "expense_date"),
        Index("ix_expenses_institution_status", "institution_id", "status"),
        Index("ix_expenses_invoice", "invoice_no"),
        UniqueConstraint("submitted_by", "idempotency_key", name="uq_expenses_submitted_by_idempotency_key"),
        # the approval queue (keyset on submitted_at, id) and its age report read only the pending rows
        Index("ix_expenses_pending", "submitted_at", "id", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'"), postgresql_include=["amount", "institution_id"]),
        Index("ix_expenses_institution_pending", "institution_id", "submitted_at", "id",
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        Index("ix_expenses_institution_id", "institution_id", "id"),
        Index("ix_expenses_grant_payee", "grant_id", "payee_name"),   # the splitting / partner look-ups
    )


class ExpenseTotal(Base):
    """Expenses and their amount (in fen) per day, institution, grant category, verdict and status.

    Maintained by database triggers on ``expenses`` (migration 0011_expense_totals: every insert, update
    and delete, whatever wrote it — API, import, a script), so the compliance overview reads a few
    thousand rows instead of every expense. Read-only for the application.
    """

    __tablename__ = "expense_totals"
    expense_date: Mapped[date] = mapped_column(Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    expenses: Mapped[int] = mapped_column(BigInteger)
    cents: Mapped[int] = mapped_column(BigInteger)


class ExpenseRuleTotal(Base):
    """Expenses (counted once per rule) with a finding of each rule, per day, institution and verdict;
    maintained by the same triggers from the findings of each expense."""

    __tablename__ = "expense_rule_totals"
    expense_date: Mapped[date] = mapped_column(Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(32), primary_key=True)
    expenses: Mapped[int] = mapped_column(BigInteger)
    cents: Mapped[int] = mapped_column(BigInteger)
