"""Scheduled performance evaluations of a grant and the reminders sent about them."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, DateTime, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.db import Base, now
from grants.models import Grant, _enum


class EvaluationKind(str, enum.Enum):
    MID_TERM = "mid_term"                  # 中期评估
    ANNUAL = "annual"                      # 年度进展报告 / 年度绩效
    FINAL_ACCEPTANCE = "final_acceptance"  # 结题验收 / 综合绩效评价


KIND_ZH = {"mid_term": "中期评估", "annual": "年度绩效报告", "final_acceptance": "结题验收"}


class EvaluationStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"


class Evaluation(Base):
    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    kind: Mapped[EvaluationKind] = mapped_column(_enum(EvaluationKind, "evaluation_kind"))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[EvaluationStatus] = mapped_column(_enum(EvaluationStatus, "evaluation_status"),
                                                     default=EvaluationStatus.SCHEDULED)
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
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (UniqueConstraint("evaluation_id", "sent_on"),)


class EvaluationSubmission(Base):
    """What the institution hands in for an evaluation: the self-assessment / progress report (its text)."""

    __tablename__ = "evaluation_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    submitted_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
