"""When a grant's evaluations fall due: pure date arithmetic, no database."""
from __future__ import annotations

import calendar
from datetime import date

from evaluations.models import EvaluationKind


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day (Aug 31 + 6 → Feb 28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def due_dates(start: date, end: date, acceptance_within_months: int) -> list[tuple[EvaluationKind, date]]:
    """Mid-term at the middle of the period; an annual report at each anniversary of the start inside
    the period; final acceptance requested within N months after the end date (DOMAIN.md, 评估与记录)."""
    out = [(EvaluationKind.MID_TERM, start + (end - start) / 2)]
    year = 1
    while (anniversary := add_months(start, 12 * year)) < end:
        out.append((EvaluationKind.ANNUAL, anniversary))
        year += 1
    out.append((EvaluationKind.FINAL_ACCEPTANCE, add_months(end, acceptance_within_months)))
    return sorted(out, key=lambda kd: kd[1])
