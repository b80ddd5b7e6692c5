"""What a failed or missed evaluation does to a grant — policy data, enforced through hooks.

The consequences live in ``evaluations/policies/evaluation-consequences.yaml``: each names its trigger
(evaluation kinds and outcomes, optionally grant categories), an effect and its source. When an evaluation
becomes ``overdue`` or ``failed`` the matching consequences are recorded as :class:`EvaluationHold` rows;
a later ``passed`` evaluation of the same kind lifts the holds of that kind. The effects are enforced where
the money moves, without the lower packages importing this one:

- ``block_tranche``  → ``grants.disbursement.register_tranche_gate``
- ``block_subsidy``  → ``budgets.subsidy.register_subsidy_gate``
- ``expense_review`` → ``compliance.holds.register_hold_provider`` (a finding on every new expense)
- ``flag_for_bureau`` → listed by :func:`flagged_grants` and mailed to the bureau
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import exists, select

from budgets.subsidy import register_subsidy_gate
from compliance import holds as compliance_holds
from compliance import rules
from compliance.policy import content_hash, load_policy_file
from evaluations.models import KIND_EN, KIND_ZH, Evaluation, EvaluationHold
from grants.extensions import db
from grants.models import Grant
from grants.disbursement import register_tranche_gate

POLICY_FILE = Path(__file__).resolve().parent / "policies" / "evaluation-consequences.yaml"
EFFECTS = ("block_tranche", "block_subsidy", "flag_for_bureau", "expense_review")
OUTCOMES = ("failed", "overdue")
OUTCOME_ZH = {"failed": "未通过", "overdue": "逾期未提交"}


class ConsequencePolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Consequence:
    id: str
    title_zh: str
    title_en: str
    source: str
    kinds: frozenset
    outcomes: frozenset
    categories: frozenset | None
    effect: str
    severity: str

    def applies(self, ev: Evaluation, outcome: str, grant: Grant) -> bool:
        return (ev.kind.value in self.kinds and outcome in self.outcomes
                and (self.categories is None or grant.category.value in self.categories))


@dataclass(frozen=True)
class ConsequencePolicy:
    version: str
    content_hash: str
    consequences: tuple[Consequence, ...]
    reminder_days_before: tuple[int, ...]
    overdue_every_days: int
    escalate_when_overdue: bool
    post_investment_every_months: int


def _cite(sources: dict, items, where: str) -> str:
    items = items if isinstance(items, list) else [items]
    parts = []
    for s in items:
        if not isinstance(s, dict) or s.get("doc") not in sources:
            raise ConsequencePolicyError(f"{where}: source must name a doc listed in sources")
        short = sources[s["doc"]].get("short") or s["doc"]
        parts.append(f"{short} {s['article']}" if s.get("article") else short)
    if not parts:
        raise ConsequencePolicyError(f"{where}: a source is required")
    return "; ".join(parts)


def parse(content: dict) -> ConsequencePolicy:
    """Validate and compile the consequence policy (an unknown effect or a missing source is refused)."""
    sources = content.get("sources") or {}
    out = []
    for i, raw in enumerate(content.get("consequences") or []):
        where = f"consequences[{i}] ({raw.get('id')})"
        if raw.get("effect") not in EFFECTS:
            raise ConsequencePolicyError(f"{where}: effect must be one of {list(EFFECTS)}")
        when = raw.get("when") or {}
        outcomes = frozenset(when.get("outcomes") or ())
        if not outcomes or not outcomes <= set(OUTCOMES):
            raise ConsequencePolicyError(f"{where}: when.outcomes must list {list(OUTCOMES)}")
        kinds = frozenset(when.get("kinds") or ())
        if not kinds or not kinds <= set(KIND_ZH):
            raise ConsequencePolicyError(f"{where}: when.kinds must list evaluation kinds {sorted(KIND_ZH)}")
        severity = raw.get("severity", "needs_approval")
        if severity not in rules.RULE_SEVERITIES:
            raise ConsequencePolicyError(f"{where}: severity must be one of {list(rules.RULE_SEVERITIES)}")
        title = raw.get("title") or {}
        if not title.get("zh") or not title.get("en"):
            raise ConsequencePolicyError(f"{where}: title needs zh and en")
        cats = when.get("categories")
        out.append(Consequence(raw["id"], title["zh"], title["en"], _cite(sources, raw.get("source"), where),
                               kinds, outcomes, frozenset(cats) if cats else None, raw["effect"], severity))
    rem = content.get("reminders") or {}
    pir = content.get("post_investment_review") or {}
    return ConsequencePolicy(str(content.get("version")), content_hash(content), tuple(out),
                             tuple(sorted((int(d) for d in rem.get("days_before", (30, 7, 1, 0))), reverse=True)),
                             int(rem.get("overdue_every_days", 7)), bool(rem.get("escalate_when_overdue", True)),
                             int(pir.get("every_months", 12)))


@functools.lru_cache(maxsize=1)
def policy() -> ConsequencePolicy:
    return parse(load_policy_file(POLICY_FILE))


# --------------------------------------------------------------------------- impose and lift
def impose(ev: Evaluation, outcome: str, on: date) -> list[EvaluationHold]:
    """Record the holds an ``overdue`` or ``failed`` evaluation brings (inside the caller's transaction)."""
    s = db.session
    grant = ev.grant
    p = policy()
    added = []
    for c in p.consequences:
        if not c.applies(ev, outcome, grant):
            continue
        if s.scalar(select(EvaluationHold.id).where(EvaluationHold.evaluation_id == ev.id,
                                                    EvaluationHold.consequence_id == c.id)) is not None:
            continue
        zh = (f"{KIND_ZH[ev.kind.value]}（应于 {ev.due_date} 完成）{OUTCOME_ZH[outcome]}：{c.title_zh}；"
              f"通过复评后解除")
        en = (f"{KIND_EN[ev.kind.value]} due {ev.due_date} is {outcome}: {c.title_en}; lifted by a passed "
              f"re-evaluation")
        h = EvaluationHold(grant_id=grant.id, evaluation_id=ev.id, consequence_id=c.id, effect=c.effect,
                           severity=c.severity, reason_zh=zh, reason_en=en, source=c.source,
                           policy_hash=p.content_hash, imposed_on=on)
        s.add(h)
        added.append(h)
    s.flush()
    return added


def lift(ev: Evaluation, on: date) -> list[EvaluationHold]:
    """A passed evaluation lifts the active holds its kind imposed on the grant (the re-evaluation)."""
    s = db.session
    active = s.scalars(select(EvaluationHold).join(Evaluation, Evaluation.id == EvaluationHold.evaluation_id)
                       .where(EvaluationHold.grant_id == ev.grant_id, EvaluationHold.lifted_on.is_(None),
                              Evaluation.kind == ev.kind)).all()
    for h in active:
        h.lifted_on, h.lifted_by_evaluation_id = on, ev.id
    s.flush()
    return list(active)


def active_holds(grant_id: int, effect: str | None = None) -> list[EvaluationHold]:
    stmt = select(EvaluationHold).where(EvaluationHold.grant_id == grant_id, EvaluationHold.lifted_on.is_(None))
    if effect:
        stmt = stmt.where(EvaluationHold.effect == effect)
    return list(db.session.scalars(stmt.order_by(EvaluationHold.id)))


def flagged_grants() -> list[EvaluationHold]:
    """The bureau's list: grants flagged by a consequence (``flag_for_bureau``) and not yet lifted."""
    return list(db.session.scalars(select(EvaluationHold).where(
        EvaluationHold.effect == "flag_for_bureau", EvaluationHold.lifted_on.is_(None)).order_by(EvaluationHold.id)))


# --------------------------------------------------------------------------- enforcement hooks
def _why(holds: list[EvaluationHold]) -> str | None:
    if not holds:
        return None
    return "；".join(h.reason_zh for h in holds) + " / " + "; ".join(h.reason_en for h in holds) + \
        f" [{', '.join(h.consequence_id for h in holds)}]"


def _tranche_gate(grant: Grant, tranche) -> str | None:
    return _why(active_holds(grant.id, "block_tranche"))


def _subsidy_gate(grant: Grant) -> str | None:
    return _why(active_holds(grant.id, "block_subsidy"))


def _expense_findings(grant_id: int) -> list[rules.Finding]:
    return [rules.Finding(rule_id=h.consequence_id, kind="evaluation_hold", severity=h.severity,
                          message_zh=h.reason_zh, message_en=h.reason_en, source=h.source,
                          figures={"evaluation_id": h.evaluation_id, "imposed_on": h.imposed_on.isoformat()})
            for h in active_holds(grant_id, "expense_review")]


register_tranche_gate(_tranche_gate)
register_subsidy_gate(_subsidy_gate)
def _expense_review_probe(grant_id_column):
    return exists().where(EvaluationHold.grant_id == grant_id_column, EvaluationHold.lifted_on.is_(None),
                          EvaluationHold.effect == "expense_review")


compliance_holds.register_hold_provider(_expense_findings, _expense_review_probe)

__all__ = ["policy", "parse", "impose", "lift", "active_holds", "flagged_grants"]
