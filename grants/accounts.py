"""Users and API tokens, and the named system account the console acts as."""
from __future__ import annotations

from sqlalchemy import select

from grants.auth import hash_token, new_token
from grants.db import unit_of_work
from grants.errors import Conflict, Invalid
from grants.extensions import db
from grants.models import ApiToken, Role, User


def create_user(username: str, role: str | Role, password: str, institution_id: int | None = None,
                email: str | None = None) -> tuple[User, str]:
    """Create a user with a hashed password and return it with a new API token (shown once)."""
    role = Role(role)
    if role == Role.INSTITUTION and institution_id is None:
        raise Invalid("单位用户须属于一个单位 / institution users belong to an institution",
                      {"institution_id": ["required for role institution"]})
    email = (email or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 200 or any(c.isspace() for c in email)):
        raise Invalid("电子邮箱格式不正确 / not an e-mail address", {"email": ["not an e-mail address"]})
    if len(password) < 8:
        raise Invalid("密码至少 8 位 / password must have at least 8 characters", {"password": ["too short"]})
    with unit_of_work() as s:
        if s.execute(select(User.id).where(User.username == username)).first():
            raise Conflict("用户名已存在 / username taken", {"username": ["taken"]})
        user = User(username=username, role=role, institution_id=institution_id if role == Role.INSTITUTION else None,
                    email=email)
        user.set_password(password)
        s.add(user)
        s.flush()
        token = new_token()
        s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label="initial"))
    return user, token


def issue_token(user: User, label: str = "") -> str:
    with unit_of_work() as s:
        token = new_token()
        s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label=label))
    return token


def authenticate(username: str, password: str) -> User | None:
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


SYSTEM_USERNAME = "system"
SYSTEM_ROLE = Role.ADMIN
"""The console acts for whoever operates the server, so the system account has the administrator's reach:
no institution scope, may read every report and export the whole ledger."""


def system_account() -> User:
    """The named account every console command that needs an actor acts as (``system``, role admin).

    A real row in ``users``, created on first use inside the caller's unit of work (added and flushed,
    never committed here), and never able to log in: inactive, no usable password, no API token.
    """
    s = db.session
    user = s.execute(select(User).where(User.username == SYSTEM_USERNAME)).scalar_one_or_none()
    if user is None:
        # "!" is no hash any password checks against: werkzeug rejects it before comparing
        user = User(username=SYSTEM_USERNAME, role=SYSTEM_ROLE, password_hash="!", active=False)
        s.add(user)
        s.flush()
    elif user.active or user.role != SYSTEM_ROLE:
        raise Conflict("用户名 system 已被占用 / the username 'system' belongs to another account",
                       {"username": ["reserved for the system account"]})
    return user
