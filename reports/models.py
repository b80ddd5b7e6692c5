"""Tables the reports package owns: figures the bureau records for the seed-policy reports, and job runs.

Reports read every other package's tables but write only these (and ledger checkpoints).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grants.db import Base, Money, now


class RdSpendReport(Base):
    """A state-owned enterprise's R&D spend for one year (for the 150% increment add-back, seed 001 (七))."""

    __tablename__ = "rd_spend_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    year: Mapped[int]
    rd_spend: Mapped[Money]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (UniqueConstraint("institution_id", "year"),
                      CheckConstraint("rd_spend >= 0", name="rd_spend_non_negative"))


class StBudgetYear(Base):
    """The municipal S&T special-fund budget of one year (20% yearly growth target, seed 001 (二十九))."""

    __tablename__ = "st_budget_years"
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    amount: Mapped[Money]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_non_negative"),)


class JobRun(Base):
    """One run of a scheduled job: what it did, or why it failed."""

    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
