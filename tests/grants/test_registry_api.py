"""Grant registry through the HTTP API: lifecycle, scoping, errors and money as strings."""
from datetime import date
from decimal import Decimal

import pytest

from grants.models import Category, FundingMode, GrantStatus
from tests.factories import BudgetLineFactory, GrantFactory, InstitutionFactory, ResearcherFactory


def _grant_body(inst, pi, **kw):
    body = {"code": "KJ-T-1", "title": "黄河流域生态修复关键技术", "institution_id": inst.id, "pi_id": pi.id,
            "category": "competitive", "funding_mode": "budgeted", "fiscal_amount": "1000000.00",
            "start_date": "2025-01-01", "end_date": "2026-12-31"}
    body.update(kw)
    return body


def _full_budget(grant_id, api):
    return api.put(f"/api/v1/grants/{grant_id}/budget", json={"lines": [
        {"subject": "equipment", "amount": "300000.00"}, {"subject": "operations", "amount": "400000.00"},
        {"subject": "labour", "amount": "200000.00"}, {"subject": "indirect", "amount": "100000.00"}]})


def test_institution_staff_create_a_draft_grant_and_money_is_a_string(login, db):
    inst = InstitutionFactory()
    pi = ResearcherFactory(institution=inst)
    staff = login("institution", inst)
    r = staff.post("/api/v1/grants", json=_grant_body(inst, pi, fiscal_amount="1234.5"))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "draft"
    assert body["fiscal_amount"] == "1234.50"
    assert body["self_raised_amount"] == "0.00"


@pytest.mark.parametrize("amount,why", [
    ("1000.005", "decimal"), ("NaN", "valid"), ("Infinity", "valid"), ("-5.00", "negative"), (True, "valid"),
    ("abc", "valid"), ("1e20", "valid"), ("1" + "0" * 20, "large"), ("1,5", "valid"), (12.5, "string"),
])
def test_bad_amounts_are_refused_naming_the_field(login, db, amount, why):
    inst = InstitutionFactory()
    pi = ResearcherFactory(institution=inst)
    staff = login("institution", inst)
    r = staff.post("/api/v1/grants", json=_grant_body(inst, pi, fiscal_amount=amount))
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation_error"
    assert "fiscal_amount" in body["errors"]
    assert why in " ".join(body["errors"]["fiscal_amount"]).lower()


def test_json_float_with_three_decimals_is_refused_not_rounded(login, db):
    inst = InstitutionFactory()
    pi = ResearcherFactory(institution=inst)
    staff = login("institution", inst)
    r = staff.post("/api/v1/grants", json=_grant_body(inst, pi, fiscal_amount=100.125))
    assert r.status_code == 422 and "fiscal_amount" in r.get_json()["errors"]


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"null", b'"text"', b"{\"code\": 5}"])
def test_malformed_bodies_get_json_4xx_never_500(bureau, raw):
    r = bureau.client.post("/api/v1/grants", data=raw, content_type="application/json",
                           headers={"Authorization": f"Bearer {bureau.token}"})
    assert 400 <= r.status_code < 500
    body = r.get_json()
    assert set(body) >= {"code", "message", "errors"}


def test_unauthenticated_calls_get_401(client):
    r = client.get("/api/v1/grants")
    assert r.status_code == 401 and r.get_json()["code"] == "unauthorized"


def test_lifecycle_follows_only_legal_transitions(bureau, db):
    g = GrantFactory()
    _full_budget(g.id, bureau)
    path = f"/api/v1/grants/{g.id}/actions/"
    r = bureau.post(path + "accept", json={})
    assert r.status_code == 409
    body = r.get_json()
    assert body["code"] == "illegal_transition"
    assert "draft" in body["message"] and "closing" in body["message"]
    for action, status in [("approve", "approved"), ("activate", "active"), ("suspend", "suspended"),
                           ("resume", "active"), ("request_acceptance", "closing"), ("accept", "accepted"),
                           ("close", "closed")]:
        r = bureau.post(path + action, json={"reason": "审核"})
        assert r.status_code == 200, (action, r.get_json())
        assert r.get_json()["status"] == status
    assert bureau.post(path + "activate", json={}).status_code == 409
    assert bureau.post(path + "teleport", json={}).status_code == 404


def test_suspension_resumes_to_the_status_it_left(bureau, db):
    g = GrantFactory(status=GrantStatus.CLOSING)
    assert bureau.post(f"/api/v1/grants/{g.id}/actions/suspend", json={}).get_json()["status"] == "suspended"
    assert bureau.post(f"/api/v1/grants/{g.id}/actions/resume", json={}).get_json()["status"] == "closing"


def test_approval_requires_a_budget_equal_to_the_fiscal_amount(bureau, db):
    g = GrantFactory(fiscal_amount=Decimal("1000000.00"))
    BudgetLineFactory(grant=g, subject="operations", amount=Decimal("900000.00"))
    r = bureau.post(f"/api/v1/grants/{g.id}/actions/approve", json={})
    assert r.status_code in (409, 422)
    assert bureau.get(f"/api/v1/grants/{g.id}").get_json()["status"] == "draft"


def test_lump_sum_grant_gets_a_single_pool_on_approval(bureau, db):
    g = GrantFactory(funding_mode=FundingMode.LUMP_SUM, fiscal_amount=Decimal("600000.00"))
    assert bureau.post(f"/api/v1/grants/{g.id}/actions/approve", json={}).status_code == 200
    lines = bureau.get(f"/api/v1/grants/{g.id}/budget").get_json()["lines"]
    assert [(l["subject"], l["amount"]) for l in lines] == [("lump_sum", "600000.00")]


def test_institution_staff_may_not_approve_their_own_grant(login, db):
    g = GrantFactory()
    staff = login("institution", g.institution)
    r = staff.post(f"/api/v1/grants/{g.id}/actions/approve", json={})
    assert r.status_code == 403


def test_institution_sees_only_its_own_grants(login, db):
    mine, theirs = GrantFactory(), GrantFactory()
    staff = login("institution", mine.institution)
    listed = staff.get("/api/v1/grants").get_json()
    assert [g["id"] for g in listed] == [mine.id]
    assert staff.get(f"/api/v1/grants/{theirs.id}").status_code == 404
    assert staff.patch(f"/api/v1/grants/{theirs.id}", json={"title": "x"}).status_code == 404
    assert staff.get(f"/api/v1/grants/{theirs.id}/tranches").status_code == 404
    r = staff.post("/api/v1/grants", json=_grant_body(theirs.institution, theirs.pi, code="X-1"))
    assert r.status_code == 404


def test_bureau_reads_all_and_auditor_writes_nothing(bureau, auditor, db):
    a, b = GrantFactory(), GrantFactory()
    assert {g["id"] for g in bureau.get("/api/v1/grants").get_json()} >= {a.id, b.id}
    assert {g["id"] for g in auditor.get("/api/v1/grants").get_json()} >= {a.id, b.id}
    for method, url, body in [("post", "/api/v1/grants", _grant_body(a.institution, a.pi, code="Y")),
                              ("patch", f"/api/v1/grants/{a.id}", {"title": "改"}),
                              ("post", f"/api/v1/grants/{a.id}/actions/approve", {}),
                              ("post", "/api/v1/institutions", {"name": "x", "kind": "university"})]:
        r = getattr(auditor, method)(url, json=body)
        assert r.status_code == 403, (url, r.get_json())
        assert r.get_json()["code"] == "forbidden"


def test_list_filters_and_pagination(bureau, db):
    inst = InstitutionFactory()
    for i in range(5):
        GrantFactory(institution=inst, category=Category.STABLE if i % 2 else Category.COMPETITIVE,
                     start_date=date(2024 + i, 1, 1), end_date=date(2024 + i, 12, 31))
    r = bureau.get(f"/api/v1/grants?institution_id={inst.id}&category=stable")
    assert [g["category"] for g in r.get_json()] == ["stable", "stable"]
    r = bureau.get(f"/api/v1/grants?institution_id={inst.id}&start_from=2026-01-01&start_to=2027-06-30")
    assert sorted(g["start_date"] for g in r.get_json()) == ["2026-01-01", "2027-01-01"]
    r = bureau.get(f"/api/v1/grants?institution_id={inst.id}&page=2&page_size=2")
    assert len(r.get_json()) == 2
    assert '"total": 5' in r.headers["X-Pagination"]
    assert bureau.get("/api/v1/grants?category=nonsense").status_code == 422


def test_core_fields_lock_after_draft(bureau, db):
    g = GrantFactory(status=GrantStatus.ACTIVE)
    r = bureau.patch(f"/api/v1/grants/{g.id}", json={"fiscal_amount": "1.00"})
    assert r.status_code == 409 and "fiscal_amount" in r.get_json()["errors"]
    assert bureau.patch(f"/api/v1/grants/{g.id}", json={"title": "新题目"}).get_json()["title"] == "新题目"


def test_end_before_start_is_refused(bureau, db):
    inst = InstitutionFactory()
    pi = ResearcherFactory(institution=inst)
    r = bureau.post("/api/v1/grants", json=_grant_body(inst, pi, start_date="2026-01-01", end_date="2025-01-01"))
    assert r.status_code == 422 and "end_date" in r.get_json()["errors"]


def test_institutions_and_researchers_crud(bureau, login, db):
    r = bureau.post("/api/v1/institutions", json={"name": "鄂尔多斯新能源研究院", "kind": "new_rd_institution"})
    assert r.status_code == 201
    inst_id = r.get_json()["id"]
    assert bureau.post("/api/v1/institutions", json={"name": "鄂尔多斯新能源研究院", "kind": "university"}).status_code == 409
    assert bureau.patch(f"/api/v1/institutions/{inst_id}", json={"region": "康巴什区"}).get_json()["region"] == "康巴什区"
    r = bureau.post("/api/v1/researchers", json={"institution_id": inst_id, "name": "李青", "birth_date": "1990-02-03"})
    assert r.status_code == 201
    rid = r.get_json()["id"]
    other = login("institution", InstitutionFactory())
    assert other.get(f"/api/v1/researchers/{rid}").status_code == 404
    assert other.get(f"/api/v1/institutions/{inst_id}").status_code == 404
    assert bureau.patch(f"/api/v1/researchers/{rid}", json={"salaried": False}).get_json()["salaried"] is False


def test_the_api_ignores_a_browser_session_cookie(app, db):
    """The API is CSRF-exempt, so it authenticates by bearer token only — a logged-in browser is not enough."""
    from grants.accounts import create_user

    create_user("web_bureau", "finance_bureau", "a-long-password")
    client = app.test_client()
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "web_bureau", "password": "a-long-password", "csrf_token": token})
    assert r.status_code == 302 and client.get("/").status_code == 200     # logged in for the pages
    assert client.get("/api/v1/grants").status_code == 401                 # but not for the API
    assert client.post("/api/v1/institutions", json={"name": "x", "kind": "university"}).status_code == 401


def test_out_of_range_numbers_and_bad_text_never_give_500(bureau, db):
    """Found by fuzzing the OpenAPI document (schemathesis): each of these once answered 500."""
    huge = 10**30
    assert bureau.get(f"/api/v1/grants/{huge}").status_code == 404
    assert bureau.post(f"/api/v1/expenses/{huge}/reversal", json={"reason": "x"}).status_code == 404
    r = bureau.get(f"/api/v1/institutions?page={huge}&page_size=10")
    assert r.status_code == 200 and r.get_json() == []
    r = bureau.get(f"/api/v1/grants?institution_id={huge}")
    assert r.status_code in (200, 422)
    inst = InstitutionFactory()
    r = bureau.post("/api/v1/researchers", json={"institution_id": huge, "name": "x", "birth_date": "1990-01-01"})
    assert r.status_code in (404, 422)
    r = bureau.patch(f"/api/v1/institutions/{inst.id}", data=b'{"region": "\\ud800 lone surrogate"}',
                     content_type="application/json")
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"


def test_institutions_without_a_credit_code_do_not_collide(bureau, db):
    for name in ("甲研究院", "乙研究院"):
        r = bureau.post("/api/v1/institutions", json={"name": name, "kind": "research_institute", "credit_code": ""})
        assert r.status_code == 201 and r.get_json()["credit_code"] is None
    dup = bureau.post("/api/v1/institutions", json={"name": "丙", "kind": "enterprise", "credit_code": "911506"})
    assert dup.status_code == 201
    r = bureau.post("/api/v1/institutions", json={"name": "丁", "kind": "enterprise", "credit_code": "911506"})
    assert r.status_code == 409 and r.get_json()["code"] == "conflict"
