"""`make run`'s demo is a living year: every category, mode and state on first login, and a ledger that verifies."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from budgets.models import Expense, ExpenseStatus
from evaluations.models import Evaluation, EvaluationStatus
from grants import ledger
from grants.db import today
from grants.models import (EquityEvent, Grant, GrantStatus, Institution, Milestone, MilestoneStatus, SubsidyAssessment,
                           Tranche, TrancheStatus, User)
from grants.seed import seed_demo


def test_the_demo_is_a_living_year_on_every_page(db):
    lines = seed_demo("demo-password-1")
    s = db.session

    kinds = Counter(s.scalars(select(Institution.kind)))
    assert sum(kinds.values()) == 8 and len(kinds) == 5           # universities, institutes, SOE, firms, 新型研发机构
    grants = s.scalars(select(Grant)).all()
    assert len(grants) >= 40
    by_category = Counter(g.category.value for g in grants)
    assert set(by_category) == {"competitive", "stable", "post_subsidy", "grant_to_equity"}
    assert min(by_category.values()) >= 4
    assert {g.management_mode.value for g in grants} == {"standard", "directed", "open_competition", "milestone",
                                                          "horse_race"}
    assert {g.funding_mode.value for g in grants} == {"budgeted", "lump_sum"}
    assert len({g.start_date for g in grants}) > 20                # staggered periods
    assert {GrantStatus.ACTIVE, GrantStatus.ACCEPTED} <= {g.status for g in grants}

    n_expenses = s.scalar(select(func.count()).select_from(Expense))
    assert n_expenses >= 2000
    verdicts = Counter(s.scalars(select(Expense.verdict)))
    assert verdicts["allow"] > n_expenses / 2                      # mostly in order …
    assert all(verdicts[v] > 0 for v in ("warn", "needs_approval", "reject"))   # … and every verdict seen
    statuses = Counter(s.scalars(select(Expense.status)))
    assert all(statuses[st] > 0 for st in (ExpenseStatus.POSTED, ExpenseStatus.PENDING, ExpenseStatus.REJECTED,
                                           ExpenseStatus.REVERSED))
    first, last = s.execute(select(func.min(Expense.expense_date), func.max(Expense.expense_date))).one()
    assert (last - first).days > 600 and last < today()           # two years, nothing in the future

    assert s.scalar(select(func.count()).select_from(Tranche).where(Tranche.status == TrancheStatus.PAID)) > 30
    gated = s.scalars(select(Tranche).join(Milestone, Tranche.milestone_id == Milestone.id)
                      .where(Tranche.status != TrancheStatus.PAID, Milestone.status != MilestoneStatus.ACCEPTED)).all()
    assert gated                                                   # a tranche waiting for its milestone
    assert s.scalar(select(func.count()).select_from(SubsidyAssessment).where(SubsidyAssessment.paid_on.is_not(None)))
    assert {e.kind.value for e in s.scalars(select(EquityEvent))} >= {"follow_on", "exit"}

    evaluations = s.scalars(select(Evaluation)).all()
    assert {EvaluationStatus.PASSED, EvaluationStatus.FAILED} <= {e.status for e in evaluations}
    assert any(e.status == EvaluationStatus.OVERDUE for e in evaluations)                             # overdue
    assert any(e.status == EvaluationStatus.DUE and e.due_date > today() for e in evaluations)          # due

    assert ledger.verify(s).ok
    logins = {u.username for u in s.scalars(select(User))}
    assert {"bureau", "auditor", "admin", "inst_ordos_univ", "inst_ordos_lab"} <= logins
    assert sum("API token" in line for line in lines) == 11        # one login per role and per institution
