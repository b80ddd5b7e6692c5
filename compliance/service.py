"""Compliance's own use cases: loading policy files into versions, and the version in force on a date.

The rules are pure (``compliance.rules``) and the policy is data (``compliance.policy``); judging an
expense is a use case of the money and lives in ``budgets.expenses.service``.
"""
from __future__ import annotations

from datetime import date

from compliance import policy as policy_store
from compliance.models import PolicyVersion
from compliance.programmes import programme_errors
from grants.db import unit_of_work
from grants.errors import Invalid
from grants.extensions import db
from grants.registry import register_grant_check


def sync_policies() -> list[PolicyVersion]:
    """Load policy files whose content is new into the database (existing versions never change)."""
    with unit_of_work() as s:
        return policy_store.sync_policy_files(s)


def policy_version_on(on: date) -> tuple[PolicyVersion | None, "policy_store.Policy | None"]:
    """The policy version in force on a date and its compiled policy (both None when there is none)."""
    return policy_store.in_force(db.session, on)


def check_grant_programme(data: dict, grant) -> None:
    """A grant's programme is a code of ``compliance/data/programmes.yaml`` that fits its category."""
    if "programme" not in data:
        return
    category = data.get("category", grant.category if grant is not None else None)
    errors = programme_errors(data["programme"], getattr(category, "value", category))
    if errors:
        raise Invalid("资助计划无效 / invalid programme", {"programme": errors})


register_grant_check(check_grant_programme)
