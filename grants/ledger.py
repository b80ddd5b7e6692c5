"""The append-only, hash-chained ledger (总账).

Every posting — expense, reversal, disbursement, subsidy payment, equity event, adjustment — is a
``LedgerEntry`` whose SHA-256 covers its canonical content and the previous entry's hash, so editing
or deleting any row breaks the chain from that row on. It lives in the lowest package because every
domain posts to it. Appends are serialised: PostgreSQL takes a transaction-scoped advisory lock,
SQLite already holds its write lock (transactions begin IMMEDIATE).
"""
from __future__ import annotations

import hashlib
from json.encoder import encode_basestring  # the (C) string encoder json.dumps uses with ensure_ascii=False
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Iterable, Optional

from sqlalchemy import Index, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from grants.db import Base, Money, bulk_insert, now

if TYPE_CHECKING:  # only for the annotation of Posting.for_grant; models import nothing from here
    from grants.models import Grant

GENESIS = "0" * 64
LEDGER_LOCK_KEY = 7_402_117  # arbitrary constant for pg_advisory_xact_lock


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_type: Mapped[str] = mapped_column(String(32), index=True)
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    subject: Mapped[Optional[str]] = mapped_column(String(32))
    amount: Mapped[Money]
    ref_type: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int]
    reverses_seq: Mapped[Optional[int]] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (Index("ix_ledger_entries_ref", "ref_type", "ref_id"),)


class LedgerCheckpoint(Base):
    """The chain head at the end of a day or month, so an export can be verified on its own."""

    __tablename__ = "ledger_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8))  # day | month
    period_end: Mapped[date] = mapped_column(Date)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    __table_args__ = (UniqueConstraint("period", "period_end"),)


class EntryType(StrEnum):
    """What a ledger entry records; the value is what the chain hashes, so it never changes."""

    EXPENSE = "expense"
    REVERSAL = "reversal"
    DISBURSEMENT = "disbursement"
    SUBSIDY_PAYMENT = "subsidy_payment"
    EQUITY_INVESTMENT = "equity_investment"
    EQUITY_EVENT = "equity_event"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Posting:
    entry_type: str
    entry_date: date
    grant_id: int
    institution_id: int
    category: str
    subject: Optional[str]
    amount: Decimal
    ref_type: str
    ref_id: int
    reverses_seq: Optional[int] = None
    memo: str = ""

    @classmethod
    def for_grant(cls, grant: "Grant", entry_type: EntryType, on: date, amount: Decimal, ref_type: str,
                  ref_id: int, *, subject: Optional[str] = None, memo: str = "",
                  reverses_seq: Optional[int] = None) -> "Posting":
        """The one way to build a posting: the grant supplies institution and category."""
        return cls(EntryType(entry_type).value, on, grant.id, grant.institution_id, grant.category.value, subject,
                   amount, ref_type, ref_id, reverses_seq=reverses_seq, memo=memo[:200])


CONTENT_FIELDS = ("seq", "entry_type", "entry_date", "grant_id", "institution_id", "category", "subject",
                  "amount", "ref_type", "ref_id", "reverses_seq", "memo")


def canonical_content(seq: int, p: Posting | LedgerEntry) -> str:
    """Stable text of an entry: the JSON of its fields with sorted keys, no spaces, amounts as
    two-decimal strings and ISO dates — i.e. exactly ``json.dumps(fields, sort_keys=True,
    ensure_ascii=False, separators=(",", ":"))``, written out field by field because it runs for
    every posting and every verification (a test holds the two equal)."""
    rev = p.reverses_seq
    return _CANONICAL % (
        f"{Decimal(p.amount):.2f}", _js(p.category), p.entry_date.isoformat(), _js(p.entry_type), p.grant_id,
        p.institution_id, _js(p.memo), p.ref_id, _js(p.ref_type), "null" if rev is None else int(rev), seq,
        _js(p.subject))


_CANONICAL = ('{"amount":"%s","category":%s,"entry_date":"%s","entry_type":%s,"grant_id":%d,"institution_id":%d,'
              '"memo":%s,"ref_id":%d,"ref_type":%s,"reverses_seq":%s,"seq":%d,"subject":%s}')


def _js(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + content).encode("utf-8")).hexdigest()


def _lock_and_head(session: Session) -> tuple[int, str]:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LEDGER_LOCK_KEY})
    row = session.execute(select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def post(session: Session, postings: Iterable[Posting]) -> list[dict]:
    """Append postings to the chain inside the caller's transaction; never commits."""
    postings = list(postings)
    if not postings:
        return []
    seq, head = _lock_and_head(session)
    rows = []
    for p in postings:
        seq += 1
        content = canonical_content(seq, p)
        prev, head = head, chain_hash(head, content)
        rows.append({**{f: getattr(p, f) for f in CONTENT_FIELDS if f != "seq"},
                     "seq": seq, "content": content, "prev_hash": prev, "hash": head, "created_at": now()})
    bulk_insert(session, LedgerEntry.__table__, rows)
    return rows


def seq_of(session: Session, ref_type: str, ref_id: int, entry_type: str = "expense") -> Optional[int]:
    """The sequence number of the entry that posted a record (what a reversal points back to)."""
    return session.execute(select(LedgerEntry.seq).where(
        LedgerEntry.ref_type == ref_type, LedgerEntry.ref_id == ref_id, LedgerEntry.entry_type == entry_type)
        .order_by(LedgerEntry.seq.desc()).limit(1)).scalar_one_or_none()


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken_seq: Optional[int] = None
    reason: str = ""


def verify(session: Session, start_seq: int = 1, start_hash: str = GENESIS, batch: int = 10_000) -> VerifyResult:
    """Recompute the chain from the stored fields and report the first entry that does not match."""
    head, expected_seq, count = start_hash, start_seq, 0
    cols = [LedgerEntry.__table__.c[f] for f in CONTENT_FIELDS] + [
        LedgerEntry.__table__.c.content, LedgerEntry.__table__.c.prev_hash, LedgerEntry.__table__.c.hash]
    last = start_seq - 1
    while True:
        rows = session.execute(select(*cols).where(LedgerEntry.seq > last).order_by(LedgerEntry.seq)
                               .limit(batch)).all()
        if not rows:
            return VerifyResult(True, count, expected_seq - 1, head)
        for r in rows:
            if r.seq != expected_seq:
                return VerifyResult(False, count, expected_seq - 1, head, expected_seq, "missing entry (gap in sequence)")
            content = canonical_content(r.seq, r)
            if content != r.content:
                return VerifyResult(False, count, r.seq - 1, head, r.seq, "stored fields differ from hashed content")
            if r.prev_hash != head:
                return VerifyResult(False, count, r.seq - 1, head, r.seq, "previous-hash link broken")
            h = chain_hash(head, content)
            if h != r.hash:
                return VerifyResult(False, count, r.seq - 1, head, r.seq, "hash does not match content")
            head, expected_seq, count = h, expected_seq + 1, count + 1
        last = rows[-1].seq
