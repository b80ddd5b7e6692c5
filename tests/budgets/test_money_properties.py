"""Random sequences of submit / approve / reject / reverse / adjust never break the money invariants.

A hypothesis state machine drives the real use cases (``budgets.expenses.service``, ``budgets.service``)
on the test database — SQLite and PostgreSQL — against a small grant of either funding mode, and after
every step checks:

- no grant's posted total exceeds its fiscal amount;
- no 包干制 pool goes negative (what is posted on it stays within it);
- no budget line's posted money exceeds its budget plus approved adjustments, and posted + reserved stays
  within it too unless a queued expense on that line is itself waiting for a 调剂 (its verdict says so);
- every line's reservation is the sum of the queued expenses that draw on it;
- the ledger's expense and reversal entries sum to the posted total, which is the lines' spent total.

Bounded (30 examples of at most 20 steps) so the suite stays fast.
"""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                run_state_machine_as_test)
from sqlalchemy import func, select

from budgets import service as budget_service
from budgets.expenses import service
from budgets.models import BudgetLine, Expense, ExpenseStatus
from grants.errors import DomainError
from grants.ledger import LedgerEntry
from grants.models import FundingMode, GrantStatus, TrancheStatus
from tests.factories import BudgetLineFactory, GrantFactory, InstitutionFactory, TrancheFactory, make_user

FISCAL = Decimal("10000.00")
LINES = {"equipment": "3000.00", "operations": "4000.00", "labour": "2000.00", "indirect": "1000.00"}
MONEY_KINDS = {"budget_availability", "subject_not_in_budget", "grant_total"}
_invoices = itertools.count()

amounts = st.integers(min_value=1, max_value=600_000).map(lambda c: Decimal(c) / 100)
subjects = st.sampled_from(["operations", "labour", "equipment", "indirect"])


def body(grant_id: int, subject: str, amount: Decimal, verified: bool) -> dict:
    n = next(_invoices)
    base = {"grant_id": grant_id, "expense_date": date(2025, 6, 1), "amount": amount, "subject": subject,
            "description": "课题支出", "payee_name": f"收款方{n}", "payee_kind": "vendor",
            "payment_method": "bank_transfer", "invoice_no": f"PROP-{n}", "invoice_verified": verified or None}
    if subject == "operations":
        base["purpose"] = "materials"
    elif subject == "equipment":
        base.update(purpose="equipment_purchase", unit_value=amount, quantity=1, platform_registered=True)
    elif subject == "labour":
        base.update(purpose="labour_fee", payee_kind="student")
    else:
        base.update(purpose="performance_pay", payee_kind="institution")
    return base


def make_machine(db):
    class MoneyMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.lump = None
            self.grant = None

        @initialize(lump=st.booleans())
        def open_grant(self, lump):
            inst = InstitutionFactory()
            mode = FundingMode.LUMP_SUM if lump else FundingMode.BUDGETED
            g = GrantFactory(institution=inst, status=GrantStatus.ACTIVE, funding_mode=mode, fiscal_amount=FISCAL)
            for subject, amount in ({"lump_sum": str(FISCAL)} if lump else LINES).items():
                BudgetLineFactory(grant=g, subject=subject, amount=Decimal(amount))
            TrancheFactory(grant=g, amount=FISCAL, status=TrancheStatus.PAID, paid_on=date(2025, 1, 5))
            self.staff, _ = make_user("institution", inst)
            self.bureau, _ = make_user("finance_bureau")
            db.session.commit()
            self.grant, self.lump = g, lump

        def _expenses(self, status):
            return db.session.scalars(select(Expense.id).where(Expense.grant_id == self.grant.id,
                                                               Expense.status == status).order_by(Expense.id)).all()

        def _try(self, fn, *args):
            try:
                fn(*args)
            except DomainError:   # a refusal (409/422) is an answer; the invariants must hold either way
                db.session.rollback()

        @rule(subject=subjects, amount=amounts, verified=st.booleans())
        def submit(self, subject, amount, verified):
            self._try(service.submit_expense, body(self.grant.id, subject, amount, verified), self.staff)

        @rule(i=st.integers(min_value=0, max_value=20), approve=st.booleans())
        def decide(self, i, approve):
            pending = self._expenses(ExpenseStatus.PENDING)
            if pending:
                self._try(service.decide_expense, pending[i % len(pending)], approve, "审批", self.bureau)

        @rule(i=st.integers(min_value=0, max_value=20))
        def reverse(self, i):
            posted = self._expenses(ExpenseStatus.POSTED)
            if posted:
                self._try(service.reverse_expense, posted[i % len(posted)], "冲销", self.bureau)

        @precondition(lambda self: not self.lump)
        @rule(src=subjects, dst=subjects, amount=amounts, approve=st.booleans())
        def adjust(self, src, dst, amount, approve):
            if src == dst:
                return
            try:
                adj = budget_service.request_adjustment(self.grant.id, {
                    "from_subject": budget_service.Subject(src), "to_subject": budget_service.Subject(dst),
                    "amount": amount, "reason": "调剂"}, self.staff)
                if adj.status.value == "pending":
                    budget_service.decide_adjustment(self.grant.id, adj.id, approve, "审批", self.bureau)
            except DomainError:
                db.session.rollback()

        @invariant()
        def money_holds(self):
            s = db.session
            s.expire_all()
            gid = self.grant.id
            lines = {ln.subject.value: ln for ln in s.scalars(select(BudgetLine).where(BudgetLine.grant_id == gid))}
            expenses = s.scalars(select(Expense).where(Expense.grant_id == gid)).all()
            posted = sum((e.amount for e in expenses if e.status == ExpenseStatus.POSTED), Decimal(0))
            ledger_sum = s.execute(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.grant_id == gid, LedgerEntry.entry_type.in_(["expense", "reversal"]))).scalar_one()
            assert posted <= FISCAL, f"posted {posted} > fiscal {FISCAL}"
            assert Decimal(ledger_sum) == posted == sum((ln.spent for ln in lines.values()), Decimal(0))
            if self.lump:
                assert set(lines) == {"lump_sum"}
            for subject, ln in lines.items():
                drawing = [e for e in expenses if e.status == ExpenseStatus.PENDING
                           and (self.lump or e.subject == subject)]
                assert ln.reserved == sum((e.amount for e in drawing), Decimal(0)), subject
                budget = ln.amount + ln.adjusted
                assert ln.spent <= budget, f"{subject}: spent {ln.spent} > budget {budget}"
                waiting_for_adjustment = any(f["kind"] in MONEY_KINDS for e in drawing for f in e.findings)
                assert ln.spent + ln.reserved <= budget or waiting_for_adjustment, subject

    return MoneyMachine


def test_random_sequences_never_break_the_money_invariants(db):
    run_state_machine_as_test(make_machine(db), settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
