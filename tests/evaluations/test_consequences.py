"""Consequences of evaluations (policy data) and the outbox that carries the mail."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from evaluations import consequences
from evaluations.models import EvaluationKind
from grants.db import TZ, set_clock
from grants.models import Category, GrantStatus
from tests.factories import (EquityInvestmentFactory, EvaluationFactory, GrantFactory, SubsidyTermsFactory,
                             TrancheFactory, UserFactory)


def test_the_consequence_policy_is_data_with_sources():
    p = consequences.policy()
    ids = {c.id for c in p.consequences}
    assert {"EVAL-MIDTERM-BLOCKS-TRANCHE", "EVAL-FINAL-FAILED-BLOCKS-SUBSIDY", "EVAL-FINAL-FAILED-FLAG",
            "EVAL-FINAL-OVERDUE-EXPENSES", "EVAL-POSTINVEST-BLOCKS-TRANCHE"} <= ids
    assert all(c.source and c.title_zh and c.title_en for c in p.consequences)
    assert p.reminder_days_before == (30, 7, 1, 0) and p.overdue_every_days == 7


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["consequences"][0].update(effect="shout"), "effect must be one of"),
    (lambda c: c["consequences"][0].update(source=[{"doc": "NOWHERE"}]), "source must name a doc"),
    (lambda c: c["consequences"][0]["when"].update(outcomes=["late"]), "when.outcomes"),
])
def test_a_malformed_consequence_is_refused(mutate, message):
    import copy

    from compliance.policy import load_policy_file

    content = copy.deepcopy(load_policy_file(consequences.POLICY_FILE))
    mutate(content)
    with pytest.raises(consequences.ConsequencePolicyError, match=message):
        consequences.parse(content)


def test_failed_final_acceptance_blocks_the_subsidy_and_flags_the_grant_until_a_passed_reevaluation(
        bureau, login, db, smtp):
    from grants.mail import deliver_due

    g = GrantFactory(category=Category.POST_SUBSIDY, status=GrantStatus.ACCEPTED)
    SubsidyTermsFactory(grant=g)
    UserFactory(role="finance_bureau", email="bureau@kjj.example")
    final = EvaluationFactory(grant=g, kind=EvaluationKind.FINAL_ACCEPTANCE, due_date=date(2028, 6, 30))
    staff = login("institution", g.institution)
    assert staff.post(f"/api/v1/evaluations/{final.id}/submission", json={"note": "验收材料"}).get_json()["status"] \
        == "submitted"
    r = bureau.post(f"/api/v1/evaluations/{final.id}/result", json={"status": "failed", "note": "指标未完成"})
    assert r.status_code == 200
    blocked = bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={})
    assert blocked.status_code == 409 and "EVAL-FINAL-FAILED-BLOCKS-SUBSIDY" in blocked.get_json()["message"]
    flagged = bureau.get("/api/v1/evaluation-holds").get_json()
    assert {(h["grant_id"], h["consequence_id"]) for h in flagged} == {
        (g.id, "EVAL-FINAL-FAILED-BLOCKS-SUBSIDY"), (g.id, "EVAL-FINAL-FAILED-FLAG")}
    assert deliver_due()["sent"] == 1
    (rcpts, msg), = smtp.messages
    assert "bureau@kjj.example" in rcpts and g.code in msg.get_payload(decode=True).decode()

    again = bureau.post(f"/api/v1/grants/{g.id}/evaluations",
                        json={"kind": "final_acceptance", "due_date": "2028-09-30"}).get_json()
    bureau.post(f"/api/v1/evaluations/{again['id']}/result", json={"status": "passed"})
    assert bureau.get("/api/v1/evaluation-holds").get_json() == []
    assert bureau.post(f"/api/v1/grants/{g.id}/subsidy", json={}).status_code in (200, 201)


def test_submission_is_the_institutions_and_only_while_open(bureau, login, auditor, db):
    ev = EvaluationFactory(grant=GrantFactory(status=GrantStatus.ACTIVE))
    other = login("institution")
    assert other.post(f"/api/v1/evaluations/{ev.id}/submission", json={}).status_code == 404
    assert auditor.post(f"/api/v1/evaluations/{ev.id}/submission", json={}).status_code == 403
    mine = login("institution", ev.grant.institution)
    r = mine.post(f"/api/v1/evaluations/{ev.id}/submission", json={"submitted_on": "2026-06-30"})
    assert r.status_code == 200 and r.get_json()["submitted_on"] == "2026-06-30"
    assert mine.post(f"/api/v1/evaluations/{ev.id}/submission", json={}).status_code == 409


def test_grant_to_equity_grants_get_periodic_post_investment_reviews_that_gate_tranches(bureau, db):
    from evaluations.service import mark_overdue, schedule_all
    from grants.errors import GateClosed
    from grants.models import User
    from grants.disbursement import pay_tranche

    g = GrantFactory(category=Category.GRANT_TO_EQUITY, status=GrantStatus.ACTIVE, start_date=date(2025, 1, 1),
                     end_date=date(2027, 12, 31))
    EquityInvestmentFactory(grant=g)
    t = TrancheFactory(grant=g, seq=1, amount=Decimal("100000.00"))
    db.session.commit()
    schedule_all()
    got = [(e["kind"], e["due_date"]) for e in bureau.get(f"/api/v1/grants/{g.id}/evaluations").get_json()
           if e["kind"] == "post_investment_review"]
    assert got == [("post_investment_review", "2026-01-01"), ("post_investment_review", "2027-01-01"),
                   ("post_investment_review", "2028-01-01")]
    late = mark_overdue(date(2026, 1, 2))
    assert {e.kind for e in late} == {EvaluationKind.POST_INVESTMENT_REVIEW, EvaluationKind.ANNUAL}
    with pytest.raises(GateClosed, match="EVAL-POSTINVEST-BLOCKS-TRANCHE"):
        pay_tranche(g.id, t.id, db.session.get(User, bureau.user.id))


def test_migration_maps_scheduled_evaluations_to_due(app):
    """The scheduler migration (0006) turns every ``scheduled`` row into ``due``; results stay (checked on the migration's own SQL)."""
    import pathlib

    text = pathlib.Path("migrations/versions/0006_evaluations_outbox_scheduler.py").read_text()
    assert "UPDATE evaluations SET status = 'due' WHERE status = 'scheduled'" in text


def test_a_failed_send_is_retried_and_a_message_is_never_sent_twice(app, db, smtp):
    from grants import mail

    m = mail.enqueue(db.session, "test:retry", ["a@example.org"], "主题 / subject", "正文 / body")
    assert mail.enqueue(db.session, "test:retry", ["a@example.org"], "again", "again") is None  # same key: no
    db.session.commit()
    smtp.refuse = True
    assert mail.deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
    assert m.status == "pending" and m.attempts == 1 and "451" in m.last_error
    smtp.refuse = False
    assert mail.deliver_due()["sent"] == 0                      # backing off: not yet
    set_clock(lambda: datetime.now(TZ) + timedelta(minutes=5))
    try:
        assert mail.deliver_due()["sent"] == 1
        assert mail.deliver_due()["sent"] == 0
    finally:
        set_clock(None)
    assert len(smtp.messages) == 1 and m.status == "sent" and m.message_id

    stuck = mail.enqueue(db.session, "test:stuck", ["b@example.org"], "s", "b")
    stuck.status, stuck.claimed_at = "sending", datetime.now(TZ) - timedelta(hours=1)  # a deliverer died mid-send
    db.session.commit()
    assert mail.deliver_due()["sent"] == 0 and stuck.status == "uncertain" and len(smtp.messages) == 1
