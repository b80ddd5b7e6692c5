"""The ledger browser's reads: filtered pages of entries and one entry with its source record.
Readers only (bureau, auditors, administrators): the same check as the ledger exports and reports."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from grants.errors import Invalid, NotFound
from grants.extensions import db
from grants.ledger import LedgerEntry
from grants.models import Grant, User
from grants.access import require_report_reader as require_reader

FILTERS = ("institution_id", "grant_id", "category", "entry_type", "date_from", "date_to")


def _filtered(filters: dict):
    stmt = select(LedgerEntry)
    for key in ("institution_id", "grant_id", "category", "entry_type"):
        if filters.get(key) not in (None, ""):
            stmt = stmt.where(getattr(LedgerEntry, key) == filters[key])
    df, dt = filters.get("date_from"), filters.get("date_to")
    if df and dt and df > dt:
        raise Invalid("起止日期颠倒 / date_from is after date_to", {"date_from": ["after date_to"]})
    if df:
        stmt = stmt.where(LedgerEntry.entry_date >= df)
    if dt:
        stmt = stmt.where(LedgerEntry.entry_date <= dt)
    return stmt


def ledger_page(user: User, filters: dict, page: int = 1, size: int = 50) -> tuple[list[LedgerEntry], int]:
    require_reader(user)
    stmt = _filtered(filters)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    offset = (max(page, 1) - 1) * size
    if offset >= total:
        return [], total
    return list(db.session.scalars(stmt.order_by(LedgerEntry.seq.desc()).limit(size).offset(offset))), total


@dataclass
class EntryDetail:
    entry: LedgerEntry
    grant: Grant | None
    source: object | None        # the expense, tranche, … the entry records
    source_kind: str
    previous: LedgerEntry | None
    reverses: LedgerEntry | None


def _source(ref_type: str, ref_id: int):
    from budgets.models import BudgetAdjustment, Expense
    from grants.models import SubsidyAssessment
    from grants.models import EquityEvent, EquityInvestment, Tranche

    model = {"expense": Expense, "tranche": Tranche, "subsidy": SubsidyAssessment,
             "subsidy_assessment": SubsidyAssessment, "equity_investment": EquityInvestment,
             "equity_event": EquityEvent, "adjustment": BudgetAdjustment,
             "budget_adjustment": BudgetAdjustment}.get(ref_type)
    return db.session.get(model, ref_id) if model else None


def entry_detail(seq: int, user: User) -> EntryDetail:
    require_reader(user)
    entry = db.session.get(LedgerEntry, seq)
    if entry is None:
        raise NotFound(f"总账分录 {seq} 不存在 / ledger entry {seq} not found")
    prev = db.session.get(LedgerEntry, seq - 1) if seq > 1 else None
    rev = db.session.get(LedgerEntry, entry.reverses_seq) if entry.reverses_seq else None
    return EntryDetail(entry, db.session.get(Grant, entry.grant_id), _source(entry.ref_type, entry.ref_id),
                       entry.ref_type, prev, rev)


def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
