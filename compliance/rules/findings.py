"""Findings and the verdict, and the helpers every rule family uses to write a finding."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from compliance.rules.rule import Rule
from compliance.vocabulary import FIELD_ZH, SEVERITY_ORDER, Verdict

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy

__all__ = ["Calculation", "Finding", "Judgement", "calculation", "SEVERITY_ORDER", "finding", "missing", "worst_severity", "yuan", "subject_zh"]


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    kind: str
    severity: str
    message_zh: str
    message_en: str
    source: str
    figures: dict
    missing_field: str | None = None

    def to_dict(self) -> dict:
        return {"rule_id": self.rule_id, "kind": self.kind, "severity": self.severity,
                "message_zh": self.message_zh, "message_en": self.message_en, "source": self.source,
                "figures": dict(self.figures), "missing_field": self.missing_field}


@dataclass(frozen=True, slots=True)
class Calculation:
    """What a rule computed for the expense (a travel allowance, a meeting cap) whether or not it found
    anything: shown by the dry run beside the findings; it never changes the verdict."""

    rule_id: str
    kind: str
    message_zh: str
    message_en: str
    source: str
    figures: dict

    def to_dict(self) -> dict:
        return {"rule_id": self.rule_id, "kind": self.kind, "message_zh": self.message_zh,
                "message_en": self.message_en, "source": self.source, "figures": dict(self.figures)}


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: str
    findings: tuple[Finding, ...]
    subsidy_eligible: bool | None
    calculations: tuple[Calculation, ...] = ()

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "findings": [f.to_dict() for f in self.findings],
                "subsidy_eligible": self.subsidy_eligible,
                "calculations": [c.to_dict() for c in self.calculations]}



def worst_severity(findings) -> str:
    """The verdict of a set of findings: the worst severity among them, ``allow`` when there are none."""
    worst = Verdict.ALLOW.value
    rank = 0
    for f in findings:
        r = SEVERITY_ORDER[f.severity]
        if r > rank:
            worst, rank = f.severity, r
    return worst


def yuan(d: Decimal) -> str:
    return f"{d:,.2f}"


def finding(rule: Rule, severity: str, zh: str, en: str, figures: dict, missing_field: str | None = None) -> Finding:
    if rule.unconfirmed and missing_field is None:
        figures = {**figures, "unconfirmed": list(rule.unconfirmed)}
        zh += "（所用数额尚待核实）"
        en += " (the figure used is unconfirmed)"
    return Finding(rule.id, rule.kind, severity, zh, en, rule.source, figures, missing_field)


def calculation(rule: Rule, zh: str, en: str, figures: dict) -> Calculation:
    return Calculation(rule.id, rule.kind, zh, en, rule.source, figures)


def missing(rule: Rule, policy: "Policy", fieldname: str, why_zh: str = "", why_en: str = "") -> Finding:
    """Fail closed: the rule cannot be judged without ``fieldname``."""
    zh = f"{rule.title_zh}：缺少「{FIELD_ZH.get(fieldname, fieldname)}」({fieldname})，无法判定，需人工审批"
    en = f"{rule.title_en}: field '{fieldname}' is missing, so the rule cannot be judged; needs approval"
    if why_zh:
        zh += f"（{why_zh}）"
        en += f" ({why_en})"
    return finding(rule, policy.fail_closed_severity, zh, en, {"rules_needing_it": [rule.id]}, fieldname)


def subject_zh(policy: "Policy", subject: str) -> str:
    return policy.subject_names.get(subject, subject)

