"""User and token administration: the service the admin pages use, and /api/v1/users for scripts."""
import pytest

from grants import users
from grants.errors import Forbidden, Invalid
from tests.factories import InstitutionFactory


def test_admin_creates_a_user_issues_and_revokes_a_token_through_the_api(login, db):
    admin = login("admin")
    inst = InstitutionFactory()
    r = admin.post("/api/v1/users", json={"username": "acct_zhang", "role": "institution", "password": "s3cret-pass",
                                          "institution_id": inst.id, "email": "zhang@example.cn",
                                          "display_name": "张会计"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["display_name"] == "张会计" and body["email"] == "zhang@example.cn" and body["token"].startswith("kj_")
    assert "password" not in body
    uid = body["id"]

    r = admin.post(f"/api/v1/users/{uid}/tokens", json={"label": "nightly import"})
    assert r.status_code == 201
    token, token_id = r.get_json()["token"], r.get_json()["id"]
    listed = admin.get(f"/api/v1/users/{uid}/tokens").get_json()
    assert {t["label"] for t in listed} == {"initial", "nightly import"} and all("token" not in t for t in listed)

    from tests.conftest import Caller

    script = Caller(admin.client, None, token)
    assert script.get("/api/v1/grants").status_code == 200           # the issued token works
    assert admin.client.delete(f"/api/v1/users/{uid}/tokens/{token_id}",
                               headers={"Authorization": f"Bearer {admin.token}"}).status_code == 204
    assert script.get("/api/v1/grants").status_code == 401           # revoked: refused

    assert admin.patch(f"/api/v1/users/{uid}", json={"active": False}).get_json()["active"] is False
    first = Caller(admin.client, None, body["token"])
    assert first.get("/api/v1/grants").status_code == 401            # a deactivated user's tokens stop too


def test_only_administrators_manage_users(login, db):
    bureau = login("finance_bureau")
    assert bureau.get("/api/v1/users").status_code == 403
    assert bureau.post("/api/v1/users", json={"username": "x", "role": "auditor", "password": "12345678"}).status_code == 403
    auditor = login("auditor")
    assert auditor.get("/api/v1/users").status_code == 403


def test_user_rules_are_checked(login, db):
    admin = login("admin")
    r = admin.post("/api/v1/users", json={"username": "inst_no_inst", "role": "institution", "password": "12345678"})
    assert r.status_code == 422 and "institution_id" in r.get_json()["errors"]
    r = admin.post("/api/v1/users", json={"username": "short", "role": "auditor", "password": "123"})
    assert r.status_code == 422 and "password" in r.get_json()["errors"]
    assert admin.post("/api/v1/users", json={"username": "dup", "role": "auditor", "password": "12345678"}).status_code == 201
    assert admin.post("/api/v1/users", json={"username": "dup", "role": "auditor", "password": "12345678"}).status_code == 409
    with pytest.raises(Invalid):
        users.update_user(admin.user.id, {"active": False}, admin.user)   # never lock yourself out
    with pytest.raises(Forbidden):
        users.list_users(login("institution").user)


def test_password_reset_changes_the_login(login, db):
    from grants.accounts import authenticate

    admin = login("admin")
    created, _ = users.create_user({"username": "pw_user", "role": "auditor", "password": "first-pass-1"}, admin.user)
    users.reset_password(created.id, "second-pass-2", admin.user)
    assert authenticate("pw_user", "first-pass-1") is None
    assert authenticate("pw_user", "second-pass-2").id == created.id
    assert admin.client.put(f"/api/v1/users/{created.id}/password", json={"password": "x"},
                            headers={"Authorization": f"Bearer {admin.token}"}).status_code == 422


def test_the_users_endpoints_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/users", "/api/v1/users/{user_id}", "/api/v1/users/{user_id}/tokens",
            "/api/v1/users/{user_id}/tokens/{token_id}", "/api/v1/users/{user_id}/password"} <= set(doc["paths"])
