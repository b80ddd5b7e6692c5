"""Institutions, people, grants and the money flows of the four funding categories."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from grants.db import Base, Money, now


def _enum(cls, name):
    # Store the value (a readable word), not the Python name; native_enum off keeps migrations portable.
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class InstitutionKind(str, enum.Enum):
    UNIVERSITY = "university"            # 高校
    RESEARCH_INSTITUTE = "research_institute"  # 科研院所
    ENTERPRISE = "enterprise"            # 企业
    STATE_OWNED = "state_owned_enterprise"  # 国有企业
    NEW_RD = "new_rd_institution"        # 新型研发机构


class Role(str, enum.Enum):
    INSTITUTION = "institution"
    FINANCE_BUREAU = "finance_bureau"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Category(str, enum.Enum):
    COMPETITIVE = "competitive"          # 竞争性支持
    STABLE = "stable"                    # 稳定支持
    POST_SUBSIDY = "post_subsidy"        # 先立项后补助
    GRANT_TO_EQUITY = "grant_to_equity"  # 拨改投


class FundingMode(str, enum.Enum):
    BUDGETED = "budgeted"  # 预算制
    LUMP_SUM = "lump_sum"  # 包干制


class ManagementMode(str, enum.Enum):
    STANDARD = "standard"                # 竞争择优 / 常规
    DIRECTED = "directed"                # 定向委托
    OPEN_COMPETITION = "open_competition"  # 揭榜挂帅
    MILESTONE = "milestone"              # 里程碑
    HORSE_RACE = "horse_race"            # 赛马制


class GrantStatus(str, enum.Enum):
    DRAFT = "draft"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSING = "closing"
    ACCEPTED = "accepted"
    FAILED = "failed"
    CLOSED = "closed"
    SUSPENDED = "suspended"


class Institution(Base):
    __tablename__ = "institutions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[InstitutionKind] = mapped_column(_enum(InstitutionKind, "institution_kind"))
    credit_code: Mapped[Optional[str]] = mapped_column(String(32), unique=True)  # 统一社会信用代码
    region: Mapped[str] = mapped_column(String(64), default="鄂尔多斯市")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Researcher(Base):
    __tablename__ = "researchers"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)  # for the under-40 rule (001 (八))
    title: Mapped[Optional[str]] = mapped_column(String(50))  # 职称
    salaried: Mapped[bool] = mapped_column(default=True)  # on the host institution's payroll
    institution: Mapped[Institution] = relationship()


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    institution_id: Mapped[Optional[int]] = mapped_column(ForeignKey("institutions.id"), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(200))
    display_name: Mapped[Optional[str]] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout, deactivation and password reset: every browser session signed with an older
    # number stops working on its next request (sessions are cookies; this is what revokes them).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    institution: Mapped[Optional[Institution]] = relationship()

    __table_args__ = (
        CheckConstraint("role <> 'institution' OR institution_id IS NOT NULL", name="institution_user_has_institution"),
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """Only the SHA-256 of a token is stored; the token itself is shown once at creation."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revoked: Mapped[bool] = mapped_column(default=False)
    user: Mapped[User] = relationship()


class Race(Base):
    """赛马制: several teams (grants) funded in parallel; later stages go only to the teams kept."""

    __tablename__ = "races"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    stages: Mapped[list["RaceStage"]] = relationship(order_by="RaceStage.stage_no", back_populates="race")


class RaceStage(Base):
    __tablename__ = "race_stages"
    id: Mapped[int] = mapped_column(primary_key=True)
    race_id: Mapped[int] = mapped_column(ForeignKey("races.id"), index=True)
    stage_no: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="")
    race: Mapped[Race] = relationship(back_populates="stages")
    __table_args__ = (UniqueConstraint("race_id", "stage_no"),)


class RaceSelection(Base):
    """A team chosen to go on into a stage (stage 1 is open to every team in the race)."""

    __tablename__ = "race_selections"
    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("race_stages.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    selected_on: Mapped[date] = mapped_column(Date)
    __table_args__ = (UniqueConstraint("stage_id", "grant_id"),)


class Grant(Base):
    __tablename__ = "grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    pi_id: Mapped[int] = mapped_column(ForeignKey("researchers.id"))
    category: Mapped[Category] = mapped_column(_enum(Category, "grant_category"), index=True)
    funding_mode: Mapped[FundingMode] = mapped_column(_enum(FundingMode, "funding_mode"))
    management_mode: Mapped[ManagementMode] = mapped_column(
        _enum(ManagementMode, "management_mode"), default=ManagementMode.STANDARD)
    fiscal_amount: Mapped[Money]       # 财政资金
    self_raised_amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))  # 自筹资金
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[GrantStatus] = mapped_column(_enum(GrantStatus, "grant_status"), default=GrantStatus.DRAFT,
                                                index=True)
    status_before_suspension: Mapped[Optional[str]] = mapped_column(String(32))
    fund_source: Mapped[str] = mapped_column(String(64), default="municipal")  # 市本级 / 中央引导地方 / …
    pure_theory: Mapped[bool] = mapped_column(default=False)  # pure-theory basic research: higher indirect cap
    race_id: Mapped[Optional[int]] = mapped_column(ForeignKey("races.id"), index=True)
    programme: Mapped[Optional[str]] = mapped_column(String(40))  # 基本科研业务费 / 企业研发后补助 / … (policy data)
    accepted_on: Mapped[Optional[date]] = mapped_column(Date)     # 验收 date as entered on the accept action
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    institution: Mapped[Institution] = relationship()
    pi: Mapped[Researcher] = relationship()
    tranches: Mapped[list["Tranche"]] = relationship(order_by="Tranche.seq", back_populates="grant")
    milestones: Mapped[list["Milestone"]] = relationship(order_by="Milestone.due_date", back_populates="grant")

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="period_ordered"),
        CheckConstraint("fiscal_amount >= 0 AND self_raised_amount >= 0", name="amounts_non_negative"),
    )


class GrantTransition(Base):
    """Who moved a grant through its lifecycle, when and why."""

    __tablename__ = "grant_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))   # who entered it
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)   # when it was entered
    effective_on: Mapped[Optional[date]] = mapped_column(Date)  # when it happened, as entered (e.g. 验收 date)


class MilestoneStatus(str, enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Milestone(Base):
    """里程碑: a stage check that gates the next tranche."""

    __tablename__ = "milestones"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[MilestoneStatus] = mapped_column(_enum(MilestoneStatus, "milestone_status"),
                                                    default=MilestoneStatus.PENDING)
    decided_on: Mapped[Optional[date]] = mapped_column(Date)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    grant: Mapped[Grant] = relationship(back_populates="milestones")


class TrancheStatus(str, enum.Enum):
    PLANNED = "planned"
    PAID = "paid"


class Tranche(Base):
    """拨款: one planned disbursement of fiscal money."""

    __tablename__ = "tranches"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    seq: Mapped[int]
    planned_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Money]
    milestone_id: Mapped[Optional[int]] = mapped_column(ForeignKey("milestones.id"))
    race_stage_id: Mapped[Optional[int]] = mapped_column(ForeignKey("race_stages.id"))
    status: Mapped[TrancheStatus] = mapped_column(_enum(TrancheStatus, "tranche_status"),
                                                  default=TrancheStatus.PLANNED)
    paid_on: Mapped[Optional[date]] = mapped_column(Date)
    grant: Mapped[Grant] = relationship(back_populates="tranches")
    milestone: Mapped[Optional[Milestone]] = relationship()
    race_stage: Mapped[Optional[RaceStage]] = relationship()
    __table_args__ = (UniqueConstraint("grant_id", "seq"), CheckConstraint("amount > 0", name="amount_positive"))


class SubsidyTerms(Base):
    """先立项后补助: the subsidy is min(ratio × eligible self-funded spend, cap), paid only after 验收."""

    __tablename__ = "subsidy_terms"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), unique=True)
    ratio_cap: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    absolute_cap: Mapped[Money]
    programme: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (
        CheckConstraint("ratio_cap > 0 AND ratio_cap <= 1", name="ratio_in_range"),
        CheckConstraint("absolute_cap >= 0", name="cap_non_negative"),
    )


class SubsidyAssessment(Base):
    """The computed subsidy, with the figures that decided it; paying it posts to the ledger."""

    __tablename__ = "subsidy_assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), unique=True)
    eligible_spend: Mapped[Money]
    ineligible_spend: Mapped[Money]
    ratio_cap: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    absolute_cap: Mapped[Money]
    by_ratio: Mapped[Money]
    payable: Mapped[Money]
    explanation: Mapped[dict]
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    paid_on: Mapped[Optional[date]] = mapped_column(Date)
    claimed_amount: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))  # what the institution claimed
    paid_amount: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))     # min(claimed, payable, programme cap)
    payment_explanation: Mapped[Optional[dict]]
    __table_args__ = (
        CheckConstraint("claimed_amount IS NULL OR claimed_amount >= 0", name="claimed_non_negative"),
        CheckConstraint("paid_amount IS NULL OR (paid_amount >= 0 AND paid_amount <= payable)",
                        name="paid_within_payable"),
    )


class EquityInvestment(Base):
    """拨改投: the grant's money held as equity by an entrusted state-asset holder."""

    __tablename__ = "equity_investments"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), unique=True)
    investee_name: Mapped[str] = mapped_column(String(200))
    investee_credit_code: Mapped[Optional[str]] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(200), default="")  # 受托持股机构
    amount: Mapped[Money]
    pre_money_valuation: Mapped[Money]
    shareholding: Mapped[Decimal] = mapped_column(Numeric(12, 10))  # current fraction of the investee
    invested_on: Mapped[date] = mapped_column(Date)
    lock_up_end: Mapped[Optional[date]] = mapped_column(Date)
    conditions: Mapped[dict] = mapped_column(default=dict)  # use-of-funds conditions, conversion terms
    events: Mapped[list["EquityEvent"]] = relationship(order_by="EquityEvent.id", back_populates="investment")
    __table_args__ = (
        CheckConstraint("amount > 0 AND pre_money_valuation > 0", name="amounts_positive"),
    )


class EquityEventKind(str, enum.Enum):
    FOLLOW_ON = "follow_on"   # we invest again in a later round
    DILUTION = "dilution"     # a round we do not join
    BUY_BACK = "buy_back"     # founders buy our shares back
    EXIT = "exit"             # sale to a third party / IPO


class EquityEvent(Base):
    __tablename__ = "equity_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    investment_id: Mapped[int] = mapped_column(ForeignKey("equity_investments.id"), index=True)
    kind: Mapped[EquityEventKind] = mapped_column(_enum(EquityEventKind, "equity_event_kind"))
    event_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))  # money we put in (follow-on)
    round_size: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))
    pre_money_valuation: Mapped[Optional[Decimal]] = mapped_column(Numeric(18, 2))
    fraction_sold: Mapped[Optional[Decimal]] = mapped_column(Numeric(12, 10))  # of our holding
    proceeds: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    shareholding_after: Mapped[Decimal] = mapped_column(Numeric(12, 10))
    note: Mapped[str] = mapped_column(Text, default="")
    investment: Mapped[EquityInvestment] = relationship(back_populates="events")
