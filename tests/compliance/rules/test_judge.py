"""The verdict: the worst finding wins, and the policy data is the rules (against the real 2021 file).

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D


from compliance.rules import judge
from tests.compliance.rules.support import (CONTENT_2021, NO_CTX, P2020, P2021, expense, grant, ids, line, only,
                                            with_rules)


# --------------------------------------------------------------------------------- baseline

def test_clean_expense_is_allowed_with_no_findings():
    j = judge(expense(), grant(), NO_CTX, P2021)
    assert j.verdict == "allow"
    assert j.findings == ()
    assert j.subsidy_eligible is None


def test_verdict_is_the_worst_finding_severity():
    # cash (OFFICIAL-CARD-CASH: warn) + a fine (NEG-FINE-ETC: reject) → reject
    j = judge(expense(payment_method="cash", purpose="fine"), grant(), NO_CTX, P2021)
    assert {f.severity for f in j.findings} >= {"warn", "reject"}
    assert j.verdict == "reject"


def test_judgement_serialises_to_json_with_decimals_as_strings():
    j = judge(expense(purpose="fine", amount=D("5000.00"), invoice_verified=None), grant(), NO_CTX, P2021)
    data = json.loads(json.dumps(j.to_dict(), ensure_ascii=False))
    fine = next(f for f in data["findings"] if f["rule_id"] == "NEG-FINE-ETC")
    assert fine["figures"]["amount"] == "5000.00"
    assert fine["source"].startswith("机构负面清单")


# ------------------------------------------------------------------------ policy data is the rules


LOTTERY = {"id": "NEG-LOTTERY", "kind": "forbidden_purpose", "negative_list": True, "severity": "reject",
           "title": {"zh": "购买彩票", "en": "lottery tickets"}, "source": {"doc": "INST-NEGLIST"},
           "params": {"keywords": ["彩票", "lottery"]}}


def test_adding_a_rule_is_a_data_change():
    """A new rule of an existing kind, added as data only, fires without any code change."""
    e = expense(purpose=None, description="为课题组购买体育彩票")
    assert judge(e, grant(), NO_CTX, P2021).verdict == "allow"
    extended = with_rules(CONTENT_2021, LOTTERY)
    f = only(judge(e, grant(), NO_CTX, extended), "NEG-LOTTERY")
    assert f.severity == "reject" and f.source == "机构负面清单"
    assert "NEG-LOTTERY" in extended.negative_list_ids


def test_a_rule_applies_only_within_its_scope():
    scoped = with_rules(CONTENT_2021, {**LOTTERY, "scope": {"categories": ["stable"]}})
    e = expense(purpose=None, description="彩票")
    assert "NEG-LOTTERY" not in ids(judge(e, grant(), NO_CTX, scoped))
    assert "NEG-LOTTERY" in ids(judge(e, grant(category="stable"), NO_CTX, scoped))


def test_a_rule_applies_only_on_its_own_dates():
    dated = with_rules(CONTENT_2021, {**LOTTERY, "effective_from": "2024-01-01"})
    assert "NEG-LOTTERY" not in ids(judge(expense(description="彩票", expense_date=date(2023, 12, 31)), grant(),
                                          NO_CTX, dated))
    assert "NEG-LOTTERY" in ids(judge(expense(description="彩票", expense_date=date(2024, 1, 1)), grant(),
                                      NO_CTX, dated))


def test_the_same_spend_is_judged_by_the_version_of_its_date():
    """2020.1 (中办发〔2016〕50号) lets only operations be exceeded with approval; 2021.1 (国办发〔2021〕32号 (二))
    adds labour."""
    g = grant(lines={"labour": line("labour", "1000")})
    e = expense(subject="labour", purpose="labour_fee", payee_kind="student", amount=D("2000"),
                invoice_no=None, invoice_verified=None)
    assert only(judge(e, g, NO_CTX, P2021), "BUDGET-AVAILABLE").severity == "needs_approval"
    assert only(judge(e, g, NO_CTX, P2020), "BUDGET-AVAILABLE").severity == "reject"
