"""Request and response schemas of the grant registry."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from grants.fields import Id, Money, Ratio, Text, Timestamp
from grants.models import (
    Category,
    EquityInvestment,
    Grant,
    Institution,
    Milestone,
    Race,
    RaceStage,
    Researcher,
    SubsidyTerms,
    EquityEventKind,
    FundingMode,
    GrantStatus,
    InstitutionKind,
    ManagementMode,
    MilestoneStatus,
    Role,
    TrancheStatus,
)


LONG_TEXT = 2000   # the most a free-text note, reason or description (an unbounded Text column) takes


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
    name = Text(Institution.name, required=True, min_length=1)
    kind = Choice(InstitutionKind, required=True)
    credit_code = Text(Institution.credit_code, load_default=None, allow_none=True)
    region = Text(Institution.region, load_default="鄂尔多斯市")


class InstitutionUpdateSchema(_BlankIsNone):
    name = Text(Institution.name, min_length=1)
    kind = Choice(InstitutionKind)
    credit_code = Text(Institution.credit_code, allow_none=True)
    region = Text(Institution.region)


class ResearcherSchema(Schema):
    id = fields.Int(dump_only=True)
    institution_id = Id(required=True)
    name = Text(Researcher.name, required=True, min_length=1)
    birth_date = fields.Date(required=True)
    title = Text(Researcher.title, load_default=None, allow_none=True)
    salaried = fields.Bool(load_default=True)


class ResearcherUpdateSchema(Schema):
    name = Text(Researcher.name, min_length=1)
    birth_date = fields.Date()
    title = Text(Researcher.title, allow_none=True)
    salaried = fields.Bool()


class UserSchema(Schema):
    id = fields.Int(dump_only=True)
    username = fields.Str(required=True)
    role = Choice(Role, required=True)
    institution_id = fields.Int(allow_none=True)


class GrantSchema(Schema):
    id = fields.Int(dump_only=True)
    code = Text(Grant.code, required=True, min_length=1)
    title = Text(Grant.title, required=True, min_length=1)
    institution_id = Id(required=True)
    pi_id = Id(required=True)
    category = Choice(Category, required=True)
    funding_mode = Choice(FundingMode, required=True)
    management_mode = Choice(ManagementMode, load_default=ManagementMode.STANDARD)
    fiscal_amount = Money(required=True)
    self_raised_amount = Money(load_default=None)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    fund_source = Text(Grant.fund_source, load_default="municipal", min_length=1)
    pure_theory = fields.Bool(load_default=False)
    race_id = Id(allow_none=True, load_default=None)
    programme = Text(max_length=40, load_default=None, allow_none=True, metadata={
        "description": "资助计划 code (GET /api/v1/programmes lists them), e.g. basic_research_funds",
        "example": "municipal_general"})
    status = Choice(GrantStatus, dump_only=True)
    accepted_on = fields.Date(dump_only=True, allow_none=True)

    @validates_schema
    def _period(self, data, **kwargs):
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError({"end_date": ["结束日期早于开始日期 / end date before start date"]})


class GrantUpdateSchema(Schema):
    title = Text(Grant.title, min_length=1)
    pi_id = Id()
    management_mode = Choice(ManagementMode)
    funding_mode = Choice(FundingMode)
    fiscal_amount = Money()
    self_raised_amount = Money()
    start_date = fields.Date()
    end_date = fields.Date()
    fund_source = Text(Grant.fund_source, min_length=1)
    pure_theory = fields.Bool()
    race_id = Id(allow_none=True)
    programme = Text(max_length=40, allow_none=True)


class GrantQuerySchema(Schema):
    institution_id = Id()
    category = Choice(Category)
    status = Choice(GrantStatus)
    funding_mode = Choice(FundingMode)
    start_from = fields.Date(metadata={"description": "grants whose period ends on or after this date"})
    start_to = fields.Date(metadata={"description": "grants whose period starts on or before this date"})
    q = Text(Grant.title, metadata={"description": "code or title contains"})


class TransitionSchema(Schema):
    reason = Text(max_length=LONG_TEXT, load_default="")
    effective_on = fields.Date(load_default=None, metadata={
        "description": "accept/fail: the date the acceptance (验收) actually took place, as entered; recorded "
                       "with who entered it (default: today)"})


class TransitionResultSchema(Schema):
    id = fields.Int()
    status = Choice(GrantStatus)


class MilestoneSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    title = Text(Milestone.title, required=True, min_length=1)
    due_date = fields.Date(required=True)
    status = Choice(MilestoneStatus, dump_only=True)
    decided_on = fields.Date(dump_only=True)
    decision_note = fields.Str(dump_only=True)


class MilestoneUpdateSchema(Schema):
    title = Text(Milestone.title, min_length=1)
    due_date = fields.Date()


class MilestoneDecisionSchema(Schema):
    accepted = fields.Bool(required=True)
    decided_on = fields.Date(load_default=None)
    note = Text(max_length=LONG_TEXT, load_default="")


class TrancheSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    seq = fields.Int(dump_only=True)
    planned_date = fields.Date(required=True)
    amount = Money(required=True, positive=True)
    milestone_id = Id(allow_none=True, load_default=None)
    race_stage_id = Id(allow_none=True, load_default=None)
    status = Choice(TrancheStatus, dump_only=True)
    paid_on = fields.Date(dump_only=True)


class TrancheUpdateSchema(Schema):
    planned_date = fields.Date()
    amount = Money(positive=True)
    milestone_id = Id(allow_none=True)
    race_stage_id = Id(allow_none=True)


class PaySchema(Schema):
    paid_on = fields.Date(load_default=None)


class RaceSchema(Schema):
    id = fields.Int(dump_only=True)
    title = Text(Race.title, required=True, min_length=1)
    stages = fields.List(Text(RaceStage.title), load_only=True, required=True,
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
    grant_ids = fields.List(Id(), required=True, validate=validate.Length(min=1))
    selected_on = fields.Date(load_default=None)


class SubsidyTermsSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    ratio_cap = Ratio(required=True)
    absolute_cap = Money(required=True)
    programme = Text(SubsidyTerms.programme, load_default="")


class SubsidyAssessmentSchema(Schema):
    grant_id = fields.Int()
    eligible_spend = Money()
    ineligible_spend = Money()
    ratio_cap = fields.Decimal(as_string=True)
    absolute_cap = Money()
    by_ratio = Money()
    payable = Money()
    explanation = fields.Dict()
    computed_at = Timestamp()
    paid_on = fields.Date(allow_none=True)
    claimed_amount = Money(allow_none=True)
    paid_amount = Money(allow_none=True)
    payment_explanation = fields.Dict(allow_none=True)


class EquityInvestmentSchema(Schema):
    id = fields.Int(dump_only=True)
    grant_id = fields.Int(dump_only=True)
    investee_name = Text(EquityInvestment.investee_name, required=True, min_length=1)
    investee_credit_code = Text(EquityInvestment.investee_credit_code, load_default=None, allow_none=True)
    holder = Text(EquityInvestment.holder, load_default="")
    amount = Money(required=True, positive=True)
    pre_money_valuation = Money(required=True, positive=True)
    invested_on = fields.Date(required=True)
    lock_up_end = fields.Date(load_default=None)
    conditions = fields.Dict(load_default=dict)
    shareholding = fields.Decimal(as_string=True, dump_only=True)


class EquityInvestmentUpdateSchema(Schema):
    investee_name = Text(EquityInvestment.investee_name, min_length=1)
    investee_credit_code = Text(EquityInvestment.investee_credit_code, allow_none=True)
    holder = Text(EquityInvestment.holder)
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
    note = Text(max_length=LONG_TEXT, load_default="")
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
