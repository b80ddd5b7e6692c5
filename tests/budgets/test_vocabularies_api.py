"""Closed vocabularies through the API and the importer (issue #8), on SQLite and PostgreSQL."""
from __future__ import annotations

import string
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from budgets.expenses import fields as ef
from compliance.models import PolicyVersion
from compliance.policy import version_in_force
from tests.budgets.test_expense_api import active_grant, expense
from tests.budgets.test_import import csv_bytes, upload

PURPOSES = ef.BY_NAME["purpose"].values


def test_an_unknown_purpose_is_refused_with_the_accepted_codes(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses", json=expense(g, purpose="expert_consulting"))
    assert r.status_code == 422
    message = " ".join(r.get_json()["errors"]["purpose"])
    assert "expert_consulting" in message and "materials" in message and "expert_fee" in message


def test_a_label_sent_as_a_code_is_refused_naming_the_code_it_stands_for(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses/check", json=expense(g, purpose="罚款"))
    assert r.status_code == 422
    assert "fine" in " ".join(r.get_json()["errors"]["purpose"])


def test_every_closed_field_refuses_an_unknown_code(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    for name in ("subject", "purpose", "payee_kind", "payment_method", "fund_source", "expert_title"):
        r = staff.post("/api/v1/expenses/check", json=expense(g, **{name: "no_such_code"}))
        assert r.status_code == 422 and name in r.get_json()["errors"], name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=24))
def test_no_unknown_purpose_is_ever_allowed(login, db, code):
    g = active_grant()
    staff = login("institution", g.institution)
    r = staff.post("/api/v1/expenses/check", json=expense(g, purpose=code))
    if code in PURPOSES:
        assert r.status_code == 200
    else:
        assert r.status_code == 422, r.get_json()


def test_a_forbidden_purpose_is_rejected_whatever_the_description(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, purpose="shopping_card", description="实验试剂")).get_json()
    assert body["verdict"] == "reject" and body["findings"][0]["rule_id"] == "NEG-GIFTCARD"


def test_a_rephrased_forbidden_description_is_rejected_through_the_api(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses", json=expense(g, purpose="other", description="繳納 交通違章 罰 款")).get_json()
    assert body["verdict"] == "reject" and "NEG-FINE-ETC" in [f["rule_id"] for f in body["findings"]]


def test_the_dry_run_names_every_field_an_expert_fee_needs(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses/check", json=expense(
        g, purpose="expert_fee", description="中期评审", payee_name=None, payee_kind="external_expert")).get_json()
    assert body["verdict"] == "needs_approval"
    assert {"expert_title", "expert_days", "payee_name"} <= {f["missing_field"] for f in body["findings"]}


def test_the_vocabularies_endpoint_serves_the_drop_downs(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.get("/api/v1/vocabularies").get_json()
    assert body["version"] == "2026.1"
    by_name = {v["name"]: v for v in body["vocabularies"]}
    assert {"subjects", "purposes", "payee_kinds", "payment_methods", "fund_sources", "expert_titles"} <= set(by_name)
    materials = next(c for c in by_name["purposes"]["codes"] if c["code"] == "materials")
    assert materials["zh"] == "材料费" and materials["en"] == "materials" and "试剂" in materials["synonyms"]
    assert [c["code"] for c in by_name["purposes"]["codes"]] == list(PURPOSES)


def test_openapi_shows_the_codes_as_enums_with_true_examples_and_marks_required_fields(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    props = spec["components"]["schemas"]["ExpenseIn"]["properties"]
    assert [c for c in props["purpose"]["enum"] if c is not None] == list(PURPOSES)   # null: the field is optional
    assert props["purpose"]["example"] in PURPOSES
    for name in ("subject", "payee_kind", "payment_method", "fund_source", "expert_title"):
        assert props[name]["example"] in props[name]["enum"], name
    assert "expert_consulting" not in str(spec) and "labour, equipment_purchase" not in str(spec)
    assert "expert_fee" in props["payee_name"]["x-required-for"]["purpose"]
    assert props["unit_value"]["x-required-for"] == {"subject": ["equipment"],
                                                      "purpose": ["equipment_purchase", "equipment_trial"]}


def test_the_importer_accepts_codes_labels_synonyms_and_traditional_characters(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([
        f"{g.code},2025-06-01,100.00,业务费,materials,试剂,化玻公司,供应商,银行转账,V-1,是",
        f"{g.code},2025-06-02,100.00,業務費,材料費,试剂,化玻公司,销售方,转账,V-2,是",
        f"{g.code},2025-06-03,100.00,operations,测试化验加工费,XRD,测试中心,单位,公务卡,V-3,是",
        f"{g.code},2025-06-04,100.00,业务费,罚款,交通,交警支队,政府部门,银行转账,V-4,是",
    ])
    rep = upload(staff, content, "vocab.csv").get_json()
    assert rep["committed"] and rep["invalid"] == 0, rep
    assert [r["verdict"] for r in rep["report"]] == ["allow", "allow", "allow", "reject"]
    assert "NEG-FINE-ETC" in rep["report"][3]["rule_ids"]


def test_the_importer_refuses_an_unknown_code_naming_the_accepted_ones(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    content = csv_bytes([f"{g.code},2025-06-01,100.00,业务费,招待,宴请,饭店,供应商,银行转账,V-9,是"])
    r = upload(staff, content, "bad.csv")
    assert r.status_code == 422
    errors = r.get_json()["report"][0]["errors"]
    assert "purpose" in errors and "materials" in errors["purpose"][0]


def test_the_restated_version_is_in_force_on_the_old_versions_dates(db):
    for on, version in ((date(2020, 1, 1), "2020.2"), (date(2025, 6, 1), "2021.2")):
        assert version_in_force(db.session, on).version == version
    assert db.session.scalars(select(PolicyVersion.version).where(PolicyVersion.version.in_(["2020.1", "2021.1"]))).all()
