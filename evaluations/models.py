"""Scheduled performance evaluations of a grant and the reminders sent about them."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.db import Base, now
from grants.models import Grant, _enum


class EvaluationKind(str, enum.Enum):
    MID_TERM = "mid_term"                  # 中期评估
    ANNUAL = "annual"                      # 年度进展报告 / 年度绩效
    FINAL_ACCEPTANCE = "final_acceptance"  # 结题验收 / 综合绩效评价
    POST_INVESTMENT_REVIEW = "post_investment_review"  # 拨改投 投后评价


KIND_ZH = {"mid_term": "中期评估", "annual": "年度绩效报告", "final_acceptance": "结题验收",
           "post_investment_review": "投后评价"}
KIND_EN = {"mid_term": "mid-term review", "annual": "annual performance report",
           "final_acceptance": "final acceptance", "post_investment_review": "post-investment review"}


class EvaluationStatus(str, enum.Enum):
    """due → submitted → passed/failed (or waived); due → overdue when the date passes unsubmitted."""

    DUE = "due"
    SUBMITTED = "submitted"
    OVERDUE = "overdue"
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"


OPEN_STATUSES = (EvaluationStatus.DUE, EvaluationStatus.OVERDUE)  # nothing filed yet: reminders go out


class Evaluation(Base):
    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    kind: Mapped[EvaluationKind] = mapped_column(_enum(EvaluationKind, "evaluation_kind"))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[EvaluationStatus] = mapped_column(_enum(EvaluationStatus, "evaluation_status"),
                                                     default=EvaluationStatus.DUE)
    submitted_on: Mapped[Optional[date]] = mapped_column(Date)
    decided_on: Mapped[Optional[date]] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    grant: Mapped[Grant] = relationship()
    __table_args__ = (UniqueConstraint("grant_id", "kind", "due_date"),)


class Reminder(Base):
    """One reminder mail about one evaluation on one day: the log that keeps a rerun from sending twice."""

    __tablename__ = "evaluation_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    sent_on: Mapped[date] = mapped_column(Date)
    recipients: Mapped[str] = mapped_column(Text)
    days_before: Mapped[int]
    stage: Mapped[Optional[str]] = mapped_column(String(32))  # d30, d7, d1, d0, overdue-w0, overdue-w1, …
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (UniqueConstraint("evaluation_id", "sent_on"), UniqueConstraint("evaluation_id", "stage"))


class EvaluationHold(Base):
    """A consequence of an evaluation in force on a grant (policy data in evaluations/policies), until lifted.

    ``effect`` is what it does: block_tranche, block_subsidy, flag_for_bureau, expense_review."""

    __tablename__ = "evaluation_holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    consequence_id: Mapped[str] = mapped_column(String(64))
    effect: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(32), default="needs_approval")
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    policy_hash: Mapped[str] = mapped_column(String(64))
    imposed_on: Mapped[date] = mapped_column(Date)
    lifted_on: Mapped[Optional[date]] = mapped_column(Date)
    lifted_by_evaluation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("evaluations.id"))
    __table_args__ = (UniqueConstraint("evaluation_id", "consequence_id"),)


class EvaluationSubmission(Base):
    """What the institution hands in for an evaluation: the self-assessment / progress report (its text)."""

    __tablename__ = "evaluation_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    submitted_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
