"""Read side of policy versions for the pages (any signed-in user may read the rules in force)."""
from __future__ import annotations

from sqlalchemy import select

from compliance.models import PolicyVersion
from grants.errors import NotFound
from grants.extensions import db
from grants.models import User


def list_versions(user: User) -> list[PolicyVersion]:
    return list(db.session.scalars(select(PolicyVersion).order_by(PolicyVersion.effective_from, PolicyVersion.id)))


def get_version(version_id: int, user: User) -> PolicyVersion:
    v = db.session.get(PolicyVersion, version_id)
    if v is None:
        raise NotFound(f"政策版本 {version_id} 不存在 / policy version {version_id} not found")
    return v


def load_new_versions(user: User) -> list[PolicyVersion]:
    """Load policy files whose content is new (administrators); a landed version never changes."""
    from grants.users import require_admin

    require_admin(user)
    from compliance.service import sync_policies

    return sync_policies()
