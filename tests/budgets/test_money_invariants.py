"""Grant-level money invariants (issue #8), through the API with the books as witness.

- what is posted never exceeds the grant's fiscal amount, however the bureau approves;
- an over-budget subject is approved only after an approved 预算调剂 (the verdict says which, the approval
  answers 409 naming it);
- every expense on a 包干制 grant draws on its pool, every posted expense draws on some budget line;
- money invested under 拨改投 counts as paid out;
- a subject a fund source forbids (indirect costs on 中央引导地方 money) is rejected on the expense too.
"""
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from budgets.expenses import importer
from budgets.models import BudgetLine
from grants.ledger import LedgerEntry
from grants.models import Category, FundingMode, InstitutionKind
from tests.budgets.test_expense_api import active_grant, expense, line
from tests.budgets.test_import import csv_bytes, upload
from tests.factories import EquityInvestmentFactory

ALL_LINES = {"equipment": "300000.00", "operations": "400000.00", "labour": "200000.00", "indirect": "100000.00"}


def posted_total(db, g) -> Decimal:
    return db.session.execute(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.grant_id == g.id, LedgerEntry.entry_type.in_(["expense", "reversal"]))).scalar_one()


def spend(staff, g, subject, amount, n, **kw):
    extra = {"equipment": dict(purpose="equipment_purchase", unit_value=amount, quantity=1, platform_registered=True),
             "labour": dict(purpose="labour_fee", payee_kind="student", payee_name=f"学生{n}", invoice_no=None,
                            invoice_verified=None),
             "indirect": dict(purpose="performance_pay", payee_kind="institution", invoice_no=None,
                              invoice_verified=None)}.get(subject, {})
    body = expense(g, subject=subject, amount=amount, **{"invoice_no": f"INV-{g.id}-{n}", **extra, **kw})
    return staff.post("/api/v1/expenses", json=body).get_json()


def test_bureau_approvals_cannot_push_spending_past_the_fiscal_amount(login, bureau, db):
    """The 1,010,000-on-1,000,000 case: an over-budget operations expense queued, every line then spent,
    and the bureau approves the queue."""
    g = active_grant(lines=ALL_LINES)
    staff = login("institution", g.institution)
    assert spend(staff, g, "operations", "400000.00", 0)["status"] == "posted"
    over = spend(staff, g, "operations", "10000.00", 1)
    assert over["verdict"] == "needs_approval"
    assert spend(staff, g, "equipment", "300000.00", 2)["status"] == "posted"
    assert spend(staff, g, "labour", "200000.00", 3)["status"] == "posted"
    last = spend(staff, g, "indirect", "100000.00", 4)
    # posted 900,000 + this 100,000 fits, but not with the 10,000 queued: it waits for that decision
    f = next(f for f in last["findings"] if f["rule_id"] == "GRANT-FISCAL-TOTAL")
    assert (last["status"], f["severity"], f["figures"]["excess"]) == ("pending", "needs_approval", "10000.00")
    for e in (over, last):
        r = bureau.post(f"/api/v1/expenses/{e['id']}/decision", json={"approve": True, "reason": "同意"})
        assert r.status_code == 409 and r.get_json()["code"] == "budget_exceeded"
    assert bureau.post(f"/api/v1/expenses/{over['id']}/decision",
                       json={"approve": False, "reason": "超预算"}).status_code == 200
    assert bureau.post(f"/api/v1/expenses/{last['id']}/decision",
                       json={"approve": True, "reason": "同意"}).status_code == 200
    db.session.expire_all()
    assert posted_total(db, g) == Decimal("1000000.00")
    # and once the grant is spent, more is refused outright, whatever the subject
    assert spend(staff, g, "operations", "0.01", 5)["verdict"] == "reject"


def test_spending_past_the_fiscal_amount_is_rejected_when_posted_money_alone_exceeds_it():
    """The engine's invariant, pure: posted + this > fiscal → reject, citing the task book."""
    from compliance.rules import judge
    from tests.compliance.rules.support import NO_CTX, P2021, expense as fx, grant as gx, line as lx

    g = gx(funding_mode="lump_sum", fiscal_amount=Decimal("1000"), lines={"lump_sum": lx("lump_sum", "5000", spent="900")})
    j = judge(fx(amount=Decimal("200")), g, NO_CTX, P2021)
    f = next(f for f in j.findings if f.rule_id == "GRANT-FISCAL-TOTAL")
    assert (j.verdict, f.severity, f.figures["excess"]) == ("reject", "reject", "100")
    assert "项目任务书" in f.source


def test_over_budget_operations_is_approved_only_after_an_approved_adjustment(login, bureau, db):
    g = active_grant(lines=ALL_LINES)
    staff = login("institution", g.institution)
    assert spend(staff, g, "operations", "395000.00", 1)["status"] == "posted"
    over = spend(staff, g, "operations", "10000.00", 2)
    assert over["verdict"] == "needs_approval"
    f = next(f for f in over["findings"] if f["kind"] == "budget_availability")
    assert f["figures"]["adjustment_needed"] == {"to_subject": "operations", "min_amount": "5000.00"}
    assert "预算调剂" in f["message_zh"] and "预算调剂" in f["source"] or "调剂" in f["source"]
    r = bureau.post(f"/api/v1/expenses/{over['id']}/decision", json={"approve": True, "reason": "同意"})
    body = r.get_json()
    assert r.status_code == 409 and body["adjustment_needed"] == {"to_subject": "operations", "min_amount": "5000.00"}
    assert "operations" in body["message"] and "5,000.00" in body["message"]
    # the PI moves 5,000 from labour (recorded at once), and now the approval goes through
    adj = staff.post(f"/api/v1/grants/{g.id}/adjustments",
                     json={"from_subject": "labour", "to_subject": "operations", "amount": "5000.00"})
    assert adj.status_code == 201 and adj.get_json()["status"] == "recorded"
    r = bureau.post(f"/api/v1/expenses/{over['id']}/decision", json={"approve": True, "reason": "已调剂"})
    assert r.status_code == 200 and r.get_json()["status"] == "posted"
    db.session.expire_all()
    ops = line(db, g, "operations")
    assert (ops.spent, ops.reserved, ops.available) == (Decimal("405000.00"), 0, 0)
    assert posted_total(db, g) == Decimal("405000.00")


def test_every_expense_on_a_lump_sum_grant_draws_on_its_pool_and_the_pool_never_goes_negative(login, bureau, db):
    g = active_grant(funding_mode=FundingMode.LUMP_SUM)
    staff = login("institution", g.institution)
    assert spend(staff, g, "operations", "600000.00", 1)["status"] == "posted"
    assert spend(staff, g, "equipment", "350000.00", 2)["status"] == "posted"
    db.session.expire_all()
    pool = line(db, g, "lump_sum")
    assert (pool.spent, pool.available) == (Decimal("950000.00"), Decimal("50000.00"))
    # no line other than the pool appears
    assert db.session.scalars(select(BudgetLine.subject).where(BudgetLine.grant_id == g.id)).all() == ["lump_sum"]
    over = spend(staff, g, "labour", "60000.00", 3)
    assert over["verdict"] in ("needs_approval", "reject") and over["status"] != "posted"
    if over["status"] == "pending":
        r = bureau.post(f"/api/v1/expenses/{over['id']}/decision", json={"approve": True, "reason": "同意"})
        assert r.status_code == 409
    db.session.expire_all()
    assert line(db, g, "lump_sum").available >= 0 and posted_total(db, g) == Decimal("950000.00")


def test_a_subject_the_budget_lacks_is_approved_only_after_money_is_moved_into_it(login, bureau, db):
    g = active_grant(lines={"equipment": "300000.00", "operations": "600000.00", "indirect": "100000.00"})
    staff = login("institution", g.institution)
    body = spend(staff, g, "labour", "1000.00", 1)
    assert body["verdict"] == "needs_approval"
    f = next(f for f in body["findings"] if f["rule_id"] == "SUBJECT-IN-BUDGET")
    assert f["figures"]["adjustment_needed"] == {"to_subject": "labour", "min_amount": "1000.00"}
    r = bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": True, "reason": "同意"})
    assert r.status_code == 409 and r.get_json()["adjustment_needed"]["to_subject"] == "labour"
    adj = staff.post(f"/api/v1/grants/{g.id}/adjustments",
                     json={"from_subject": "operations", "to_subject": "labour", "amount": "1000.00"})
    assert adj.status_code == 201, adj.get_json()
    r = bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": True, "reason": "已调剂"})
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    lab = line(db, g, "labour")
    assert (lab.amount, lab.adjusted, lab.spent, lab.reserved) == (0, Decimal("1000.00"), Decimal("1000.00"), 0)


def test_a_total_level_budget_posts_an_unbudgeted_subject_on_a_line_of_its_own(login, db):
    """经费预算+负面清单 (new R&D institutions): any known subject within the total; the money still lands on a line."""
    g = active_grant(kind=InstitutionKind.NEW_RD, lines={"operations": "1000000.00"})
    staff = login("institution", g.institution)
    body = spend(staff, g, "labour", "2000.00", 1)
    assert body["status"] == "posted", body["findings"]
    db.session.expire_all()
    assert line(db, g, "labour").spent == Decimal("2000.00")
    assert sum(l.spent for l in db.session.scalars(select(BudgetLine).where(BudgetLine.grant_id == g.id))) \
        == posted_total(db, g)


def test_money_invested_under_grant_to_equity_counts_as_paid_out(login, db):
    g = active_grant(category=Category.GRANT_TO_EQUITY, disbursed=None, lines={"operations": "1000000.00"})
    EquityInvestmentFactory(grant=g, amount=Decimal("500000.00"), conditions={"allowed_subjects": ["operations"]})
    staff = login("institution", g.institution)
    body = spend(staff, g, "operations", "5000.00", 1)
    assert body["verdict"] == "allow", body["findings"]
    beyond = spend(staff, g, "operations", "600000.00", 2)
    assert "DISBURSED-FUNDS" in [f["rule_id"] for f in beyond["findings"]]


def test_indirect_costs_on_central_guide_local_money_are_rejected_on_the_expense(login, db):
    g = active_grant(fund_source="central_guide_local")
    staff = login("institution", g.institution)
    body = spend(staff, g, "indirect", "1000.00", 1)
    assert body["verdict"] == "reject"
    f = next(f for f in body["findings"] if f["rule_id"] == "NO-INDIRECT-FUND-SOURCE")
    assert f["severity"] == "reject" and f["source"]
    # the expense's own fund source counts too
    g2 = active_grant()
    staff2 = login("institution", g2.institution)
    body = spend(staff2, g2, "indirect", "1000.00", 2, fund_source="central_guide_local")
    assert body["verdict"] == "reject"
    assert spend(staff2, g2, "indirect", "1000.00", 3)["verdict"] == "allow"


def test_an_unknown_fund_source_fails_closed_instead_of_switching_the_rule_off(login, bureau, db):
    g = active_grant(fund_source="central_guide_locl")   # a misspelling
    staff = login("institution", g.institution)
    body = spend(staff, g, "indirect", "1000.00", 1)
    assert body["verdict"] == "needs_approval"
    f = next(f for f in body["findings"] if f["rule_id"] == "NO-INDIRECT-FUND-SOURCE")
    assert f["missing_field"] == "fund_source" and "central_guide_local" in f["figures"]["known_fund_sources"]
    # failing closed asks for a person's decision, which the bureau may give
    r = bureau.post(f"/api/v1/expenses/{body['id']}/decision", json={"approve": True, "reason": "资金来源已核实"})
    assert r.status_code == 200 and r.get_json()["status"] == "posted"


def test_the_importer_holds_the_same_invariants(login, db):
    g = active_grant(funding_mode=FundingMode.LUMP_SUM, lines={"lump_sum": "1000000.00"})
    staff = login("institution", g.institution)
    rows = [f"{g.code},2025-06-0{i + 1},400000.00,{subj},materials,试剂,化玻公司,供应商,银行转账,IMP-{i},是"
            for i, subj in enumerate(["业务费", "业务费", "业务费"])]
    rep = upload(staff, csv_bytes(rows), "lump.csv").get_json()
    assert rep["committed"], rep
    assert [r["status"] for r in rep["report"]][:2] == ["posted", "posted"]
    assert rep["report"][2]["status"] != "posted"
    db.session.expire_all()
    pool = line(db, g, "lump_sum")
    assert pool.spent == Decimal("800000.00") and pool.available >= 0
    assert posted_total(db, g) == Decimal("800000.00")
    assert importer  # the path under test


def test_the_importer_books_unbudgeted_subjects_and_forbidden_indirect_costs_like_the_api(login, db):
    g = active_grant(fund_source="central_guide_local",
                     lines={"equipment": "300000.00", "operations": "600000.00", "indirect": "100000.00"})
    staff = login("institution", g.institution)
    rows = [f"{g.code},2025-06-01,1000.00,劳务费,labour_fee,助研劳务,张三,学生,银行转账,,",
            f"{g.code},2025-06-02,500.00,间接费用,performance_pay,绩效,依托单位,单位,内部转账,,",
            f"{g.code},2025-06-03,599999.00,业务费,materials,试剂,化玻公司,供应商,银行转账,IMP-B3,是",
            f"{g.code},2025-06-04,2.00,业务费,materials,试剂,化玻公司,供应商,银行转账,IMP-B4,是"]
    rep = upload(staff, csv_bytes(rows), "budgeted.csv").get_json()
    assert rep["committed"], rep
    assert [(r["verdict"], r["status"]) for r in rep["report"]] == [
        ("needs_approval", "pending"), ("reject", "rejected"), ("allow", "posted"), ("needs_approval", "pending")]
    assert "SUBJECT-IN-BUDGET" in rep["report"][0]["rule_ids"]
    assert "NO-INDIRECT-FUND-SOURCE" in rep["report"][1]["rule_ids"]
    db.session.expire_all()
    lab = line(db, g, "labour")      # opened with no money, holding the queued reservation
    assert (lab.amount, lab.reserved, lab.spent) == (0, Decimal("1000.00"), 0)
    assert line(db, g, "operations").reserved == Decimal("2.00")
    assert posted_total(db, g) == Decimal("599999.00")
