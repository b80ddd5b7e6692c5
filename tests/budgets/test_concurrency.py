"""Racing for the last yuan: concurrent expenses never overdraw a budget line (real commits)."""
import threading
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from budgets.models import BudgetLine, Expense, ExpenseStatus
from budgets.expenses import service
from grants.ledger import LedgerEntry
from grants.models import GrantStatus, TrancheStatus, User
from tests.factories import BudgetLineFactory, GrantFactory, TrancheFactory, make_user

N = 50


def test_fifty_concurrent_expenses_never_exceed_the_line(app, committed_db):
    db = committed_db
    g = GrantFactory(status=GrantStatus.ACTIVE)
    BudgetLineFactory(grant=g, subject="equipment", amount=Decimal("1000.00"))
    BudgetLineFactory(grant=g, subject="operations", amount=Decimal("999000.00"))
    TrancheFactory(grant=g, amount=Decimal("1000000.00"), status=TrancheStatus.PAID, paid_on=date(2025, 1, 2))
    user, _ = make_user("institution", g.institution)
    grant_id, user_id = g.id, user.id
    db.session.commit()
    barrier = threading.Barrier(N)
    errors = []

    def spend(i):
        with app.app_context():
            try:
                u = db.session.get(User, user_id)
                db.session.expunge(u)
                db.session.rollback()  # hold no connection (nor SQLite's write lock) at the start line
                barrier.wait(timeout=30)
                service.submit_expense({
                    "grant_id": grant_id, "expense_date": date(2025, 6, 1), "amount": Decimal("30.00"),
                    "subject": "equipment", "purpose": "equipment_purchase", "description": "传感器",
                    "payee_kind": "vendor", "payment_method": "bank_transfer", "invoice_no": f"RACE-{i}",
                    "invoice_verified": True, "unit_value": Decimal("30.00"), "quantity": 1}, u)
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    posted = db.session.execute(select(func.count(), func.coalesce(func.sum(Expense.amount), 0)).where(
        Expense.grant_id == grant_id, Expense.status == ExpenseStatus.POSTED)).one()
    total = db.session.execute(select(func.count()).where(Expense.grant_id == grant_id)).scalar_one()
    line = db.session.execute(select(BudgetLine).where(BudgetLine.grant_id == grant_id,
                                                       BudgetLine.subject == "equipment")).scalar_one()
    ledger_sum = db.session.execute(select(func.sum(LedgerEntry.amount)).where(
        LedgerEntry.grant_id == grant_id, LedgerEntry.entry_type == "expense")).scalar_one()
    assert total == N                      # every attempt stored with its verdict
    assert posted[0] == 33                 # floor(1000 / 30): exactly as many as fit
    assert Decimal(posted[1]) == Decimal("990.00") <= line.amount
    assert line.spent == Decimal("990.00") and line.reserved == 0
    assert Decimal(ledger_sum) == Decimal("990.00")
