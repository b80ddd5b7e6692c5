"""The labelled corpus of the negative-list screening: judge every case, print precision and recall per rule.

``python -m compliance.corpus [FILE]`` or ``grants policy-corpus [FILE]`` (default
``tests/policy_cases/negative_list.yaml``). Each description is judged by :func:`compliance.rules.judge`
under the current policy (:func:`compliance.policy.current_policy`) as a neutral expense — operations,
a vendor paid by bank transfer, a verified invoice, no purpose code — so only the description decides.
Exit status 1 unless every case comes out as labelled.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from compliance.policy import Policy, current_policy
from compliance.rules import ExpenseFacts, GrantFacts, LineFacts, judge
from compliance.rules.facts import Context

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "tests" / "policy_cases" / "negative_list.yaml"
ALLOW, SUSPECT = "allow", "suspect:"


@dataclass(frozen=True)
class Case:
    text: str
    clear: frozenset[str]      # rules that must reject it
    suspect: frozenset[str]    # rules that must only suspect it


@dataclass
class Outcome:
    case: Case
    clear: frozenset[str]
    suspect: frozenset[str]
    verdict: str

    @property
    def correct(self) -> bool:
        return self.clear == self.case.clear and (self.case.suspect <= self.suspect) and (
            bool(self.case.suspect) or not self.suspect or bool(self.case.clear))


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]

    @property
    def false_rejections(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.case.clear and o.verdict == "reject"]

    def per_rule(self, tier: str = "clear") -> dict[str, tuple[int, int, int]]:
        """rule → (true positives, false positives, false negatives) in one tier. The suspect tier is counted
        over the cases that are not clearly forbidden (a suspicion on a rejected expense changes nothing)."""
        counts: dict[str, list[int]] = {}
        for o in self.outcomes:
            if tier != "clear" and o.case.clear:
                continue
            want, got = (o.case.clear, o.clear) if tier == "clear" else (o.case.suspect, o.suspect)
            for r in want | got:
                c = counts.setdefault(r, [0, 0, 0])
                if r in want and r in got:
                    c[0] += 1
                elif r in got:
                    c[1] += 1
                else:
                    c[2] += 1
        return {r: tuple(c) for r, c in sorted(counts.items())}


def load_cases(path: str | Path = DEFAULT_FILE) -> list[Case]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = []
    for key, texts in raw.items():
        if key == ALLOW:
            clear, suspect = frozenset(), frozenset()
        elif key.startswith(SUSPECT):
            clear, suspect = frozenset(), frozenset([key[len(SUSPECT):]])
        else:
            clear, suspect = frozenset(key.split("+")), frozenset()
        for text in texts:
            cases.append(Case(str(text), clear, suspect))
    return cases


_GRANT = GrantFacts(
    id=0, category="competitive", funding_mode="budgeted", management_mode="standard", status="active",
    start_date=date(2022, 1, 1), end_date=date(2027, 12, 31), fund_source="municipal", institution_kind="university",
    fiscal_amount=Decimal("1000000"), disbursed=Decimal("1000000"), spent_total=Decimal("0"),
    lines={s: LineFacts(s, Decimal("250000"), Decimal("0"), Decimal("0"), Decimal("0"))
           for s in ("equipment", "operations", "labour", "indirect")})


def neutral_expense(text: str) -> ExpenseFacts:
    return ExpenseFacts(
        expense_date=date(2024, 6, 1), amount=Decimal("800.00"), subject="operations", purpose=None, description=text,
        payee_name="鄂尔多斯某公司", payee_kind="vendor", payment_method="bank_transfer", invoice_no=None,
        invoice_verified=True, unit_value=None, quantity=None, platform_registered=None, expert_title=None,
        expert_days=None, fund_source=None)


def evaluate(cases: list[Case], policy: Policy | None = None) -> Report:
    policy = policy or current_policy()
    neg = policy.negative_list_ids
    report = Report()
    for case in cases:
        j = judge(neutral_expense(case.text), _GRANT, Context(), policy)
        clear = frozenset(f.rule_id for f in j.findings if f.rule_id in neg and f.figures.get("matched_by") == "keyword")
        suspect = frozenset(f.rule_id for f in j.findings if f.rule_id in neg and f.figures.get("tier") == "suspect")
        report.outcomes.append(Outcome(case, clear, suspect, j.verdict))
    return report


def _ratio(a: int, b: int) -> str:
    return f"{a / b:6.1%}" if b else "     —"


def render(report: Report, policy: Policy) -> str:
    cases = [o.case for o in report.outcomes]
    lines = [f"policy {policy.policy_set} {policy.version} ({policy.content_hash[:12]}); "
             f"{sum(1 for c in cases if c.clear)} forbidden, {sum(1 for c in cases if c.suspect)} suspect, "
             f"{sum(1 for c in cases if not c.clear and not c.suspect)} legitimate cases", ""]
    for tier in ("clear", "suspect"):
        lines.append(f"{tier:8} {'rule':22} {'cases':>5} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}")
        for rule, (tp, fp, fn) in report.per_rule(tier).items():
            lines.append(f"{'':8} {rule:22} {tp + fn:5} {tp:4} {fp:4} {fn:4} {_ratio(tp, tp + fp):>9} {_ratio(tp, tp + fn):>7}")
        lines.append("")
    lines.append(f"false rejections of legitimate or suspect cases: {len(report.false_rejections)}")
    lines.append(f"cases not as labelled: {len(report.failures)}")
    for o in report.failures:
        want = "+".join(sorted(o.case.clear)) or ("suspect:" + "+".join(sorted(o.case.suspect)) if o.case.suspect else ALLOW)
        lines.append(f"  {o.case.text!r}: labelled {want}; got clear {sorted(o.clear)}, suspect {sorted(o.suspect)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    policy = current_policy()
    report = evaluate(load_cases(args[0] if args else DEFAULT_FILE), policy)
    print(render(report, policy))
    return 0 if not report.failures and not report.false_rejections else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
