"""Query and response schemas of the ledger, export and report endpoints."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from grants.fields import MAX_ID, Id, Money, Text, Timestamp
from grants.models import Category
from grants.schemas import LONG_TEXT, Choice
from reports.exports import FORMATS


class _Period(Schema):
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)

    @validates_schema
    def _ordered(self, data, **kw):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("起始日期晚于截止日期 / date_from is after date_to", "date_from")


class VerifyQuerySchema(Schema):
    since_checkpoint = fields.Bool(load_default=False,
                                   metadata={"description": "recompute each chain only from the latest checkpoint on"})
    institution_id = fields.Int(load_default=None, metadata={"description": "verify this institution's chain only"})


class CheckpointMismatchSchema(Schema):
    period = fields.Str()
    period_end = fields.Str()
    institution_id = fields.Int(allow_none=True)
    chain_seq = fields.Int(allow_none=True)
    seq = fields.Int()
    checkpoint_hash = fields.Str()
    entry_hash = fields.Str(allow_none=True)
    reason = fields.Str()


class ChainHeadSchema(Schema):
    institution_id = fields.Int()
    chain_seq = fields.Int()
    seq = fields.Int()
    hash = fields.Str()


class BrokenChainSchema(Schema):
    institution_id = fields.Int()
    chain_seq = fields.Int()
    seq = fields.Int()
    reason = fields.Str()


class VerifySchema(Schema):
    ok = fields.Bool()
    entries_checked = fields.Int()
    chains = fields.Int()
    head_seq = fields.Int()
    merkle_root = fields.Str(metadata={"description": "Merkle root over the verified chain heads"})
    from_checkpoint = fields.Str(allow_none=True)
    first_broken_seq = fields.Int(allow_none=True)
    reason = fields.Str()
    broken = fields.List(fields.Nested(BrokenChainSchema))
    heads = fields.List(fields.Nested(ChainHeadSchema))
    checkpoints_checked = fields.Int()
    checkpoint_mismatches = fields.List(fields.Nested(CheckpointMismatchSchema))


class CheckpointSchema(Schema):
    id = fields.Int()
    period = fields.Str()
    period_end = fields.Date()
    seq = fields.Int()
    chains = fields.Int()
    merkle_root = fields.Str()
    created_at = Timestamp()


class LatestCheckpointSchema(Schema):
    period = fields.Str()
    period_end = fields.Str()
    seq = fields.Int()
    merkle_root = fields.Str()


class HeadsSchema(Schema):
    generated_at = fields.Str()
    chains = fields.Int()
    head_seq = fields.Int()
    merkle_root = fields.Str()
    heads = fields.List(fields.Nested(ChainHeadSchema))
    latest_checkpoint = fields.Nested(LatestCheckpointSchema, allow_none=True)


class CheckpointQuerySchema(Schema):
    period = fields.Str(load_default=None, validate=validate.OneOf(["day", "month"]))


class CheckpointRunSchema(Schema):
    up_to = fields.Date(load_default=None, metadata={"description": "last day to checkpoint (default and at most "
                                                                    "yesterday: only finished days)"})


class ExportQuerySchema(_Period):
    format = fields.Str(load_default="csv", validate=validate.OneOf(FORMATS))
    grant_id = Id(load_default=None)
    institution_id = Id(load_default=None)
    category = Choice(Category, load_default=None)
    seq_to = fields.Int(load_default=None, validate=validate.Range(min=0, max=MAX_ID),
                        metadata={"description": "pin the export to this chain head (default: the head now)"})
    bundle = fields.Str(load_default=None, validate=validate.OneOf(["zip"]),
                        metadata={"description": "zip: the file and manifest.json in one zip"})


class ManifestSchema(Schema):
    class Meta:
        unknown = "include"

    file = fields.Str()
    format = fields.Str()
    sha256 = fields.Str()
    bytes = fields.Int()
    row_count = fields.Int()
    total_amount = fields.Str()
    sums_by_subject = fields.List(fields.Dict())
    chain = fields.Dict()
    checkpoint = fields.Dict(allow_none=True)
    filters = fields.Dict()
    columns = fields.List(fields.Str())
    generated_at = fields.Str()
    hash_rule = fields.Str()


class ReportQuerySchema(_Period):
    format = fields.Str(load_default="json", validate=validate.OneOf(["json", "xlsx"]))
    as_of = fields.Date(load_default=None)
    top = fields.Int(load_default=10, validate=validate.Range(min=1, max=100))


class ReplayQuerySchema(_Period):
    version_id = Id(required=True, metadata={"description": "the (draft) policy version to replay"})
    format = fields.Str(load_default="json", validate=validate.OneOf(["json", "xlsx"]))
    changed_only = fields.Bool(load_default=True)


class RdSpendSchema(Schema):
    id = fields.Int(dump_only=True)
    institution_id = Id(required=True)
    year = fields.Int(required=True, validate=validate.Range(min=2000, max=2100))
    rd_spend = Money(required=True)
    note = Text(max_length=LONG_TEXT, load_default="")
    recorded_at = Timestamp(dump_only=True)


class StBudgetYearSchema(Schema):
    year = fields.Int(dump_only=True)
    amount = Money(required=True)
    note = Text(max_length=LONG_TEXT, load_default="")
    recorded_at = Timestamp(dump_only=True)
