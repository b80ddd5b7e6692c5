"""The labelled cases of tests/policy_cases/*.yaml against the real policy files (pure: no database).

Each file names the policy file it is judged by, the defaults of an expense and a grant, and cases: the
expense (over the defaults), optionally the grant and the earlier expenses to the same payee, the expected
verdict, the rules that must be among the findings and those that must not.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from compliance.policy import POLICY_DIR, Policy, load_policy_file
from compliance.rules import Context, ExpenseFacts, GrantFacts, LineFacts, PriorPayment, judge

CASES_DIR = Path(__file__).resolve().parents[1] / "policy_cases"
DECIMALS = {"amount", "unit_value", "expert_days", "lodging_amount", "fare_amount", "partner_share"}
FACT_FIELDS = set(ExpenseFacts.__dataclass_fields__)


def _load():
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "cases" not in doc:
            continue  # the negative-list corpus has its own format and test (tests/compliance/test_corpus*.py)
        policy = Policy.from_content(load_policy_file(POLICY_DIR / doc["policy"]))
        for case in doc["cases"]:
            out.append(pytest.param(policy, doc["defaults"], case, id=f"{path.stem}:{case['id']}"))
    return out


CASES = _load()


def expense_of(defaults: dict, raw: dict) -> ExpenseFacts:
    values = {f: None for f in FACT_FIELDS}
    values.update(defaults["expense"])
    values.update(raw)
    unknown = set(values) - FACT_FIELDS
    assert not unknown, f"unknown expense fields {unknown}"
    for k in DECIMALS:
        if values[k] is not None:
            values[k] = D(str(values[k]))
    values["expense_date"] = date.fromisoformat(str(values["expense_date"]))
    return ExpenseFacts(**values)


def grant_of(defaults: dict, raw: dict | None) -> GrantFacts:
    g = {**defaults["grant"], **(raw or {})}
    lines = {s: LineFacts(s, D(a), D(0), D(0), D(0)) for s, a in g.pop("lines").items()}
    total = sum((l.amount for l in lines.values()), D(0))
    return GrantFacts(id=1, category=g["category"], funding_mode=g["funding_mode"], management_mode="standard",
                      status="active", start_date=date.fromisoformat(g["start_date"]),
                      end_date=date.fromisoformat(g["end_date"]), fund_source="municipal",
                      institution_kind=g["institution_kind"], fiscal_amount=total, disbursed=total,
                      spent_total=D(0), lines=lines)


def context_of(raw: list | None) -> Context:
    prior = tuple(PriorPayment(p["id"], date.fromisoformat(p["expense_date"]), D(p["amount"]), p["purpose"],
                               p["subject"]) for p in raw or ())
    return Context(same_payee_before=prior)


def test_the_rulebook_corpus_has_at_least_100_cases():
    assert sum(1 for c in CASES if c.id.startswith("rulebook:")) >= 100


@pytest.mark.parametrize("policy, defaults, case", CASES)
def test_policy_case(policy, defaults, case):
    j = judge(expense_of(defaults, case["expense"]), grant_of(defaults, case.get("grant")),
              context_of(case.get("same_payee_before")), policy)
    found = [f.rule_id for f in j.findings]
    assert j.verdict == case["verdict"], (case["note"], [(f.rule_id, f.severity, f.message_en) for f in j.findings])
    for rid in case.get("rules", ()):
        assert rid in found, (case["note"], found)
    for rid in case.get("absent", ()):
        assert rid not in found, (case["note"], found)
