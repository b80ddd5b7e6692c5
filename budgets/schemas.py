"""Schemas of budgets and adjustments."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from budgets.models import AdjustmentStatus, Subject
from grants.fields import Money, Text, Timestamp
from grants.schemas import LONG_TEXT, Choice


class BudgetLineSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    subject = Choice(Subject, required=True)
    amount = Money(required=True)
    adjusted = Money(dump_only=True, allow_negative=True)
    spent = Money(dump_only=True)
    reserved = Money(dump_only=True)
    available = Money(dump_only=True, allow_negative=True)
    note = Text(max_length=LONG_TEXT, load_default="")


class BudgetLineUpdateSchema(Schema):
    amount = Money()
    note = Text(max_length=LONG_TEXT)


class BudgetSchema(Schema):
    lines = fields.List(fields.Nested(BudgetLineSchema), required=True, validate=validate.Length(min=1, max=10))


class AdjustmentSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    from_subject = Choice(Subject, required=True)
    to_subject = Choice(Subject, required=True)
    amount = Money(required=True, positive=True)
    reason = Text(max_length=LONG_TEXT, load_default="")
    status = Choice(AdjustmentStatus, dump_only=True)
    approver_level = fields.Str(dump_only=True)
    rule_id = fields.Str(dump_only=True)
    decision_reason = fields.Str(dump_only=True)
    requested_at = Timestamp(dump_only=True)
    decided_at = Timestamp(dump_only=True)


class DecisionSchema(Schema):
    approve = fields.Bool(required=True)
    reason = Text(max_length=LONG_TEXT, load_default="")


class SubsidyPaySchema(Schema):
    paid_on = fields.Date(load_default=None)
    claimed_amount = Money(load_default=None, allow_none=True, metadata={
        "description": "what the institution claimed (申请补助金额); paid = min(claimed, assessed payable, the "
                       "programme's yearly cap per institution left)", "example": "1200000.00"})
