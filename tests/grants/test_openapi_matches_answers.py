"""The OpenAPI document says what the answers carry (issue #9, item 12); the schemathesis run in
tests/test_api_conformance.py checks it across every operation, these name each mismatch found."""
import json

from tests.factories import GrantFactory


def _spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def test_error_code_is_documented_as_the_string_it_is(client, bureau, db):
    spec = _spec(client)
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string"
    assert set(error["required"]) == {"code", "message", "errors"}
    body = bureau.get("/api/v1/grants/999999").get_json()
    assert isinstance(body["code"], str) and set(body) >= {"code", "message", "errors"}


def test_money_is_documented_as_a_string_with_a_pattern(client, bureau, db):
    import re

    prop = _spec(client)["components"]["schemas"]["Grant"]["properties"]["fiscal_amount"]
    assert prop["type"] == "string" and prop["pattern"]
    g = GrantFactory()
    sent = bureau.get(f"/api/v1/grants/{g.id}").get_json()["fiscal_amount"]
    assert isinstance(sent, str) and re.fullmatch(prop["pattern"], sent)


def test_pagination_header_is_documented_as_json_text(client, bureau, db):
    header = _spec(client)["components"]["headers"]["PAGINATION"]
    assert header["schema"]["type"] == "string"
    GrantFactory()
    sent = bureau.get("/api/v1/grants").headers["X-Pagination"]
    assert json.loads(sent)["total"] >= 1


def test_ids_beyond_32_bits_are_not_found_or_named(client, bureau, login, db):
    assert bureau.get(f"/api/v1/grants/{2**31}").status_code == 404
    assert bureau.get(f"/api/v1/expenses/{2**40}").status_code == 404
    assert bureau.patch(f"/api/v1/grants/{2**31}", json={"title": "x"}).status_code == 404
    r = bureau.get(f"/api/v1/grants?institution_id={2**31}")
    assert r.status_code == 422 and "institution_id" in r.get_json()["errors"]
    g = GrantFactory()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses/check", json={"grant_id": 2**31, "expense_date": "2025-06-01",
                                                    "amount": "1.00", "subject": "operations"})
    assert r.status_code == 422 and "grant_id" in r.get_json()["errors"]
    params = _spec(client)["paths"]["/api/v1/grants/{grant_id}"]["parameters"]
    assert params[0]["schema"]["maximum"] == 2**31 - 1


def test_a_patch_without_a_body_is_refused(client, bureau, db):
    g = GrantFactory()
    for kw in ({}, {"data": "", "content_type": "application/json"}, {"data": "[]", "content_type": "application/json"}):
        r = bureau.patch(f"/api/v1/grants/{g.id}", **kw)
        assert r.status_code == 422 and r.get_json()["code"] == "invalid"
    assert bureau.patch(f"/api/v1/grants/{g.id}", json={"title": "新题目"}).status_code == 200
    # an anonymous PATCH is still a 401 first
    assert client.patch(f"/api/v1/grants/{g.id}").status_code == 401


def test_timestamps_carry_their_offset(client, bureau, db):
    from datetime import datetime

    for v in bureau.get("/api/v1/policies").get_json():
        assert datetime.fromisoformat(v["loaded_at"]).tzinfo is not None
