"""One compiled rule of a policy, and the targets a rule kind can judge."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

EXPENSE, BUDGET, ADJUSTMENT, SUBSIDY = "expense", "budget", "adjustment", "subsidy"
TARGETS = (EXPENSE, BUDGET, ADJUSTMENT, SUBSIDY)


@dataclass(frozen=True, eq=False)
class Rule:
    """One compiled rule of a policy. ``params`` is whatever the kind's ``compile`` returned."""

    id: str
    kind: str
    target: str                 # expense | budget | adjustment | subsidy
    title_zh: str
    title_en: str
    source: str                 # human citation
    severity: str
    negative_list: bool
    effective_from: date | None
    effective_to: date | None
    scope: tuple                # ((grant attribute, frozenset, include?), ...)
    params: Any
    check: Callable | None = field(repr=False, default=None)
    unconfirmed: tuple = ()     # params whose figures the research could not confirm ("figures": all of them)

    @property
    def dated(self) -> bool:
        return self.effective_from is not None or self.effective_to is not None

    def in_force(self, on: date) -> bool:
        if self.effective_from is not None and on < self.effective_from:
            return False
        return self.effective_to is None or on <= self.effective_to

    def applies_to(self, grant: Any) -> bool:
        for attr, values, include in self.scope:
            v = getattr(grant, attr, None)
            if (getattr(v, "value", v) in values) is not include:   # plain strings or str enums
                return False
        return True

