"""The institution hands in its self-assessment for a scheduled evaluation; results stay the bureau's."""
from datetime import date

import pytest

from evaluations.models import EvaluationStatus
from evaluations.submissions import submissions_for, submit_self_assessment
from grants.errors import Conflict, Forbidden, Invalid, NotFound
from tests.factories import EvaluationFactory, GrantFactory


def test_staff_submit_a_self_assessment_for_their_own_evaluation(login, db):
    g = GrantFactory()
    ev = EvaluationFactory(grant=g, due_date=date(2026, 6, 30))
    staff = login("institution", g.institution)
    sub = submit_self_assessment(ev.id, "  完成中期目标：样机一台，论文两篇  ", staff.user)
    assert sub.summary == "完成中期目标：样机一台，论文两篇" and sub.submitted_by == staff.user.id
    assert [s.id for s in submissions_for([ev.id], staff.user)[ev.id]] == [sub.id]


def test_submissions_are_refused_where_they_must_be(login, db):
    g = GrantFactory()
    ev = EvaluationFactory(grant=g, due_date=date(2026, 6, 30))
    done = EvaluationFactory(grant=g, due_date=date(2026, 12, 31), status=EvaluationStatus.PASSED)
    staff, other, auditor = login("institution", g.institution), login("institution"), login("auditor")
    db.session.commit()  # a refused submission rolls its transaction back: keep the set-up
    with pytest.raises(NotFound):
        submit_self_assessment(ev.id, "x", other.user)        # another institution's
    with pytest.raises(Forbidden):
        submit_self_assessment(ev.id, "x", auditor.user)      # read-only
    with pytest.raises(Invalid):
        submit_self_assessment(ev.id, "   ", staff.user)
    with pytest.raises(Conflict):
        submit_self_assessment(done.id, "late", staff.user)
