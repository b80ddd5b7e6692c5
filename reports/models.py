"""Tables the reports package owns: figures the bureau records for the seed-policy reports, and job runs.

Reports read every other package's tables but write only these (and ledger checkpoints).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import (CheckConstraint, Column, DateTime, Float, ForeignKey, LargeBinary, String, Table, Text, Unicode,
                        UniqueConstraint)
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
    period: Mapped[Optional[str]] = mapped_column(String(32))    # the day or month a scheduled run covers
    trigger: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | manual
    runner: Mapped[str] = mapped_column(String(128), default="")  # host:pid of the process that ran it


class SchedulerLease(Base):
    """On SQLite, who is the scheduler: a lease renewed by heartbeat (PostgreSQL uses an advisory lock)."""

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditExport(Base):
    """One file of a scheduled (or on-demand) audit export, with its SHA-256 as written."""

    __tablename__ = "audit_exports"
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    fmt: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int]
    row_count: Mapped[int]
    seq_to: Mapped[int]
    manifest: Mapped[dict]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (UniqueConstraint("period", "fmt"),)


# APScheduler's SQLAlchemyJobStore table, declared here so the migrations (not the job store) create it; its
# next_run_time is APScheduler's own epoch-seconds float (a time, never money).

apscheduler_jobs = Table(
    "apscheduler_jobs", Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
