"""factory-boy factories for every model, bound to the Flask-SQLAlchemy session."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from budgets.models import (AdjustmentStatus, BudgetAdjustment, BudgetLine, Expense, ExpenseRuleTotal, ExpenseStatus,
                            ExpenseTotal, Subject, Verdict)
from compliance.models import PolicyVersion
from grants import models as m
from grants.auth import hash_token, new_token
from grants.extensions import db
from grants.ledger import LedgerCheckpoint, LedgerCheckpointHead, LedgerEntry


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class InstitutionFactory(BaseFactory):
    class Meta:
        model = m.Institution

    name = factory.Sequence(lambda n: f"鄂尔多斯研究院{n}")
    kind = m.InstitutionKind.RESEARCH_INSTITUTE
    credit_code = factory.Sequence(lambda n: f"91150600MA{n:08d}")


class ResearcherFactory(BaseFactory):
    class Meta:
        model = m.Researcher

    institution = factory.SubFactory(InstitutionFactory)
    institution_id = factory.SelfAttribute("institution.id")
    name = factory.Sequence(lambda n: f"研究员{n}")
    birth_date = date(1985, 5, 1)
    title = "研究员"


class UserFactory(BaseFactory):
    class Meta:
        model = m.User

    username = factory.Sequence(lambda n: f"user{n}")
    role = m.Role.FINANCE_BUREAU
    password_hash = factory.LazyFunction(lambda: "!unusable")


class ApiTokenFactory(BaseFactory):
    class Meta:
        model = m.ApiToken

    user = factory.SubFactory(UserFactory)
    user_id = factory.SelfAttribute("user.id")
    token_hash = factory.LazyFunction(lambda: hash_token(new_token()))


def make_user(role: str, institution: m.Institution | None = None) -> tuple[m.User, str]:
    role = m.Role(role)
    if role == m.Role.INSTITUTION and institution is None:
        institution = InstitutionFactory()
    user = UserFactory(role=role, institution_id=institution.id if role == m.Role.INSTITUTION else None)
    token = new_token()
    ApiTokenFactory(user=user, token_hash=hash_token(token))
    return user, token


class RaceFactory(BaseFactory):
    class Meta:
        model = m.Race

    title = factory.Sequence(lambda n: f"赛马{n}")


class RaceStageFactory(BaseFactory):
    class Meta:
        model = m.RaceStage

    race = factory.SubFactory(RaceFactory)
    race_id = factory.SelfAttribute("race.id")
    stage_no = 1


class GrantFactory(BaseFactory):
    class Meta:
        model = m.Grant

    code = factory.Sequence(lambda n: f"KJ-2025-{n:04d}")
    title = factory.Sequence(lambda n: f"煤基新材料关键技术研究{n}")
    institution = factory.SubFactory(InstitutionFactory)
    institution_id = factory.SelfAttribute("institution.id")
    pi = factory.SubFactory(ResearcherFactory, institution=factory.SelfAttribute("..institution"))
    pi_id = factory.SelfAttribute("pi.id")
    category = m.Category.COMPETITIVE
    funding_mode = m.FundingMode.BUDGETED
    management_mode = m.ManagementMode.STANDARD
    fiscal_amount = Decimal("1000000.00")
    self_raised_amount = Decimal("0.00")
    start_date = date(2025, 1, 1)
    end_date = date(2027, 12, 31)
    status = m.GrantStatus.DRAFT


class RaceSelectionFactory(BaseFactory):
    class Meta:
        model = m.RaceSelection
        exclude = ("stage", "grant")

    stage = factory.SubFactory(RaceStageFactory)
    stage_id = factory.SelfAttribute("stage.id")
    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    selected_on = date(2025, 6, 1)


class MilestoneFactory(BaseFactory):
    class Meta:
        model = m.Milestone

    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    title = "中期检查"
    due_date = date(2026, 1, 1)


class TrancheFactory(BaseFactory):
    class Meta:
        model = m.Tranche

    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    seq = factory.Sequence(lambda n: n + 1)
    planned_date = date(2025, 2, 1)
    amount = Decimal("100000.00")


class SubsidyTermsFactory(BaseFactory):
    class Meta:
        model = m.SubsidyTerms
        exclude = ("grant",)

    grant = factory.SubFactory(GrantFactory, category=m.Category.POST_SUBSIDY)
    grant_id = factory.SelfAttribute("grant.id")
    ratio_cap = Decimal("0.3000")
    absolute_cap = Decimal("500000.00")


class SubsidyAssessmentFactory(BaseFactory):
    class Meta:
        model = m.SubsidyAssessment
        exclude = ("grant",)

    grant = factory.SubFactory(GrantFactory, category=m.Category.POST_SUBSIDY)
    grant_id = factory.SelfAttribute("grant.id")
    eligible_spend = Decimal("100000.00")
    ineligible_spend = Decimal("0.00")
    ratio_cap = Decimal("0.3000")
    absolute_cap = Decimal("500000.00")
    by_ratio = Decimal("30000.00")
    payable = Decimal("30000.00")
    explanation = factory.LazyFunction(dict)


class EquityInvestmentFactory(BaseFactory):
    class Meta:
        model = m.EquityInvestment
        exclude = ("grant",)

    grant = factory.SubFactory(GrantFactory, category=m.Category.GRANT_TO_EQUITY)
    grant_id = factory.SelfAttribute("grant.id")
    investee_name = "鄂尔多斯氢能科技有限公司"
    amount = Decimal("2000000.00")
    pre_money_valuation = Decimal("18000000.00")
    shareholding = Decimal("0.1000000000")
    invested_on = date(2025, 3, 1)


class EquityEventFactory(BaseFactory):
    class Meta:
        model = m.EquityEvent

    investment = factory.SubFactory(EquityInvestmentFactory)
    investment_id = factory.SelfAttribute("investment.id")
    kind = m.EquityEventKind.DILUTION
    event_date = date(2026, 3, 1)
    round_size = Decimal("10000000.00")
    pre_money_valuation = Decimal("40000000.00")
    shareholding_after = Decimal("0.0800000000")


class GrantTransitionFactory(BaseFactory):
    class Meta:
        model = m.GrantTransition
        exclude = ("grant",)

    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    action = "approve"
    from_status = "draft"
    to_status = "approved"


class BudgetLineFactory(BaseFactory):
    class Meta:
        model = BudgetLine

    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    subject = Subject.OPERATIONS
    amount = Decimal("100000.00")


class BudgetAdjustmentFactory(BaseFactory):
    class Meta:
        model = BudgetAdjustment
        exclude = ("grant",)

    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    from_subject = Subject.OPERATIONS
    to_subject = Subject.LABOUR
    amount = Decimal("1000.00")
    status = AdjustmentStatus.RECORDED
    approver_level = "pi"


class ExpenseFactory(BaseFactory):
    class Meta:
        model = Expense

    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    institution_id = factory.SelfAttribute("grant.institution_id")
    expense_date = date(2025, 6, 1)
    amount = Decimal("1000.00")
    subject = "operations"
    description = "实验材料"
    verdict = Verdict.ALLOW
    status = ExpenseStatus.POSTED
    findings = factory.LazyFunction(list)


class ExpenseTotalFactory(BaseFactory):
    """A row of the trigger-maintained totals (the application never writes them; the test of every model does)."""

    class Meta:
        model = ExpenseTotal

    expense_date = factory.Sequence(lambda n: date(1990, 1, 1) + timedelta(days=n))
    institution_id = 1
    category = "competitive"
    verdict = "allow"
    status = "posted"
    expenses = 0
    cents = 0


class ExpenseRuleTotalFactory(ExpenseTotalFactory):
    class Meta:
        model = ExpenseRuleTotal
        exclude = ("category", "status")

    rule_id = "TEST-RULE"


_hash_counter = itertools.count(1)


class PolicyVersionFactory(BaseFactory):
    class Meta:
        model = PolicyVersion

    policy_set = "test-policy"
    version = factory.Sequence(lambda n: f"t{n}")
    effective_from = date(2020, 1, 1)
    status = "draft"
    content_hash = factory.LazyFunction(lambda: f"{next(_hash_counter):064x}")
    content = factory.LazyFunction(lambda: {"rules": []})


class LedgerEntryFactory(BaseFactory):
    """For reading tests only: real postings go through ``grants.ledger.post``."""

    class Meta:
        model = LedgerEntry
        exclude = ("grant",)

    seq = factory.Sequence(lambda n: 900000 + n)
    chain_seq = factory.Sequence(lambda n: 900000 + n)
    entry_type = "disbursement"
    entry_date = date(2025, 1, 1)
    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    institution_id = factory.SelfAttribute("grant.institution_id")
    category = "competitive"
    amount = Decimal("1.00")
    ref_type = "test"
    ref_id = 1
    content = "{}"
    prev_hash = "0" * 64
    hash = factory.Sequence(lambda n: f"{n:064x}")


class LedgerCheckpointFactory(BaseFactory):
    class Meta:
        model = LedgerCheckpoint

    period = "day"
    period_end = factory.Sequence(lambda n: date(2025, 1, 1 + n % 28))
    seq = 0
    chains = 0
    merkle_root = "0" * 64


class LedgerCheckpointHeadFactory(BaseFactory):
    class Meta:
        model = LedgerCheckpointHead
        exclude = ("checkpoint", "institution")

    checkpoint = factory.SubFactory(LedgerCheckpointFactory)
    checkpoint_id = factory.SelfAttribute("checkpoint.id")
    institution = factory.SubFactory(InstitutionFactory)
    institution_id = factory.SelfAttribute("institution.id")
    chain_seq = 1
    seq = 1
    hash = "0" * 64
from tests.reports.factories import JobRunFactory, RdSpendReportFactory, StBudgetYearFactory  # noqa: E402,F401


from evaluations.models import Evaluation, EvaluationKind, EvaluationSubmission, Reminder  # noqa: E402


class EvaluationFactory(BaseFactory):
    class Meta:
        model = Evaluation

    grant = factory.SubFactory(GrantFactory)
    grant_id = factory.SelfAttribute("grant.id")
    kind = EvaluationKind.MID_TERM
    due_date = date(2026, 7, 1)


class ReminderFactory(BaseFactory):
    class Meta:
        model = Reminder
        exclude = ("evaluation",)

    evaluation = factory.SubFactory(EvaluationFactory)
    evaluation_id = factory.SelfAttribute("evaluation.id")
    sent_on = date(2026, 6, 1)
    recipients = "pi@example.org"
    days_before = 30


class EvaluationSubmissionFactory(BaseFactory):
    class Meta:
        model = EvaluationSubmission
        exclude = ("evaluation",)

    evaluation = factory.SubFactory(EvaluationFactory)
    evaluation_id = factory.SelfAttribute("evaluation.id")
    summary = "年度进展：完成预定任务"


from datetime import datetime, timedelta  # noqa: E402

from evaluations.models import EvaluationHold  # noqa: E402
from grants.db import TZ  # noqa: E402
from grants.mail import OutboxMessage  # noqa: E402
from reports.models import AuditExport, SchedulerLease  # noqa: E402


class EvaluationHoldFactory(BaseFactory):
    class Meta:
        model = EvaluationHold
        exclude = ("evaluation",)

    evaluation = factory.SubFactory(EvaluationFactory)
    evaluation_id = factory.SelfAttribute("evaluation.id")
    grant_id = factory.SelfAttribute("evaluation.grant_id")
    consequence_id = "EVAL-MIDTERM-BLOCKS-TRANCHE"
    effect = "block_tranche"
    reason_zh = "中期评估未通过"
    reason_en = "mid-term review failed"
    source = "seed 001 (十九)"
    policy_hash = "0" * 64
    imposed_on = date(2026, 7, 2)


class OutboxMessageFactory(BaseFactory):
    class Meta:
        model = OutboxMessage

    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    recipients = "someone@example.org"
    subject = "测试 / test"
    body = "正文 / body"


class SchedulerLeaseFactory(BaseFactory):
    class Meta:
        model = SchedulerLease

    name = factory.Sequence(lambda n: f"lease{n}")
    holder = "host:1"
    heartbeat_at = datetime(2026, 7, 1, 8, 0, tzinfo=TZ)
    expires_at = factory.LazyAttribute(lambda o: o.heartbeat_at + timedelta(seconds=30))


class AuditExportFactory(BaseFactory):
    class Meta:
        model = AuditExport

    period = factory.Sequence(lambda n: f"{2020 + n // 12}-{n % 12 + 1:02d}")
    fmt = "csv"
    path = "/tmp/ledger.csv"
    sha256 = "0" * 64
    bytes = 0
    row_count = 0
    seq_to = 0
    manifest = factory.LazyFunction(dict)
