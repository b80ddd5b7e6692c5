"""Request and response schemas of the grant registry."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from grants.fields import Money, Ratio
from grants.models import (
    Category,
    EquityEventKind,
    FundingMode,
    GrantStatus,
    InstitutionKind,
    ManagementMode,
    MilestoneStatus,
    Role,
    TrancheStatus,
)


def Choice(enum_cls, **kw):
    return fields.Enum(enum_cls, by_value=True, **kw)


class _BlankIsNone(Schema):
    """An empty optional code ("") means "none" — two institutions without one must not collide."""

    BLANK_IS_NONE = ("credit_code",)

    @pre_load
    def _blank(self, data, **kwargs):
        if isinstance(data, dict):
            data = {k: (None if k in self.BLANK_IS_NONE and v == "" else v) for k, v in data.items()}
        return data


class InstitutionSchema(_BlankIsNone):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    kind = Choice(InstitutionKind, required=True)
    credit_code = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=32))
    region = fields.Str(load_default="鄂尔多斯市", validate=validate.Length(max=64))


class InstitutionUpdateSchema(_BlankIsNone):
    name = fields.Str(validate=validate.Length(1, 200))
    kind = Choice(InstitutionKind)
    credit_code = fields.Str(allow_none=True, validate=validate.Length(max=32))
    region = fields.Str(validate=validate.Length(max=64))


class ResearcherSchema(Schema):
    id = fields.Int(dump_only=True)
    institution_id = fields.Int(required=True)
    name = fields.Str(required=True, validate=validate.Length(1, 100))
    birth_date = fields.Date(required=True)
    title = fields.Str(load_default=None, validate=validate.Length(max=50))
    salaried = fields.Bool(load_default=True)


class ResearcherUpdateSchema(Schema):
    name = fields.Str(validate=validate.Length(1, 100))
    birth_date = fields.Date()
    title = fields.Str(allow_none=True, validate=validate.Length(max=50))
    salaried = fields.Bool()


class UserSchema(Schema):
    id = fields.Int(dump_only=True)
    username = fields.Str(required=True)
    role = Choice(Role, required=True)
    institution_id = fields.Int(allow_none=True)


class GrantSchema(Schema):
    id = fields.Int(dump_only=True)
    code = fields.Str(required=True, validate=validate.Length(1, 50))
    title = fields.Str(required=True, validate=validate.Length(1, 300))
    institution_id = fields.Int(required=True)
    pi_id = fields.Int(required=True)
    category = Choice(Category, required=True)
    funding_mode = Choice(FundingMode, required=True)
    management_mode = Choice(ManagementMode, load_default=ManagementMode.STANDARD)
    fiscal_amount = Money(required=True)
    self_raised_amount = Money(load_default=None)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    fund_source = fields.Str(load_default="municipal", validate=validate.Length(1, 64))
    pure_theory = fields.Bool(load_default=False)
    race_id = fields.Int(allow_none=True, load_default=None)
    programme = fields.Str(load_default=None, allow_none=True, validate=validate.Length(1, 40), metadata={
        "description": "资助计划 code (GET /api/v1/programmes lists them), e.g. basic_research_funds",
        "example": "municipal_general"})
    status = Choice(GrantStatus, dump_only=True)
    accepted_on = fields.Date(dump_only=True, allow_none=True)

    @validates_schema
    def _period(self, data, **kwargs):
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError({"end_date": ["结束日期早于开始日期 / end date before start date"]})


class GrantUpdateSchema(Schema):
    title = fields.Str(validate=validate.Length(1, 300))
    pi_id = fields.Int()
    management_mode = Choice(ManagementMode)
    funding_mode = Choice(FundingMode)
    fiscal_amount = Money()
    self_raised_amount = Money()
    start_date = fields.Date()
    end_date = fields.Date()
    fund_source = fields.Str(validate=validate.Length(1, 64))
    pure_theory = fields.Bool()
    race_id = fields.Int(allow_none=True)
    programme = fields.Str(allow_none=True, validate=validate.Length(1, 40))


class GrantQuerySchema(Schema):
    institution_id = fields.Int()
    category = Choice(Category)
    status = Choice(GrantStatus)
    funding_mode = Choice(FundingMode)
    start_from = fields.Date(metadata={"description": "grants whose period ends on or after this date"})
    start_to = fields.Date(metadata={"description": "grants whose period starts on or before this date"})
    q = fields.Str(metadata={"description": "code or title contains"})


class TransitionSchema(Schema):
    reason = fields.Str(load_default="", validate=validate.Length(max=2000))
    effective_on = fields.Date(load_default=None, metadata={
        "description": "accept/fail: the date the acceptance (验收) actually took place, as entered; recorded "
                       "with who entered it (default: today)"})


class TransitionResultSchema(Schema):
    id = fields.Int()
    status = Choice(GrantStatus)


class MilestoneSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    due_date = fields.Date(required=True)
    status = Choice(MilestoneStatus, dump_only=True)
    decided_on = fields.Date(dump_only=True)
    decision_note = fields.Str(dump_only=True)


class MilestoneUpdateSchema(Schema):
    title = fields.Str(validate=validate.Length(1, 200))
    due_date = fields.Date()


class MilestoneDecisionSchema(Schema):
    accepted = fields.Bool(required=True)
    decided_on = fields.Date(load_default=None)
    note = fields.Str(load_default="", validate=validate.Length(max=2000))


class TrancheSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    seq = fields.Int(dump_only=True)
    planned_date = fields.Date(required=True)
    amount = Money(required=True, positive=True)
    milestone_id = fields.Int(allow_none=True, load_default=None)
    race_stage_id = fields.Int(allow_none=True, load_default=None)
    status = Choice(TrancheStatus, dump_only=True)
    paid_on = fields.Date(dump_only=True)


class TrancheUpdateSchema(Schema):
    planned_date = fields.Date()
    amount = Money(positive=True)
    milestone_id = fields.Int(allow_none=True)
    race_stage_id = fields.Int(allow_none=True)


class PaySchema(Schema):
    paid_on = fields.Date(load_default=None)


class RaceSchema(Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    stages = fields.List(fields.Str(validate=validate.Length(max=200)), load_only=True, required=True,
                         validate=validate.Length(min=1, max=10))


class RaceStageSchema(Schema):
    id = fields.Int()
    stage_no = fields.Int()
    title = fields.Str()
    selected_grant_ids = fields.List(fields.Int())


class RaceOutSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    team_grant_ids = fields.List(fields.Int())
    stages = fields.List(fields.Nested(RaceStageSchema))


class RaceSelectSchema(Schema):
    grant_ids = fields.List(fields.Int(), required=True, validate=validate.Length(min=1))
    selected_on = fields.Date(load_default=None)


class SubsidyTermsSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    ratio_cap = Ratio(required=True)
    absolute_cap = Money(required=True)
    programme = fields.Str(load_default="", validate=validate.Length(max=200))


class SubsidyAssessmentSchema(Schema):
    grant_id = fields.Int()
    eligible_spend = Money()
    ineligible_spend = Money()
    ratio_cap = fields.Decimal(as_string=True)
    absolute_cap = Money()
    by_ratio = Money()
    payable = Money()
    explanation = fields.Dict()
    computed_at = fields.DateTime()
    paid_on = fields.Date(allow_none=True)
    claimed_amount = Money(allow_none=True)
    paid_amount = Money(allow_none=True)
    payment_explanation = fields.Dict(allow_none=True)


class EquityInvestmentSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    investee_name = fields.Str(required=True, validate=validate.Length(1, 200))
    investee_credit_code = fields.Str(load_default=None, validate=validate.Length(max=32))
    holder = fields.Str(load_default="", validate=validate.Length(max=200))
    amount = Money(required=True, positive=True)
    pre_money_valuation = Money(required=True, positive=True)
    invested_on = fields.Date(required=True)
    lock_up_end = fields.Date(load_default=None)
    conditions = fields.Dict(load_default=dict)
    shareholding = fields.Decimal(as_string=True, dump_only=True)


class EquityInvestmentUpdateSchema(Schema):
    investee_name = fields.Str(validate=validate.Length(1, 200))
    investee_credit_code = fields.Str(allow_none=True, validate=validate.Length(max=32))
    holder = fields.Str(validate=validate.Length(max=200))
    lock_up_end = fields.Date(allow_none=True)
    conditions = fields.Dict()


class EquityEventSchema(Schema):
    id = fields.Int(dump_only=True)
    kind = Choice(EquityEventKind, required=True)
    event_date = fields.Date(required=True)
    amount = Money(load_default=None)
    round_size = Money(load_default=None)
    pre_money_valuation = Money(load_default=None, positive=True)
    fraction_sold = Ratio(places=10, load_default=None)
    proceeds = Money(load_default=None)
    note = fields.Str(load_default="", validate=validate.Length(max=2000))
    shareholding_after = fields.Decimal(as_string=True, dump_only=True)


class EquityPositionSchema(Schema):
    investment = fields.Nested(EquityInvestmentSchema)
    events = fields.List(fields.Nested(EquityEventSchema))
    shareholding = fields.Decimal(as_string=True)
    invested = Money()
    proceeds = Money()
    cost_of_disposed = Money()
    realised_gain = Money(allow_negative=True)
    remaining_cost = Money()
    multiple = fields.Decimal(as_string=True, allow_none=True)
    explanation = fields.Dict()
