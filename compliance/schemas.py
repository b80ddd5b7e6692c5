"""Schemas of policy versions."""
from __future__ import annotations

from marshmallow import Schema, fields

from grants.fields import Timestamp


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
    loaded_at = Timestamp()


class PolicyVersionDetailSchema(PolicyVersionSchema):
    content = fields.Dict()


class ProgrammeSchema(Schema):
    code = fields.Str()
    zh = fields.Str()
    en = fields.Str()
    source = fields.Str()
    categories = fields.List(fields.Str(), allow_none=True)
    reward_extraction = fields.Dict(allow_none=True)
    youth_share = fields.Dict(allow_none=True)
    subsidy_cap = fields.Dict(allow_none=True)
