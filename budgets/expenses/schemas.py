"""Schemas of expenses, verdicts and imports."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from budgets.expenses import fields as ef
from budgets.models import Expense, ExpenseStatus, Verdict
from grants.fields import Id, Money, Text, Timestamp
from grants.money import MAX_EXPENSE
from grants.schemas import LONG_TEXT, Choice

PAYEE_KINDS = ef.BY_NAME["payee_kind"].values
PAYMENT_METHODS = ef.BY_NAME["payment_method"].values


def _days_in_range(value) -> None:
    # a plain function, not validate.Range: apispec would print a Decimal bound as a string
    if not 0 < value <= 365:
        raise ValidationError("须在 0 到 365 之间 / must be more than 0 and at most 365")


class InVocabulary(validate.OneOf):
    """One of a vocabulary's codes (OpenAPI: an enum). The 422 lists the accepted codes and, when the
    caller sent a label or a synonym, says which code it stands for."""

    def __init__(self, f: ef.ExpenseField):
        super().__init__(f.values, error="未知代码 {input!r} / unknown code; 可选 / accepted: {choices}")
        self.expense_field = f

    def __call__(self, value):
        try:
            return super().__call__(value)
        except ValidationError:
            meant = self.expense_field.resolve(value) if isinstance(value, str) else None
            hint = f"「{value}」对应代码 {meant} / {value!r} is written {meant!r}; " if meant else ""
            raise ValidationError(f"{hint}未知代码 {value!r} / unknown {self.expense_field.name} code; "
                                  f"可选 / accepted: {', '.join(self.choices)}") from None


def _metadata(f: ef.ExpenseField) -> dict:
    """OpenAPI: description, a true example, and the codes that make the field required (x-required-for)."""
    meta: dict = {}
    text = [f.description] if f.description else []
    if f.vocabulary:
        meta["example"] = f.values[0]
        text.append(f"{f.label_zh} / {f.label_en}: a code of the policy vocabulary '{f.vocabulary}' "
                    "(labels and synonyms: GET /api/v1/vocabularies)")
    need = f.required_for()
    if need:
        meta["x-required-for"] = need
        text.append("required when " + "; ".join(f"{k} is {', '.join(v)}" for k, v in need.items()))
    if text:
        meta["description"] = ". ".join(text)
    return meta


def _in_field(f: ef.ExpenseField) -> fields.Field:
    """The input field of one row of the table: required, or absent → its default."""
    opts: dict = {"required": True} if f.required else {"load_default": f.default}
    meta = _metadata(f)
    if f.kind == ef.DATE:
        return fields.Date(**opts)
    if f.kind in (ef.AMOUNT, ef.MONEY):
        return (Money(**opts, positive=True, maximum=MAX_EXPENSE) if f.kind == ef.AMOUNT
                else Money(**opts, allow_none=True, maximum=MAX_EXPENSE, metadata=meta))
    if f.kind == ef.BOOL:
        return fields.Bool(**opts, allow_none=True, metadata=meta)
    if f.kind == ef.INT:
        return fields.Int(**opts, allow_none=True, validate=validate.Range(min=1), metadata=meta)
    if f.kind == ef.DAYS:
        return fields.Decimal(**opts, allow_none=True, allow_nan=False, validate=_days_in_range,
                              metadata={**meta, "minimum": 0, "exclusiveMinimum": True, "maximum": 365})
    if f.kind == ef.CHOICE:
        return fields.Str(**opts, allow_none=not f.required, validate=InVocabulary(f), metadata=meta)
    return Text(max_length=f.max_length or LONG_TEXT, min_length=1 if f.required else None, **opts, metadata=meta)


def _out_field(f: ef.ExpenseField) -> fields.Field:
    nullable = {} if f.required or f.default is not None else {"allow_none": True}
    return {ef.DATE: fields.Date, ef.AMOUNT: Money, ef.MONEY: Money, ef.BOOL: fields.Bool, ef.INT: fields.Int,
            ef.DAYS: fields.Decimal}.get(f.kind, fields.Str)(**nullable)


ExpenseInSchema = Schema.from_dict({
    "grant_id": Id(required=True),
    **{f.name: _in_field(f) for f in ef.FIELDS},
    "researcher_id": Id(load_default=None, allow_none=True),
}, name="ExpenseInSchema")


class FindingSchema(Schema):
    rule_id = fields.Str()
    kind = fields.Str()
    severity = fields.Str()
    message_zh = fields.Str()
    message_en = fields.Str()
    source = fields.Str()
    figures = fields.Dict()
    missing_field = fields.Str(allow_none=True)


class CalculationSchema(Schema):
    """What a rule computed (a travel allowance, a meeting cap), shown whatever the verdict."""

    rule_id = fields.Str()
    kind = fields.Str()
    message_zh = fields.Str()
    message_en = fields.Str()
    source = fields.Str()
    figures = fields.Dict()


class VerdictSchema(Schema):
    verdict = fields.Str()
    findings = fields.List(fields.Nested(FindingSchema))
    calculations = fields.List(fields.Nested(CalculationSchema))
    subsidy_eligible = fields.Bool(allow_none=True)
    policy_version = fields.Str(allow_none=True)
    recorded = fields.Bool()


ExpenseOutSchema = Schema.from_dict({
    "id": fields.Int(),
    "grant_id": fields.Int(),
    "institution_id": fields.Int(),
    **{f.name: _out_field(f) for f in ef.FIELDS if f.in_output},
    "verdict": Choice(Verdict),
    "findings": fields.List(fields.Nested(FindingSchema)),
    "status": Choice(ExpenseStatus),
    "subsidy_eligible": fields.Bool(allow_none=True),
    "policy_version_id": fields.Int(allow_none=True),
    "decision_reason": fields.Str(),
    "submitted_at": Timestamp(),
    "decided_at": Timestamp(allow_none=True),
}, name="ExpenseOutSchema")


class CursorQuerySchema(Schema):
    cursor = fields.Str(metadata={"description": "X-Next-Cursor of the previous page: a keyset seek, fast at any "
                                                 "depth (page is then ignored)"})


class ExpenseQuerySchema(CursorQuerySchema):
    grant_id = Id()
    institution_id = Id()
    status = Choice(ExpenseStatus)
    verdict = Choice(Verdict)
    subject = fields.Str(validate=InVocabulary(ef.BY_NAME["subject"]))
    date_from = fields.Date()
    date_to = fields.Date()


class ExpenseDecisionSchema(Schema):
    approve = fields.Bool(required=True)
    reason = Text(max_length=LONG_TEXT, required=True, min_length=1)


class ReversalSchema(Schema):
    reason = Text(max_length=LONG_TEXT, required=True, min_length=1)


class IdempotencyHeaderSchema(Schema):
    idempotency_key = Text(Expense.idempotency_key, data_key="Idempotency-Key", load_default=None, min_length=1)


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
