"""User and API-token administration (administrators only): the one set of use cases behind the admin
pages and ``/api/v1/users``. A token is returned once, at issue; only its SHA-256 is stored."""
from __future__ import annotations

from sqlalchemy import select

from grants.accounts import create_user as _create_user
from grants.auth import hash_token, new_token
from grants.db import unit_of_work
from grants.access import require_admin
from grants.errors import Invalid, NotFound
from grants.extensions import db
from grants.models import ApiToken, Institution, Role, User




def list_users(user: User):
    require_admin(user)
    return select(User).order_by(User.id)


def get_user(user_id: int, user: User) -> User:
    require_admin(user)
    found = db.session.get(User, user_id)
    if found is None:
        raise NotFound(f"用户 {user_id} 不存在 / user {user_id} not found")
    return found


def create_user(data: dict, user: User) -> tuple[User, str]:
    """Create an account (role, institution, e-mail, display name, password); returns it and its first token."""
    require_admin(user)
    inst_id = data.get("institution_id")
    if inst_id is not None and db.session.get(Institution, inst_id) is None:
        raise Invalid("单位不存在 / institution not found", {"institution_id": ["not found"]})
    created, token = _create_user(data["username"], data["role"], data["password"], inst_id, email=data.get("email"))
    with unit_of_work():
        created.display_name = data.get("display_name") or None
    return created, token


def update_user(user_id: int, data: dict, user: User) -> User:
    """Change e-mail, display name or active flag (deactivating also stops every token: the token check
    requires an active user)."""
    target = get_user(user_id, user)
    if target.id == user.id and data.get("active") is False:
        raise Invalid("不能停用自己的账号 / you cannot deactivate yourself", {"active": ["own account"]})
    with unit_of_work():
        for key in ("email", "display_name", "active"):
            if key in data:
                setattr(target, key, data[key])
    return target


def reset_password(user_id: int, password: str, user: User) -> User:
    target = get_user(user_id, user)
    if len(password or "") < 8:
        raise Invalid("密码至少 8 位 / password must have at least 8 characters", {"password": ["too short"]})
    with unit_of_work():
        target.set_password(password)
    return target


def list_tokens(user_id: int, user: User) -> list[ApiToken]:
    get_user(user_id, user)
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def issue_token(user_id: int, label: str, user: User) -> tuple[ApiToken, str]:
    """A new API token for the user: the plain token is returned here and never again."""
    target = get_user(user_id, user)
    plain = new_token()
    with unit_of_work() as s:
        token = ApiToken(user_id=target.id, token_hash=hash_token(plain), label=(label or "")[:100])
        s.add(token)
    return token, plain


def revoke_token(user_id: int, token_id: int, user: User) -> ApiToken:
    get_user(user_id, user)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound(f"令牌 {token_id} 不存在 / token {token_id} not found")
    with unit_of_work():
        token.revoked = True
    return token


def count_users(user: User) -> int:
    from sqlalchemy import func

    require_admin(user)
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()
