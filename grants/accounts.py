"""Users and API tokens, and the named system account the console acts as."""
from __future__ import annotations

import secrets

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

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


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash of a random password made the way real ones are, so checking it costs the same time."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(generate_password_hash(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


def authenticate(username: str, password: str) -> User | None:
    """The active user with this password, or None. Takes as long for an unknown or inactive username
    as for a wrong password (a password hash is checked either way), so timing tells no usernames."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    usable = user is not None and user.active and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    ok = check_password_hash(user.password_hash if usable else _dummy_hash(), password)
    if not usable or not ok:
        return None
    return user


def end_sessions(user_id: int) -> None:
    """Sign the user out of every browser (logout, 'log out everywhere'): older session cookies stop working."""
    with unit_of_work() as s:
        s.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1))
    db.session.expire_all()


def deactivate_user(username: str) -> User:
    """Deactivate an account: its sessions and API tokens stop working at once."""
    with unit_of_work() as s:
        user = _by_username(username)
        user.active = False
        user.session_version += 1
    return user


def reset_password(username: str, password: str) -> User:
    """Set a new password; every session signed in with the old one ends."""
    if len(password) < 8:
        raise Invalid("密码至少 8 位 / password must have at least 8 characters", {"password": ["too short"]})
    with unit_of_work() as s:
        user = _by_username(username)
        user.set_password(password)
        user.session_version += 1
    return user


def _by_username(username: str) -> User:
    from grants.errors import NotFound

    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"用户 {username} 不存在 / user {username} not found")
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
