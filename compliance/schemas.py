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


class CodeSchema(Schema):
    code = fields.Str(metadata={"example": "materials"})
    zh = fields.Str(metadata={"example": "材料费"})
    en = fields.Str(metadata={"example": "materials"})
    synonyms = fields.List(fields.Str(), metadata={"example": ["试剂", "耗材"]})
    requires = fields.List(fields.Str(), metadata={
        "description": "expense fields a rule needs when an expense carries this code", "example": []})
    forbidden_by = fields.List(fields.Str(), metadata={
        "description": "negative-list rules that forbid this code (an expense with it is rejected)", "example": []})


class VocabularySchema(Schema):
    name = fields.Str(metadata={"example": "purposes"})
    field = fields.Str(allow_none=True, metadata={"description": "the expense field it closes", "example": "purpose"})
    codes = fields.List(fields.Nested(CodeSchema))


class VocabulariesSchema(Schema):
    policy_set = fields.Str()
    version = fields.Str()
    content_hash = fields.Str()
    vocabularies = fields.List(fields.Nested(VocabularySchema))
