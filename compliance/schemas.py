"""Schemas of expenses, verdicts and policy versions."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from budgets.models import ExpenseStatus, Verdict
from grants.fields import Money
from grants.schemas import Choice

PAYEE_KINDS = ("vendor", "institution", "individual", "student", "salaried_staff", "external_expert",
               "project_member", "civil_servant", "government", "bank", "charity", "enterprise", "related_party")
PAYMENT_METHODS = ("bank_transfer", "official_card", "cash", "internal_transfer")


def _days_in_range(value) -> None:
    # a plain function, not validate.Range: apispec would print a Decimal bound as a string
    if not 0 < value <= 365:
        raise ValidationError("须在 0 到 365 之间 / must be more than 0 and at most 365")


class ExpenseInSchema(Schema):
    grant_id = fields.Int(required=True)
    expense_date = fields.Date(required=True)
    amount = Money(required=True, positive=True)
    subject = fields.Str(required=True, validate=validate.Length(1, 32),
                         metadata={"description": "equipment 设备费 | operations 业务费 | labour 劳务费 | indirect 间接费用 | lump_sum"})
    purpose = fields.Str(load_default=None, validate=validate.Length(max=40),
                         metadata={"description": "materials, testing, travel, meeting, publication, expert_consulting, labour, equipment_purchase, fine, gift_card, …"})
    description = fields.Str(load_default="", validate=validate.Length(max=2000))
    payee_name = fields.Str(load_default=None, validate=validate.Length(max=200))
    payee_kind = fields.Str(load_default=None, validate=validate.OneOf(PAYEE_KINDS))
    payment_method = fields.Str(load_default=None, validate=validate.OneOf(PAYMENT_METHODS))
    invoice_no = fields.Str(load_default=None, validate=validate.Length(max=64))
    invoice_verified = fields.Bool(load_default=None, allow_none=True)
    unit_value = Money(load_default=None, allow_none=True)
    quantity = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    platform_registered = fields.Bool(load_default=None, allow_none=True)
    expert_title = fields.Str(load_default=None, validate=validate.OneOf(("senior", "other", "academician")))
    expert_days = fields.Decimal(load_default=None, allow_none=True, allow_nan=False, validate=_days_in_range,
                                 metadata={"description": "person-days of expert consulting, 0 < days ≤ 365",
                                           "minimum": 0, "exclusiveMinimum": True, "maximum": 365})
    fund_source = fields.Str(load_default=None, validate=validate.Length(max=64))
    researcher_id = fields.Int(load_default=None, allow_none=True)


class FindingSchema(Schema):
    rule_id = fields.Str()
    kind = fields.Str()
    severity = fields.Str()
    message_zh = fields.Str()
    message_en = fields.Str()
    source = fields.Str()
    figures = fields.Dict()
    missing_field = fields.Str(allow_none=True)


class VerdictSchema(Schema):
    verdict = fields.Str()
    findings = fields.List(fields.Nested(FindingSchema))
    subsidy_eligible = fields.Bool(allow_none=True)
    policy_version = fields.Str(allow_none=True)
    recorded = fields.Bool()


class ExpenseOutSchema(Schema):
    id = fields.Int()
    grant_id = fields.Int()
    institution_id = fields.Int()
    expense_date = fields.Date()
    amount = Money()
    subject = fields.Str()
    purpose = fields.Str(allow_none=True)
    description = fields.Str()
    payee_name = fields.Str(allow_none=True)
    payee_kind = fields.Str(allow_none=True)
    payment_method = fields.Str(allow_none=True)
    invoice_no = fields.Str(allow_none=True)
    invoice_verified = fields.Bool(allow_none=True)
    unit_value = Money(allow_none=True)
    quantity = fields.Int(allow_none=True)
    platform_registered = fields.Bool(allow_none=True)
    verdict = Choice(Verdict)
    findings = fields.List(fields.Nested(FindingSchema))
    status = Choice(ExpenseStatus)
    subsidy_eligible = fields.Bool(allow_none=True)
    policy_version_id = fields.Int(allow_none=True)
    decision_reason = fields.Str()
    submitted_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class ExpenseQuerySchema(Schema):
    grant_id = fields.Int()
    institution_id = fields.Int()
    status = Choice(ExpenseStatus)
    verdict = Choice(Verdict)
    subject = fields.Str()
    date_from = fields.Date()
    date_to = fields.Date()


class ExpenseDecisionSchema(Schema):
    approve = fields.Bool(required=True)
    reason = fields.Str(required=True, validate=validate.Length(1, 2000))


class ReversalSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(1, 2000))


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.Str(data_key="Idempotency-Key", load_default=None, validate=validate.Length(1, 128))


class ImportFormSchema(Schema):
    partial = fields.Bool(load_default=False, metadata={
        "description": "book the valid rows and report the malformed ones (default: all or nothing)"})


class ImportFileSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class ImportRowSchema(Schema):
    row = fields.Int()
    expense_id = fields.Int(allow_none=True)
    verdict = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    errors = fields.Dict(allow_none=True)
    rule_ids = fields.List(fields.Str())
    skipped = fields.Bool()


class ImportReportSchema(Schema):
    file_sha256 = fields.Str()
    rows = fields.Int()
    booked = fields.Int()
    skipped_already_imported = fields.Int()
    invalid = fields.Int()
    by_verdict = fields.Dict(keys=fields.Str(), values=fields.Int())
    committed = fields.Bool()
    report = fields.List(fields.Nested(ImportRowSchema))


class PolicyVersionSchema(Schema):
    id = fields.Int()
    policy_set = fields.Str()
    version = fields.Str()
    title = fields.Str()
    effective_from = fields.Date()
    effective_to = fields.Date(allow_none=True)
    status = fields.Str()
    source_file = fields.Str()
    content_hash = fields.Str()
    loaded_at = fields.DateTime()


class PolicyVersionDetailSchema(PolicyVersionSchema):
    content = fields.Dict()
