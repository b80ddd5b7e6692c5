"""Invoices, payment method and related payees, judged against the real 2021 policy file.

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations


import pytest

from compliance.rules import Context, judge
from tests.compliance.rules.support import NO_CTX, P2021, expense, expert, grant, only


# ---------------------------------------------------------------------------- invoices (NEG-FAKE)

def test_duplicate_invoice_is_rejected_as_fake():
    """NEG-FAKE-DUPLICATE-INVOICE — 机构负面清单 第二项 (duplicate reimbursement)."""
    j = judge(expense(), grant(), Context(duplicate_invoice_of=77), P2021)
    f = only(j, "NEG-FAKE-DUPLICATE-INVOICE")
    assert f.severity == "reject" and f.figures["duplicate_of"] == 77
    assert "#77" in f.message_zh


def test_invoice_that_failed_tax_verification_is_rejected():
    """NEG-FAKE-INVOICE-UNVERIFIED — fake or unverifiable invoices."""
    j = judge(expense(invoice_verified=False), grant(), NO_CTX, P2021)
    assert only(j, "NEG-FAKE-INVOICE-UNVERIFIED").severity == "reject"


@pytest.mark.parametrize("changes, field", [({"invoice_no": None}, "invoice_no"),
                                            ({"invoice_verified": None}, "invoice_verified")])
def test_missing_invoice_data_needs_approval_naming_the_field(changes, field):
    """Fail closed: NEG-FAKE-INVOICE-UNVERIFIED cannot be judged without the invoice and its check."""
    f = only(judge(expense(**changes), grant(), NO_CTX, P2021), "NEG-FAKE-INVOICE-UNVERIFIED")
    assert (f.severity, f.missing_field) == ("needs_approval", field)
    assert field in f.message_en


def test_labour_paid_to_a_student_needs_no_invoice():
    """NEG-FAKE-INVOICE-UNVERIFIED exempts 劳务费 (paid through payroll, no invoice)."""
    e = expense(subject="labour", purpose="stipend", payee_kind="student", payee_name="王同学",
                invoice_no=None, invoice_verified=None, description="3月助研津贴")
    assert judge(e, grant(), NO_CTX, P2021).verdict == "allow"


# --------------------------------------------------------------------------------- payment method

def test_cash_payment_warns_unless_it_is_a_listed_exception():
    """OFFICIAL-CARD-CASH — 公务卡强制结算目录: cash only for taxis, tolls, places without card machines."""
    assert only(judge(expense(payment_method="cash"), grant(), NO_CTX, P2021), "OFFICIAL-CARD-CASH").severity == "warn"
    taxi = expense(payment_method="cash", purpose="travel", description="出租车费 机场至实验室")
    assert judge(taxi, grant(), NO_CTX, P2021).verdict == "allow"


def test_missing_payment_method_needs_approval_naming_the_field():
    f = only(judge(expense(payment_method=None), grant(), NO_CTX, P2021), "OFFICIAL-CARD-CASH")
    assert f.missing_field == "payment_method"


def test_expert_fee_paid_in_cash_is_rejected():
    """EXPERT-FEE-TRANSFER — 财科教〔2017〕128号: by bank transfer to the individual."""
    f = only(judge(expert(payment_method="cash"), grant(), NO_CTX, P2021), "EXPERT-FEE-TRANSFER")
    assert f.severity == "reject"


# -------------------------------------------------------------------------------- related payees

def test_labour_fee_to_salaried_staff_is_rejected():
    """PAYEE-LABOUR-SALARIED — 劳务费开支范围; DOMAIN related payee rules."""
    e = expense(subject="labour", purpose="labour_fee", payee_kind="salaried_staff", payee_name="张三")
    assert only(judge(e, grant(), NO_CTX, P2021), "PAYEE-LABOUR-SALARIED").severity == "reject"


def test_labour_fee_to_a_name_on_the_payroll_needs_approval():
    """PAYEE-LABOUR-SALARIED names_in: a name match may be a namesake, so a person checks."""
    e = expense(subject="labour", purpose="labour_fee", payee_kind="individual", payee_name="张三")
    f = only(judge(e, grant(), Context(salaried_staff_names=frozenset({"张三"})), P2021), "PAYEE-LABOUR-SALARIED")
    assert f.severity == "needs_approval" and "张三" in f.message_zh


def test_expert_fee_to_a_project_member_is_rejected():
    """PAYEE-EXPERT-NOT-MEMBER — 财科教〔2017〕128号."""
    j = judge(expert(payee_kind="project_member"), grant(), NO_CTX, P2021)
    assert only(j, "PAYEE-EXPERT-NOT-MEMBER").severity == "reject"
    j = judge(expert(payee_name="李教授"), grant(), Context(project_member_names=frozenset({"李教授"})), P2021)
    assert only(j, "PAYEE-EXPERT-NOT-MEMBER").severity == "needs_approval"


def test_civil_servant_may_not_be_paid_for_part_time_work():
    """PAYEE-CIVIL-SERVANT — 公务员法 第四十四条."""
    j = judge(expert(payee_kind="civil_servant"), grant(), NO_CTX, P2021)
    assert only(j, "PAYEE-CIVIL-SERVANT").source == "公务员法 第四十四条"


def test_payment_to_a_related_party_needs_approval():
    j = judge(expense(payee_kind="related_party"), grant(), NO_CTX, P2021)
    assert only(j, "PAYEE-RELATED-PARTY").severity == "needs_approval"
    assert j.verdict == "needs_approval"


def test_missing_payee_kind_fails_closed():
    j = judge(expense(payee_kind=None), grant(), NO_CTX, P2021)
    f = only(j, "PAYEE-RELATED-PARTY")
    assert f.missing_field == "payee_kind" and j.verdict == "needs_approval"
