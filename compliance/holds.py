"""Holds: facts about a grant, imposed by a package above compliance, that every new expense is judged with.

An evaluation overdue or failed (``evaluations.consequences``) can put a grant under a hold whose policy data
says what it does to expenses (e.g. ``needs_approval`` with a finding saying why). Compliance cannot import
the evaluations package, so that package registers a provider here; ``load_grant_state`` asks the providers
and ``judge_expense`` adds each hold's finding to the verdict. Pure apart from the providers' query.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import false, or_, true

from compliance import rules

HoldProvider = Callable[[int], list[rules.Finding]]
# (grant id column) → a SQL boolean: "this provider may have a hold on the grant" (EXISTS …), read in the same
# round trip as the grant, so a grant under no hold — nearly all — costs no query of its own
HoldProbe = Callable[[Any], Any]
_providers: list[tuple[HoldProvider, HoldProbe | None]] = []


def register_hold_provider(provider: HoldProvider, probe: HoldProbe | None = None) -> None:
    if all(p is not provider for p, _ in _providers):
        _providers.append((provider, probe))


def holds_for(grant_id: int) -> tuple[rules.Finding, ...]:
    out: list[rules.Finding] = []
    for provider, _probe in _providers:
        out.extend(provider(grant_id))
    return tuple(out)


def provider_count() -> int:
    return len(_providers)


def holds_probe(grant_id_column):
    """A SQL boolean, true when some provider may hold the grant (a provider without a probe: always)."""
    probes = [probe(grant_id_column) if probe is not None else true() for _p, probe in _providers]
    return or_(*probes) if probes else false()


def with_holds(judgement: rules.Judgement, holds: tuple[rules.Finding, ...]) -> rules.Judgement:
    """The verdict with each hold's finding added; the worst severity still wins."""
    if not holds:
        return judgement
    findings = tuple(judgement.findings) + tuple(holds)
    worst = max((f.severity for f in findings), key=rules.SEVERITY_ORDER.__getitem__, default="allow")
    if rules.SEVERITY_ORDER[judgement.verdict] > rules.SEVERITY_ORDER[worst]:
        worst = judgement.verdict
    return rules.Judgement(worst, findings, judgement.subsidy_eligible)
