"""What the engine judges: frozen snapshots the service builds from an expense, its grant and budget."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Mapping


@dataclass(frozen=True, slots=True)
class ExpenseFacts:
    expense_date: date
    amount: Decimal
    subject: str
    purpose: str | None
    description: str
    payee_name: str | None
    payee_kind: str | None
    payment_method: str | None
    invoice_no: str | None
    invoice_verified: bool | None
    unit_value: Decimal | None
    quantity: int | None
    platform_registered: bool | None
    expert_title: str | None
    expert_days: Decimal | None
    fund_source: str | None
    # the rulebook's facts (travel, meetings, procurement, labour, partners); absent = not stated
    trip_city: str | None = None
    traveller_rank: str | None = None
    nights: int | None = None
    travel_days: int | None = None
    hotel_invoice: bool | None = None
    lodging_amount: Decimal | None = None
    fare_amount: Decimal | None = None
    meals_provided_days: int | None = None
    meeting_class: str | None = None
    attendees: int | None = None
    meeting_staff: int | None = None
    meeting_days: int | None = None
    procurement_method: str | None = None
    procurement_record_no: str | None = None
    partner_in_task_book: bool | None = None
    partner_share: Decimal | None = None
    fee_basis: str | None = None
    pay_months: int | None = None


@dataclass(frozen=True, slots=True)
class PriorPayment:
    """An earlier stored, non-rejected expense of the same grant to the same payee (splitting, partner shares)."""

    id: int | None              # a stored expense, or None for an earlier row of the same import file
    expense_date: date
    amount: Decimal
    purpose: str | None
    subject: str
    row: int | None = None      # that row's number

    @property
    def label(self) -> str:
        return f"#{self.id}" if self.id is not None else f"row {self.row}"


@dataclass(frozen=True, slots=True)
class LineFacts:
    subject: str
    amount: Decimal
    adjusted: Decimal
    spent: Decimal
    reserved: Decimal

    @property
    def available(self) -> Decimal:
        return self.amount + self.adjusted - self.spent - self.reserved

    @property
    def budgeted(self) -> bool:
        """Whether the budget (with approved adjustments) puts any money on this subject: a line created
        only because money was booked on it (e.g. a 经费预算+负面清单 total-level budget) has none."""
        return self.amount + self.adjusted > 0


@dataclass(frozen=True, slots=True)
class GrantFacts:
    id: int
    category: str
    funding_mode: str
    management_mode: str
    status: str
    start_date: date
    end_date: date
    fund_source: str
    institution_kind: str
    fiscal_amount: Decimal
    disbursed: Decimal          # sum of paid tranches
    spent_total: Decimal        # posted + reserved across all lines, before this expense
    lines: Mapping[str, LineFacts]  # by subject value; empty for post_subsidy
    equity_conditions: Mapping | None = None  # grant_to_equity: agreed use-of-funds conditions
    programme: str | None = None              # 资助计划 code (compliance/data/programmes.yaml)
    reward_total: Decimal = Decimal("0")      # reward (绩效) extraction posted or queued, before this expense
    institution_id: int | None = None         # picks the institution's own tighter policy layer, if any


@dataclass(frozen=True, slots=True)
class BudgetGrant:
    """What :func:`check_budget` needs to know about the grant (any object with these attributes will do)."""

    category: str
    funding_mode: str
    fund_source: str
    pure_theory: bool = False
    institution_kind: str | None = None
    management_mode: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    duplicate_invoice_of: int | None = None    # id of a stored, non-rejected expense with the same invoice
    duplicate_invoice_row: int | None = None   # or the earlier row of the same import file that claimed it
    duplicate_invoice_elsewhere: bool = False   # or an expense the caller may not see (another institution's)
    project_member_names: frozenset[str] = frozenset()
    salaried_staff_names: frozenset[str] = frozenset()
    # earlier expenses of this grant to this payee (by name), oldest first — budgets' service looks them up
    same_payee_before: tuple[PriorPayment, ...] = ()


@dataclass(frozen=True, slots=True)
class BudgetFacts:
    """A budget being set (编制预算): the amount per subject and the fiscal amount it must add up to."""

    lines: Mapping[str, Decimal]    # by subject value
    fiscal_amount: Decimal
