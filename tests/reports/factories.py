"""factory-boy factories of the reports-owned tables (re-exported by ``tests.factories``)."""
from __future__ import annotations

from decimal import Decimal

import factory

from grants.models import InstitutionKind
from reports.models import JobRun, RdSpendReport, StBudgetYear
from tests.factories import BaseFactory, InstitutionFactory


class RdSpendReportFactory(BaseFactory):
    class Meta:
        model = RdSpendReport
        exclude = ("institution",)

    institution = factory.SubFactory(InstitutionFactory, kind=InstitutionKind.STATE_OWNED)
    institution_id = factory.SelfAttribute("institution.id")
    year = factory.Sequence(lambda n: 2000 + n % 100)
    rd_spend = Decimal("10000000.00")


class StBudgetYearFactory(BaseFactory):
    class Meta:
        model = StBudgetYear

    year = factory.Sequence(lambda n: 2000 + n % 100)
    amount = Decimal("100000000.00")


class JobRunFactory(BaseFactory):
    class Meta:
        model = JobRun

    job = "ledger_checkpoints"
    ok = True
