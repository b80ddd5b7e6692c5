"""The access policy (grants.access): auditors write nothing anywhere, the funder's objects are the bureau's."""
import re

import pytest

from grants import access
from grants.errors import Forbidden, NotFound
from grants.models import GrantStatus, Role, User
from tests.factories import GrantFactory, MilestoneFactory

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _api_writes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            for method in sorted(rule.methods & WRITES):
                yield method, re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "approve" if m.group(1) == "action" else "1",
                                     rule.rule), rule.endpoint


def test_an_auditor_is_refused_on_every_api_write_before_the_body_is_read(client, auditor, db):
    writes = list(_api_writes(client.application))
    assert len(writes) > 30
    for method, url, endpoint in writes:
        r = auditor.client.open(url, method=method, json={}, headers=auditor._h({}))
        if endpoint == "compliance.ExpenseCheck":
            assert r.status_code == 422, url  # the dry run is open to auditors: the empty body is what fails
        else:
            assert r.status_code == 403, (method, url, r.get_json())
            assert r.get_json()["code"] == "forbidden"


def test_only_the_bureau_sets_milestones(login, bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE)
    staff = login("institution", g.institution)
    body = {"title": "中期评估", "due_date": "2026-06-30"}
    assert staff.post(f"/api/v1/grants/{g.id}/milestones", json=body).status_code == 403
    m = MilestoneFactory(grant=g)
    assert staff.patch(f"/api/v1/grants/{g.id}/milestones/{m.id}", json={"title": "改"}).status_code == 403
    assert staff.get(f"/api/v1/grants/{g.id}/milestones").status_code == 200
    assert bureau.post(f"/api/v1/grants/{g.id}/milestones", json=body).status_code == 201


def test_institution_staff_see_and_write_only_their_own_institution():
    staff = User(role=Role.INSTITUTION, institution_id=7)
    assert access.visible_to(staff, 7) and not access.visible_to(staff, 8)
    assert access.confined_to(staff) == 7
    with pytest.raises(NotFound):
        access.require_writer_of(staff, 8)
    access.require_writer_of(staff, 7)
    with pytest.raises(Forbidden):
        access.require_funder(staff, "拨款")


@pytest.mark.parametrize("role", [Role.FINANCE_BUREAU, Role.ADMIN, Role.AUDITOR])
def test_the_bureau_and_auditors_see_every_institution(role):
    user = User(role=role)
    assert access.visible_to(user, 7) and access.confined_to(user) is None
    assert access.may_read_reports(user) and access.may_dry_run(user)


def test_auditors_write_nothing_and_only_the_administrator_administers():
    auditor = User(role=Role.AUDITOR)
    with pytest.raises(Forbidden):
        access.require_writer_of(auditor, 7)
    with pytest.raises(Forbidden):
        access.require_admin(User(role=Role.FINANCE_BUREAU))
    access.require_admin(User(role=Role.ADMIN))
