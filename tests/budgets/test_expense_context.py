"""One expense's facts are read in a few round trips (``load_expense_context``): the grant with its institution,
PI, money disbursed, the payee's standing and the policy in force; then its lines; earlier payments only as far
as a rule can use them. These tests pin what that reading must still see, through the API on both databases."""
from decimal import Decimal

from tests.budgets.test_expense_api import active_grant, expense
from tests.budgets.test_rulebook_api import big_grant
from tests.factories import ResearcherFactory


def labour_fee(g, payee, **kw):
    return expense(g, subject="labour", purpose="labour_fee", description="临时聘用人员劳务费", payee_name=payee,
                   payee_kind="individual", invoice_no=None, invoice_verified=None, amount="3000.00", **kw)


def rule_ids(body):
    return {f["rule_id"] for f in body["findings"]}


def test_a_labour_fee_to_a_name_on_the_institutions_payroll_is_caught_and_only_that(login, db):
    g = active_grant()
    ResearcherFactory(institution=g.institution, name="王五", salaried=True)
    ResearcherFactory(institution=g.institution, name="赵六", salaried=False)
    ResearcherFactory(name="孙七", salaried=True)          # salaried, but at another institution
    db.session.commit()
    staff = login("institution", g.institution)
    for payee in ("王五", " 王五 "):
        body = staff.post("/api/v1/expenses/check", json=labour_fee(g, payee)).get_json()
        assert "PAYEE-LABOUR-SALARIED" in rule_ids(body) and body["verdict"] == "needs_approval", body
    for payee in ("赵六", "孙七", "王五五"):
        body = staff.post("/api/v1/expenses/check", json=labour_fee(g, payee)).get_json()
        assert "PAYEE-LABOUR-SALARIED" not in rule_ids(body), (payee, body)


def test_the_split_look_back_reads_the_window_to_the_day(login, db):
    """Earlier purchases are read only within the rule's 30 days: 30 days before counts, 31 does not."""
    g = big_grant(db)
    staff = login("institution", g.institution)
    ids = {}
    for day in ("2026-04-11", "2026-04-12"):
        r = staff.post("/api/v1/expenses", json=expense(g, expense_date=day, amount="400000.00",
                                                         invoice_no=f"W-{day}", payee_name="某仪器公司"))
        assert r.get_json()["verdict"] == "allow", r.get_json()
        ids[day] = r.get_json()["id"]
    body = staff.post("/api/v1/expenses/check", json=expense(g, expense_date="2026-05-12", amount="600000.00",
                                                              invoice_no="W-3", payee_name="某仪器公司")).get_json()
    (f,) = [f for f in body["findings"] if f["rule_id"] == "PROC-SPLIT"]
    assert f["figures"]["earlier_expense_ids"] == [ids["2026-04-12"]]
    assert Decimal(f["figures"]["total"]) == Decimal("1000000.00")
    under = staff.post("/api/v1/expenses/check", json=expense(g, expense_date="2026-05-13", amount="600000.00",
                                                               invoice_no="W-4", payee_name="某仪器公司")).get_json()
    assert "PROC-SPLIT" not in rule_ids(under)   # 04-12 is now 31 days back


def test_the_policy_in_force_is_the_one_of_the_expense_date(login):
    g = active_grant()
    staff = login("institution", g.institution)
    old = staff.post("/api/v1/expenses/check", json=expense(g, expense_date="2025-06-01")).get_json()
    new = staff.post("/api/v1/expenses/check", json=expense(g, expense_date="2026-06-01")).get_json()
    assert new["policy_version"].endswith("2026.1") and old["policy_version"] != new["policy_version"]


def test_a_revoked_token_is_refused_on_the_next_request(login, db):
    from grants.models import ApiToken

    g = active_grant()
    staff = login("institution", g.institution)
    assert staff.post("/api/v1/expenses/check", json=expense(g)).status_code == 200
    for t in db.session.query(ApiToken).filter_by(user_id=staff.user.id):
        t.revoked = True
    db.session.commit()
    assert staff.post("/api/v1/expenses/check", json=expense(g)).status_code == 401
