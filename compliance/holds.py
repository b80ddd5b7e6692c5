"""Holds: facts about a grant, imposed by a package above compliance, that every new expense is judged with.

An evaluation overdue or failed (``evaluations.consequences``) can put a grant under a hold whose policy data
says what it does to expenses (e.g. ``needs_approval`` with a finding saying why). Compliance cannot import
the evaluations package, so that package registers a provider here; ``load_grant_state`` asks the providers
and ``judge_expense`` adds each hold's finding to the verdict. Pure apart from the providers' query.
"""
from __future__ import annotations

from typing import Callable

from compliance import rules

HoldProvider = Callable[[int], list[rules.Finding]]
_providers: list[HoldProvider] = []


def register_hold_provider(provider: HoldProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def holds_for(grant_id: int) -> tuple[rules.Finding, ...]:
    out: list[rules.Finding] = []
    for provider in _providers:
        out.extend(provider(grant_id))
    return tuple(out)


def with_holds(judgement: rules.Judgement, holds: tuple[rules.Finding, ...]) -> rules.Judgement:
    """The verdict with each hold's finding added; the worst severity still wins."""
    if not holds:
        return judgement
    findings = tuple(judgement.findings) + tuple(holds)
    worst = max((f.severity for f in findings), key=rules.SEVERITY_ORDER.__getitem__, default="allow")
    if rules.SEVERITY_ORDER[judgement.verdict] > rules.SEVERITY_ORDER[worst]:
        worst = judgement.verdict
    return rules.Judgement(worst, findings, judgement.subsidy_eligible)
