"""A controlled clock drives the calendar of a three-year grant through the scheduler's job code and a real
SMTP server: every reminder on its day and none twice, overdue and escalation, consequences applied and
lifted, and a scheduler outage in the middle that loses nothing."""
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from evaluations import service as ev_service
from evaluations.models import Evaluation, EvaluationKind, EvaluationStatus
from grants.db import TZ, set_clock
from grants.errors import GateClosed
from grants.models import GrantStatus, Role
from reports.scheduler import run_job
from tests.factories import GrantFactory, TrancheFactory, UserFactory


@pytest.fixture
def clock():
    state = {"now": datetime(2024, 12, 1, 8, 0, tzinfo=TZ)}

    def set_day(d: date):
        state["now"] = datetime(d.year, d.month, d.day, 8, 0, tzinfo=TZ)

    set_clock(lambda: state["now"])
    yield set_day
    set_clock(None)


def _subject(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))


def test_three_years_of_evaluations_reminders_and_consequences(app, db, smtp, clock):
    from budgets.expenses.service import check_expense
    from grants.disbursement import pay_tranche

    g = GrantFactory(status=GrantStatus.ACTIVE, start_date=date(2025, 1, 1), end_date=date(2027, 12, 31))
    TrancheFactory(grant=g, seq=1, amount=Decimal("600000.00"), planned_date=date(2025, 1, 10))
    second = TrancheFactory(grant=g, seq=2, amount=Decimal("400000.00"), planned_date=date(2026, 8, 1))
    staff = UserFactory(role="institution", institution_id=g.institution_id, email="pi@inst.example")
    bureau = UserFactory(role=Role.FINANCE_BUREAU, email="bureau@kjj.example")
    db.session.commit()

    inbox_by_day: dict[date, list] = defaultdict(list)
    outage = {date(2026, 12, 20) + timedelta(days=i) for i in range(10)}  # scheduler down 12-20 … 12-29
    actions = {}

    def on(d):
        def register(fn):
            actions[d] = fn
            return fn
        return register

    @on(date(2025, 12, 20))
    def file_first_annual(d):
        annual = _ev(g, EvaluationKind.ANNUAL, date(2026, 1, 1))
        ev_service.submit_evaluation(annual.id, staff, on=d)
        ev_service.record_result(annual.id, EvaluationStatus.PASSED, "", bureau, d)

    @on(date(2026, 7, 3))
    def tranche_blocked_by_overdue_midterm(d):
        mid = _ev(g, EvaluationKind.MID_TERM, date(2026, 7, 2))
        assert mid.status == EvaluationStatus.OVERDUE
        with pytest.raises(GateClosed, match="EVAL-MIDTERM-BLOCKS-TRANCHE"):
            pay_tranche(g.id, second.id, bureau, d)

    @on(date(2026, 7, 20))
    def midterm_filed_late_and_failed(d):
        mid = _ev(g, EvaluationKind.MID_TERM, date(2026, 7, 2))
        ev_service.submit_evaluation(mid.id, staff, on=d)
        ev_service.record_result(mid.id, EvaluationStatus.FAILED, "目标未达成", bureau, d)
        ev_service.add_evaluation(g.id, EvaluationKind.MID_TERM, date(2026, 9, 30), bureau)  # the re-evaluation
        with pytest.raises(GateClosed):
            pay_tranche(g.id, second.id, bureau, d)

    @on(date(2026, 10, 8))
    def reevaluation_passes_and_the_tranche_is_paid(d):
        again = _ev(g, EvaluationKind.MID_TERM, date(2026, 9, 30))
        ev_service.submit_evaluation(again.id, staff, on=date(2026, 9, 28)) if again.status != \
            EvaluationStatus.SUBMITTED else None
        ev_service.record_result(again.id, EvaluationStatus.PASSED, "", bureau, d)
        assert pay_tranche(g.id, second.id, bureau, d).paid_on == d

    @on(date(2026, 9, 28))
    def reevaluation_filed(d):
        ev_service.submit_evaluation(_ev(g, EvaluationKind.MID_TERM, date(2026, 9, 30)).id, staff, on=d)

    @on(date(2027, 1, 1))
    def second_annual_filed_on_the_day(d):
        annual = _ev(g, EvaluationKind.ANNUAL, date(2027, 1, 1))
        ev_service.submit_evaluation(annual.id, staff, on=d)
        ev_service.record_result(annual.id, EvaluationStatus.PASSED, "", bureau, d)

    expense = {"grant_id": g.id, "amount": Decimal("1000.00"), "subject": "operations", "purpose": "materials",
               "description": "试剂", "payee_name": "供应商", "payee_kind": "vendor",
               "payment_method": "bank_transfer", "invoice_no": None, "invoice_verified": True}

    @on(date(2028, 7, 5))
    def overdue_final_sends_expenses_to_approval(d):
        j, _ = check_expense({**expense, "expense_date": d}, staff)
        hold = [f for f in j.findings if f.rule_id == "EVAL-FINAL-OVERDUE-EXPENSES"]
        assert j.verdict in ("needs_approval", "reject") and hold and hold[0].severity == "needs_approval"
        assert "结题验收" in hold[0].message_zh and "overdue" in hold[0].message_en

    @on(date(2028, 7, 20))
    def final_filed_and_passed_lifts_the_hold(d):
        final = _ev(g, EvaluationKind.FINAL_ACCEPTANCE, date(2028, 6, 30))
        ev_service.submit_evaluation(final.id, staff, on=d)
        ev_service.record_result(final.id, EvaluationStatus.PASSED, "", bureau, d)
        j, _ = check_expense({**expense, "expense_date": d}, staff)
        assert not [f for f in j.findings if f.rule_id == "EVAL-FINAL-OVERDUE-EXPENSES"]

    dues = []

    def near_a_date(day):
        """Every day from 31 days before to 16 days after an evaluation's date (where mail can fall); the
        days between are quiet and skipped to keep the test fast."""
        return not dues or any(-16 <= (due - day).days <= 31 for due in dues)

    d = date(2024, 12, 1)
    while d <= date(2028, 8, 31):
        clock(d)
        if d not in outage and (near_a_date(d) or d in actions):
            before = len(smtp.messages)
            run = run_job("evaluations", "scheduled")
            assert run is not None and run.ok, run and run.detail
            inbox_by_day[d].extend(smtp.messages[before:])
            if len(smtp.messages) > before:
                assert run_job("evaluations", "scheduled") is None  # the same day again: skipped, nothing sent
        if d in actions:
            actions[d](d)
        if not dues or d in actions:
            dues = db.session.scalars(select(Evaluation.due_date).where(Evaluation.grant_id == g.id)).all()
        d += timedelta(days=1)

    got = {day: sorted((_subject(m).split(" / ")[1], tuple(sorted(r))) for r, m in msgs)
           for day, msgs in inbox_by_day.items() if msgs}
    pi, both = ("pi@inst.example",), ("bureau@kjj.example", "pi@inst.example")

    def rem(kind, when, to=pi):
        return (f"evaluation reminder: {kind} {when}", to)

    expected = {
        date(2025, 12, 2): [rem("annual performance report", "due in 30 days")],
        # the first annual report was filed on 12-20: no 7/1/0-day reminders
        date(2026, 6, 2): [rem("mid-term review", "due in 30 days")],
        date(2026, 6, 25): [rem("mid-term review", "due in 7 days")],
        date(2026, 7, 1): [rem("mid-term review", "due in 1 days")],
        date(2026, 7, 2): [rem("mid-term review", "due today")],
        date(2026, 7, 3): [rem("mid-term review", "overdue by 1 days", both)],   # escalated
        date(2026, 7, 10): [rem("mid-term review", "overdue by 8 days", both)],  # weekly while overdue
        date(2026, 7, 17): [rem("mid-term review", "overdue by 15 days", both)],
        # filed 07-20; the re-evaluation due 09-30 gets its own reminders
        date(2026, 8, 31): [rem("mid-term review", "due in 30 days")],
        date(2026, 9, 23): [rem("mid-term review", "due in 7 days")],
        date(2026, 12, 2): [rem("annual performance report", "due in 30 days")],
        # the 7-day reminder fell in the outage (12-25): sent once when the scheduler came back
        date(2026, 12, 30): [rem("annual performance report", "due in 2 days")],
        date(2026, 12, 31): [rem("annual performance report", "due in 1 days")],
        date(2027, 1, 1): [rem("annual performance report", "due today")],
        date(2028, 5, 31): [rem("final acceptance", "due in 30 days")],
        date(2028, 6, 23): [rem("final acceptance", "due in 7 days")],
        date(2028, 6, 29): [rem("final acceptance", "due in 1 days")],
        date(2028, 6, 30): [rem("final acceptance", "due today")],
        date(2028, 7, 1): [rem("final acceptance", "overdue by 1 days", both)],
        date(2028, 7, 8): [rem("final acceptance", "overdue by 8 days", both)],
        date(2028, 7, 15): [rem("final acceptance", "overdue by 15 days", both)],
    }
    assert got == expected
    holds = db.session.scalars(select(ev_service.EvaluationHold).where(
        ev_service.EvaluationHold.grant_id == g.id).order_by(ev_service.EvaluationHold.id)).all()
    assert [(h.consequence_id, h.imposed_on, h.lifted_on) for h in holds] == [
        ("EVAL-MIDTERM-BLOCKS-TRANCHE", date(2026, 7, 3), date(2026, 10, 8)),
        ("EVAL-FINAL-OVERDUE-EXPENSES", date(2028, 7, 1), date(2028, 7, 20))]


def _ev(g, kind, due) -> Evaluation:
    from grants.extensions import db

    return db.session.scalars(select(Evaluation).where(Evaluation.grant_id == g.id, Evaluation.kind == kind,
                                                       Evaluation.due_date == due)).one()
