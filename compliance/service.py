"""Compliance's own use cases: loading policy files into versions, and the version in force on a date.

The rules are pure (``compliance.rules``) and the policy is data (``compliance.policy``); judging an
expense is a use case of the money and lives in ``budgets.expenses.service``.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import or_, select

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


def warm_policy_cache(on: date, days: int = 366) -> int:
    """Compile the active versions in force from ``days`` before ``on`` to ``on`` — what nearly every
    expense is judged by — into the policy cache, so a new server's first callers do not each wait the
    second a compile takes. Returns how many were compiled."""
    versions = db.session.scalars(select(PolicyVersion).where(
        PolicyVersion.status == "active", PolicyVersion.effective_from <= on,
        or_(PolicyVersion.effective_to.is_(None), PolicyVersion.effective_to >= on - timedelta(days=days)))).all()
    for version in versions:
        policy_store.policy_for(version)
    return len(versions)


def check_grant_programme(data: dict, grant) -> None:
    """A grant's programme is a code of ``compliance/data/programmes.yaml`` that fits its category."""
    if "programme" not in data:
        return
    category = data.get("category", grant.category if grant is not None else None)
    errors = programme_errors(data["programme"], getattr(category, "value", category))
    if errors:
        raise Invalid("资助计划无效 / invalid programme", {"programme": errors})


register_grant_check(check_grant_programme)
