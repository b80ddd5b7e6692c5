"""Schemas of evaluations."""
from __future__ import annotations

from marshmallow import Schema, fields

from evaluations.models import EvaluationKind, EvaluationStatus
from grants.fields import Text
from grants.schemas import LONG_TEXT, Choice


class EvaluationSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    kind = Choice(EvaluationKind, required=True)
    due_date = fields.Date(required=True)
    status = Choice(EvaluationStatus, dump_only=True)
    submitted_on = fields.Date(dump_only=True, allow_none=True)
    decided_on = fields.Date(dump_only=True, allow_none=True)
    note = fields.Str(dump_only=True)


class EvaluationResultSchema(Schema):
    status = Choice(EvaluationStatus, required=True)
    note = Text(max_length=LONG_TEXT, load_default="")
    decided_on = fields.Date(load_default=None)


class EvaluationQuerySchema(Schema):
    due_before = fields.Date()
    status = Choice(EvaluationStatus)


class SubmissionSchema(Schema):
    note = Text(max_length=LONG_TEXT, load_default="")
    submitted_on = fields.Date(load_default=None)


class HoldSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    evaluation_id = fields.Int(dump_only=True)
    consequence_id = fields.Str(dump_only=True)
    effect = fields.Str(dump_only=True)
    severity = fields.Str(dump_only=True)
    reason_zh = fields.Str(dump_only=True)
    reason_en = fields.Str(dump_only=True)
    source = fields.Str(dump_only=True)
    imposed_on = fields.Date(dump_only=True)
    lifted_on = fields.Date(dump_only=True, allow_none=True)
    lifted_by_evaluation_id = fields.Int(dump_only=True, allow_none=True)


class HoldQuerySchema(Schema):
    grant_id = fields.Int()
    active = fields.Bool(load_default=True)
