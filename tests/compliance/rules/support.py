"""Builders shared by the rule-engine tests: the real policies, and facts with sensible defaults."""
from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal as D

from compliance.policy import POLICY_DIR, Policy, load_policy_file
from compliance.rules import BudgetGrant, Context, ExpenseFacts, GrantFacts, LineFacts

CONTENT_2021 = load_policy_file(POLICY_DIR / "ordos-research-funds-2021.yaml")
CONTENT_2020 = load_policy_file(POLICY_DIR / "ordos-research-funds-2020.yaml")
P2021 = Policy.from_content(CONTENT_2021)
P2020 = Policy.from_content(CONTENT_2020)
NO_CTX = Context()


def line(subject, amount="100000", spent="0", reserved="0", adjusted="0"):
    return LineFacts(subject, D(amount), D(adjusted), D(spent), D(reserved))


def grant(**kw) -> GrantFacts:
    base = dict(id=1, category="competitive", funding_mode="budgeted", management_mode="standard", status="active",
                start_date=date(2022, 1, 1), end_date=date(2025, 12, 31), fund_source="municipal",
                institution_kind="university", fiscal_amount=D("400000"), disbursed=D("400000"),
                spent_total=D("0"), lines={s: line(s) for s in ("equipment", "operations", "labour", "indirect")},
                equity_conditions=None)
    base.update(kw)
    return GrantFacts(**base)


def expense(**kw) -> ExpenseFacts:
    base = dict(expense_date=date(2023, 3, 1), amount=D("1200.00"), subject="operations", purpose="materials",
                description="采购实验试剂一批", payee_name="鄂尔多斯某试剂公司", payee_kind="vendor",
                payment_method="bank_transfer", invoice_no="044001900111", invoice_verified=True, unit_value=None,
                quantity=None, platform_registered=None, expert_title=None, expert_days=None, fund_source=None)
    base.update(kw)
    return ExpenseFacts(**base)


def ids(j):
    return [f.rule_id for f in j.findings]


def only(j, rule_id):
    found = [f for f in j.findings if f.rule_id == rule_id]
    assert len(found) == 1, f"expected one {rule_id} finding, got {ids(j)}"
    return found[0]


def equipment(**kw):
    base = dict(subject="equipment", purpose="equipment_purchase", amount=D("350000"), unit_value=D("350000"),
                quantity=1, description="购置气相色谱仪", platform_registered=False)
    base.update(kw)
    return expense(**base)


def rich_grant(**kw):
    return grant(fiscal_amount=D("2000000"), disbursed=D("2000000"),
                 lines={"equipment": line("equipment", "1500000"), "operations": line("operations")}, **kw)


def expert(**kw):
    base = dict(purpose="expert_fee", description="中期评审专家咨询费", payee_name="李教授", payee_kind="external_expert",
                payment_method="bank_transfer", invoice_no=None, invoice_verified=None, expert_title="教授",
                expert_days=D("1"), amount=D("2400"))
    base.update(kw)
    return expense(**base)


def with_rules(content, *rules, drop=()):
    c = copy.deepcopy(content)
    c["rules"] = [r for r in c["rules"] if r["id"] not in drop] + list(rules)
    return Policy.from_content(c)


def budget(**kw):
    return BudgetGrant(**{"category": "competitive", "funding_mode": "budgeted", "fund_source": "municipal", **kw})
