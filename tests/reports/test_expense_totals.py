"""The totals the compliance overview reads are kept in step by the database on every write to expenses."""
from collections import Counter
from datetime import date
from decimal import Decimal

from sqlalchemy import select, text

from budgets.models import Expense, ExpenseRuleTotal, ExpenseStatus, ExpenseTotal, Verdict
from tests.factories import ExpenseFactory, GrantFactory, InstitutionFactory


def finding(rule_id):
    return {"rule_id": rule_id, "severity": "reject"}


def recomputed(session):
    totals, rules = Counter(), Counter()
    for e in session.scalars(select(Expense)):
        cents = int(e.amount * 100)
        key = (e.expense_date, e.institution_id, e.grant.category.value, e.verdict.value, e.status.value)
        totals[key + ("n",)] += 1
        totals[key + ("c",)] += cents
        for rule in {f["rule_id"] for f in e.findings}:
            rkey = (e.expense_date, e.institution_id, rule, e.verdict.value)
            rules[rkey + ("n",)] += 1
            rules[rkey + ("c",)] += cents
    return +totals, +rules


def stored(session):
    totals, rules = Counter(), Counter()
    for t in session.scalars(select(ExpenseTotal)):
        totals[(t.expense_date, t.institution_id, t.category, t.verdict, t.status, "n")] += t.expenses
        totals[(t.expense_date, t.institution_id, t.category, t.verdict, t.status, "c")] += t.cents
    for t in session.scalars(select(ExpenseRuleTotal)):
        rules[(t.expense_date, t.institution_id, t.rule_id, t.verdict, "n")] += t.expenses
        rules[(t.expense_date, t.institution_id, t.rule_id, t.verdict, "c")] += t.cents
    return +totals, +rules


def test_totals_follow_inserts_updates_and_deletes(db):
    s = db.session
    g = GrantFactory(institution=InstitutionFactory())
    a = ExpenseFactory(grant=g, amount=Decimal("10.01"), findings=[finding("R1"), finding("R1"), finding("R2")],
                       verdict=Verdict.REJECT)
    b = ExpenseFactory(grant=g, amount=Decimal("30000000.00"), expense_date=date(2025, 7, 1))
    ExpenseFactory(grant=g, amount=Decimal("0.99"), findings=[finding("R2")], verdict=Verdict.WARN)
    s.flush()
    assert stored(s) == recomputed(s)
    a.verdict, a.amount, a.findings = Verdict.NEEDS_APPROVAL, Decimal("12.34"), [finding("R3")]
    b.expense_date = date(2025, 8, 1)
    b.status = ExpenseStatus.REVERSED
    s.flush()
    assert stored(s) == recomputed(s)
    s.execute(text("DELETE FROM expenses WHERE id = :id"), {"id": b.id})
    s.expire_all()
    assert stored(s) == recomputed(s)
