"""Typed parameter sections of a compiled policy: what code outside ``compliance`` may read of a policy.

The raw YAML mapping stays inside ``compliance``; :class:`~compliance.policy.Policy` builds these frozen
sections once, from ``parameters`` (and, for the instrument threshold, the rule that states it). A field a
policy version does not state is ``None``: the reader keeps its own default.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from compliance.rules.params import PolicyError, to_decimal

INSTRUMENT_RULE_ID = "SEED-INSTRUMENT-30W"   # 大型科研仪器 ≥ 30万 must be on the sharing platform (seed 001 (二十二))


@dataclass(frozen=True, slots=True)
class BudgetStructure:
    """parameters.budget_structure: which subjects are direct costs, equipment, indirect, the lump-sum pool."""

    direct: tuple[str, ...]
    equipment: str
    indirect: str
    lump_sum: str


@dataclass(frozen=True, slots=True)
class EvaluationParameters:
    """parameters.evaluations (绩效评价)."""

    acceptance_request_within_months: int | None = None
    first_year_target_min_share: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SeedFigures:
    """The thresholds of the seed document's figures (reports), where this policy version states them."""

    youth_share_min: Decimal | None = None                  # basic_research_funds.youth_share_min_seed
    youth_max_age: int | None = None                        # basic_research_funds.youth_max_age
    horizontal_min_non_fiscal: Decimal | None = None        # horizontal_projects.recognise_as_municipal_min_non_fiscal
    soe_increment_weight: Decimal | None = None             # state_owned_rd.increment_weight
    special_fund_growth_rate: Decimal | None = None         # special_fund_growth_rate
    instrument_min_unit_value: Decimal | None = None        # rule SEED-INSTRUMENT-30W params.at_least
    instrument_exempt_fund_sources: tuple[str, ...] | None = None  # … params.exempt_expense_fund_sources
    instrument_institution_kinds: tuple[str, ...] | None = None    # … scope.institution_kinds


def _section(params: Mapping, key: str, where: str) -> Mapping:
    raw = params.get(key) or {}
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: parameters.{key} must be a mapping")
    return raw


def _whole(raw: Any, where: str) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise PolicyError(f"{where}: {raw!r} is not a whole number") from None


def _number(raw: Any, where: str) -> Decimal | None:
    return None if raw is None else to_decimal(raw, where)


def budget_structure(st: Any, subjects: frozenset, name: str) -> BudgetStructure:
    if not isinstance(st, Mapping) or set(st) != {"direct", "equipment", "indirect", "lump_sum"}:
        raise PolicyError(f"{name}: parameters.budget_structure is {{direct, equipment, indirect, lump_sum}}")
    for k in ("equipment", "indirect", "lump_sum"):
        if st[k] not in subjects:
            raise PolicyError(f"{name}: budget_structure.{k} {st[k]!r} is not a subject")
    if not isinstance(st["direct"], list) or not set(st["direct"]) <= subjects or st["equipment"] not in st["direct"]:
        raise PolicyError(f"{name}: budget_structure.direct must list subjects, equipment among them")
    return BudgetStructure(tuple(st["direct"]), st["equipment"], st["indirect"], st["lump_sum"])


def evaluation_parameters(params: Mapping, name: str) -> EvaluationParameters:
    ev = _section(params, "evaluations", name)
    where = f"{name}: parameters.evaluations"
    return EvaluationParameters(
        _whole(ev.get("acceptance_request_within_months"), f"{where}.acceptance_request_within_months"),
        _number(ev.get("first_year_target_min_share"), f"{where}.first_year_target_min_share"))


def seed_figures(params: Mapping, raw_rules: list, name: str) -> SeedFigures:
    brf = _section(params, "basic_research_funds", name)
    hp = _section(params, "horizontal_projects", name)
    soe = _section(params, "state_owned_rd", name)
    where = f"{name}: parameters"
    figures = dict(
        youth_share_min=_number(brf.get("youth_share_min_seed"), f"{where}.basic_research_funds.youth_share_min_seed"),
        youth_max_age=_whole(brf.get("youth_max_age"), f"{where}.basic_research_funds.youth_max_age"),
        horizontal_min_non_fiscal=_number(hp.get("recognise_as_municipal_min_non_fiscal"),
                                          f"{where}.horizontal_projects.recognise_as_municipal_min_non_fiscal"),
        soe_increment_weight=_number(soe.get("increment_weight"), f"{where}.state_owned_rd.increment_weight"),
        special_fund_growth_rate=_number(params.get("special_fund_growth_rate"), f"{where}.special_fund_growth_rate"),
    )
    for rule in raw_rules:
        if rule.get("id") != INSTRUMENT_RULE_ID:
            continue
        rp = rule.get("params") or {}
        figures["instrument_min_unit_value"] = _number(rp.get("at_least"), f"{name}: {INSTRUMENT_RULE_ID}.at_least")
        if "exempt_expense_fund_sources" in rp:
            figures["instrument_exempt_fund_sources"] = tuple(rp["exempt_expense_fund_sources"])
        kinds = (rule.get("scope") or {}).get("institution_kinds")
        if kinds:
            figures["instrument_institution_kinds"] = tuple(kinds)
    return SeedFigures(**figures)
