"""The rulebook through the API and the importer: the dry run shows a travel claim's computed allowance, the
new facts are stored, and splitting is found from the expenses already on file (and earlier rows of a file)."""
from decimal import Decimal

from sqlalchemy import select

from budgets.expenses import fields as ef
from budgets.models import Expense
from tests.budgets.test_expense_api import active_grant, expense
from tests.budgets.test_import import csv_bytes, upload

BIG = {"equipment": "3000000.00", "operations": "6000000.00", "labour": "500000.00", "indirect": "500000.00"}


def trip(g, **kw):
    return expense(g, **{**dict(expense_date="2026-05-12", purpose="travel", description="赴北京参加项目推进会",
                                payee_name="张三", payee_kind="project_member", payment_method="official_card",
                                invoice_no=f"TRV-{g.id}", trip_city="北京", traveller_rank="other", nights=2, travel_days=3,
                                hotel_invoice=True, lodging_amount="1000.00", fare_amount="1100.00", amount="2640.00"),
                         **kw})


def big_grant(db):
    g = active_grant(lines=BIG, disbursed="10000000.00")
    g.fiscal_amount = Decimal("10000000.00")
    db.session.commit()
    return g


def test_the_dry_run_of_a_travel_claim_shows_the_computed_allowance(login):
    g = active_grant()
    staff = login("institution", g.institution)
    body = staff.post("/api/v1/expenses/check", json=trip(g)).get_json()
    assert body["verdict"] == "allow" and body["policy_version"].endswith("2026.1"), body
    (c,) = [c for c in body["calculations"] if c["rule_id"] == "TRAVEL-ALLOWANCE"]
    assert c["figures"]["allowance"] == "2640.00" and c["figures"]["nightly_cap"] == "500.00"
    assert "合计可报销 2,640.00 元" in c["message_zh"]
    over = staff.post("/api/v1/expenses/check", json=trip(g, amount="2640.01")).get_json()
    assert over["verdict"] == "reject"
    assert [f["figures"]["excess"] for f in over["findings"] if f["rule_id"] == "TRAVEL-ALLOWANCE"] == ["0.01"]


def test_the_new_facts_are_validated_stored_and_missing_ones_named(login, db):
    g = active_grant()
    staff = login("institution", g.institution)
    bad = staff.post("/api/v1/expenses/check", json=trip(g, traveller_rank="emperor"))
    assert bad.status_code == 422 and "traveller_rank" in str(bad.get_json())
    r = staff.post("/api/v1/expenses", json=trip(g))
    assert r.status_code == 201 and r.get_json()["traveller_rank"] == "other"
    e = db.session.get(Expense, r.get_json()["id"])
    assert (e.trip_city, e.nights, e.lodging_amount) == ("北京", 2, Decimal("1000.00"))
    missing = staff.post("/api/v1/expenses/check", json=expense(g, expense_date="2026-05-12", purpose="meeting",
                                                                description="学术研讨会", invoice_no="M-1")).get_json()
    assert missing["verdict"] == "needs_approval"
    assert {f["missing_field"] for f in missing["findings"]} >= {"meeting_class", "attendees", "meeting_days"}


def test_purchases_from_one_vendor_within_30_days_that_pass_the_threshold_are_flagged_naming_the_earlier(login, db):
    g = big_grant(db)
    staff = login("institution", g.institution)
    ids = []
    for i, day in enumerate(("2026-04-20", "2026-05-01")):
        r = staff.post("/api/v1/expenses", json=expense(g, expense_date=day, amount="400000.00", invoice_no=f"S-{i}",
                                                         payee_name="某试剂公司"))
        assert r.get_json()["verdict"] == "allow", r.get_json()
        ids.append(r.get_json()["id"])
    body = staff.post("/api/v1/expenses/check", json=expense(g, expense_date="2026-05-12", amount="200000.00",
                                                              invoice_no="S-2", payee_name="某试剂公司")).get_json()
    (f,) = [f for f in body["findings"] if f["rule_id"] == "PROC-SPLIT"]
    assert body["verdict"] == "needs_approval" and f["figures"]["earlier_expense_ids"] == ids
    other = staff.post("/api/v1/expenses/check", json=expense(g, expense_date="2026-05-12", amount="200000.00",
                                                               invoice_no="S-3", payee_name="另一家公司")).get_json()
    assert other["verdict"] == "allow"


def test_the_importer_reads_the_new_columns_and_sees_earlier_rows_of_the_same_file(login, db):
    g = big_grant(db)
    staff = login("institution", g.institution)
    header = "课题编号,支出日期,金额,预算科目,用途,摘要,收款方,收款方类型,支付方式,发票号码,发票查验,出差城市,出差人员级别,住宿天数,出差天数,住宿发票,住宿费,城市间交通费\n"
    rows = [f"{g.code},2026-05-02,600000.00,业务费,materials,试剂,某试剂公司,供应商,银行转账,I-1,是,,,,,,,",
            f"{g.code},2026-05-10,400000.00,业务费,materials,试剂,某试剂公司,供应商,银行转账,I-2,是,,,,,,,",
            f"{g.code},2026-05-12,2640.00,业务费,travel,出差,张三,项目组成员,公务卡,I-3,是,北京,其余人员,2,3,是,1000.00,1100.00"]
    rep = upload(staff, csv_bytes(rows, header), "r.csv").get_json()
    assert [r["verdict"] for r in rep["report"]] == ["allow", "needs_approval", "allow"], rep["report"]
    assert "PROC-SPLIT" in rep["report"][1]["rule_ids"]


def test_every_new_field_says_which_purposes_need_it():
    rulebook = [f for f in ef.FIELDS if f.for_purposes]
    assert {f.name for f in rulebook} >= {"trip_city", "traveller_rank", "nights", "meeting_class", "attendees",
                                          "procurement_method", "partner_in_task_book", "fee_basis"}
    assert ef.BY_NAME["trip_city"].for_purposes == ("travel",) and ef.BY_NAME["amount"].for_purposes == ()


def test_the_fields_of_a_purpose_are_the_general_ones_plus_its_own():
    travel = {f.name for f in ef.fields_for_purpose("travel")}
    materials = {f.name for f in ef.fields_for_purpose("materials")}
    assert {"trip_city", "nights", "amount"} <= travel and "meeting_class" not in travel
    assert "procurement_method" in materials and "trip_city" not in materials
