"""Who is calling: API tokens and browser sessions (what they may do is ``grants.access``).

API callers send ``Authorization: Bearer <token>``; browsers use a Flask-Login session.
"""
from __future__ import annotations

import hashlib
import secrets

from flask import g, request, session
from flask_login import current_user
from sqlalchemy import select

from grants.errors import Unauthorized
from grants.extensions import db, login_manager
from grants.models import ApiToken, User


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "kj_" + secrets.token_urlsafe(32)


SESSION_VERSION_KEY = "_sv"


@login_manager.user_loader
def _load_user(user_id: str):
    """The session's user, only while active and while the session's version is the user's current one."""
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or session.get(SESSION_VERSION_KEY) != user.session_version:
        return None
    return user


def start_session(user: User) -> None:
    """Log ``user`` in to this browser, stamping the session with the user's session version."""
    from flask_login import login_user

    lang = session.get("lang")
    session.clear()  # nothing from before the login survives into the new session but the language
    if lang:
        session["lang"] = lang
    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version


def _load_from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[7:].strip()
    row = db.session.execute(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False), User.active.is_(True))
    ).scalar_one_or_none()
    return row


def token_user() -> User | None:
    """The user of this request's bearer token, or None (no token, unknown, revoked or inactive)."""
    return _load_from_token(request)


def caller() -> User:
    """The authenticated user: by bearer token on the API, by session in the browser pages.

    The API never honours the session cookie: it is CSRF-exempt, so a page on another site must not
    be able to make a logged-in browser call it.
    """
    if request.path.startswith("/api/"):
        user = _load_from_token(request)
    else:
        user = current_user._get_current_object() if current_user.is_authenticated else None
    if user is None:
        raise Unauthorized("需要 API 令牌（Authorization: Bearer …）/ an API token is required")
    g.caller_id = user.id  # for the access log
    return user


def register_auth(app) -> None:
    login_manager.init_app(app)
