"""绩效评价: schedules from the grant period, results, and reminder mail through a real SMTP server."""
from datetime import date, timedelta
from email.header import decode_header, make_header

from evaluations.models import EvaluationKind
from evaluations.schedule import add_months, due_dates
from evaluations.service import send_reminders
from grants.models import GrantStatus
from tests.factories import EvaluationFactory, GrantFactory, UserFactory


def test_due_dates_follow_the_grant_period():
    got = due_dates(date(2025, 1, 1), date(2027, 12, 31), 6)
    # 1,094 days: the middle is day 547
    assert got == [(EvaluationKind.ANNUAL, date(2026, 1, 1)), (EvaluationKind.MID_TERM, date(2026, 7, 2)),
                   (EvaluationKind.ANNUAL, date(2027, 1, 1)), (EvaluationKind.FINAL_ACCEPTANCE, date(2028, 6, 30))]


def test_add_months_keeps_to_the_end_of_short_months():
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)


def test_bureau_schedules_a_grants_evaluations_once(bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE, start_date=date(2025, 1, 1), end_date=date(2026, 12, 31))
    r = bureau.post(f"/api/v1/grants/{g.id}/evaluations/schedule", json={})
    assert r.status_code == 200, r.get_json()
    kinds = [(e["kind"], e["due_date"]) for e in r.get_json()]
    # the final acceptance window comes from the policy parameter (6 months after the end)
    assert kinds == [("mid_term", "2025-12-31"), ("annual", "2026-01-01"), ("final_acceptance", "2027-06-30")]
    again = bureau.post(f"/api/v1/grants/{g.id}/evaluations/schedule", json={})
    assert len(again.get_json()) == 3


def test_results_are_the_bureaus_and_final(bureau, login, auditor, db):
    ev = EvaluationFactory(grant=GrantFactory(status=GrantStatus.ACTIVE))
    staff = login("institution", ev.grant.institution)
    assert staff.post(f"/api/v1/evaluations/{ev.id}/result", json={"status": "passed"}).status_code == 403
    assert auditor.post(f"/api/v1/evaluations/{ev.id}/result", json={"status": "passed"}).status_code == 403
    r = bureau.post(f"/api/v1/evaluations/{ev.id}/result", json={"status": "passed", "note": "达到年度目标"})
    assert r.status_code == 200 and r.get_json()["status"] == "passed"
    assert bureau.post(f"/api/v1/evaluations/{ev.id}/result", json={"status": "failed"}).status_code == 409


def test_institution_sees_only_its_own_evaluations(login, db):
    mine = EvaluationFactory(grant=GrantFactory(status=GrantStatus.ACTIVE))
    EvaluationFactory(grant=GrantFactory(status=GrantStatus.ACTIVE))
    staff = login("institution", mine.grant.institution)
    assert [e["id"] for e in staff.get("/api/v1/evaluations").get_json()] == [mine.id]


def test_reminders_reach_the_institution_and_escalate_to_the_bureau_once_per_stage(db, smtp):
    from grants.mail import deliver_due

    g = GrantFactory(status=GrantStatus.ACTIVE)
    UserFactory(role="institution", institution_id=g.institution_id, email="pi@inst.example")
    UserFactory(role="finance_bureau", email="bureau@kjj.example")
    UserFactory(role="institution", institution_id=GrantFactory().institution_id, email="other@inst.example")
    today = date(2026, 6, 24)
    due_in_7 = EvaluationFactory(grant=g, kind=EvaluationKind.MID_TERM, due_date=today + timedelta(days=7))
    due_in_8 = EvaluationFactory(grant=g, kind=EvaluationKind.ANNUAL, due_date=today + timedelta(days=8))
    overdue = EvaluationFactory(grant=g, kind=EvaluationKind.FINAL_ACCEPTANCE, due_date=today - timedelta(days=3))
    db.session.commit()

    sent = send_reminders(today)
    # the 30-day stage of the annual report was never sent: it goes now, once
    assert {(r.evaluation_id, r.stage) for r in sent} == {(due_in_7.id, "d7"), (due_in_8.id, "d30"),
                                                           (overdue.id, "overdue-w0")}
    assert deliver_due()["sent"] == 3 and len(smtp.messages) == 3
    by_subject = {str(make_header(decode_header(m["Subject"]))): (sorted(r), m) for r, m in smtp.messages}
    mid = next(v for k, v in by_subject.items() if "mid-term" in k)
    assert mid[0] == ["pi@inst.example"]                       # before the date: the institution only
    body = mid[1].get_payload(decode=True).decode("utf-8")
    assert "中期评估" in body and "due in 7 days" in body and g.code in body and f"/grants/{g.id}" in body
    late = next(v for k, v in by_subject.items() if "final acceptance" in k)
    assert late[0] == ["bureau@kjj.example", "pi@inst.example"]  # overdue: escalated to the bureau
    assert "overdue by 3 days" in late[1].get_payload(decode=True).decode("utf-8")

    assert send_reminders(today) == [] and deliver_due()["sent"] == 0 and len(smtp.messages) == 3
    later = send_reminders(today + timedelta(days=6))  # d1, d7, and overdue by 9 days: the second weekly one
    assert {(r.evaluation_id, r.stage) for r in later} == {(due_in_7.id, "d1"), (due_in_8.id, "d7"),
                                                            (overdue.id, "overdue-w1")}
    assert {r.stage for r in send_reminders(today + timedelta(days=12)) if r.evaluation_id == overdue.id} == \
        {"overdue-w2"}


def test_the_scheduler_job_schedules_reminds_and_records_its_run(app, db, smtp):
    from sqlalchemy import select

    from grants.db import TZ, set_clock
    from reports.jobs import evaluation_job
    from reports.models import JobRun

    g = GrantFactory(status=GrantStatus.ACTIVE, start_date=date(2024, 1, 1), end_date=date(2025, 12, 31))
    UserFactory(role="institution", institution_id=g.institution_id, email="pi@inst.example")
    db.session.commit()
    from datetime import datetime

    set_clock(lambda: datetime(2026, 11, 23, 8, 0, tzinfo=TZ))
    try:
        evaluation_job(app)
    finally:
        set_clock(None)
    run = db.session.scalars(select(JobRun).where(JobRun.job == "evaluations")).one()
    # annual 2025-01-01, mid-term 2024-12-31, final acceptance 2026-06-30: all overdue by now
    assert run.ok and run.detail.startswith("3 evaluations scheduled, 3 overdue, 3 reminders queued, 3 mails sent")
    assert len(smtp.messages) == 3 and all("overdue" in m.get_payload(decode=True).decode() for _, m in smtp.messages)
