"""Who is calling: API tokens and browser sessions (what they may do is ``grants.access``).

API callers send ``Authorization: Bearer <token>``; browsers use a Flask-Login session.
"""
from __future__ import annotations

import hashlib
import secrets

from flask import g, request, session
from flask_login import current_user
from sqlalchemy import bindparam, select

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


_TOKEN_USER = select(User).join(ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked.is_(False), User.active.is_(True))
_NO_TOKEN = object()
_TOKEN_USER_KEY = "grants.token_user"


def _load_from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[7:].strip()
    return db.session.execute(_TOKEN_USER, {"token_hash": hash_token(token)}).scalar_one_or_none()


def token_user() -> User | None:
    """The user of this request's bearer token, or None (no token, unknown, revoked or inactive).

    Looked up once per request (the write gate and the view both ask): the answer is kept in the request's
    own environ (not on ``g``, which an app context held across requests would share), so a revoked token
    is refused from the next request on."""
    user = request.environ.get(_TOKEN_USER_KEY, _NO_TOKEN)
    if user is _NO_TOKEN:
        user = request.environ[_TOKEN_USER_KEY] = _load_from_token(request)
    return user


def caller() -> User:
    """The authenticated user: by bearer token on the API, by session in the browser pages.

    The API never honours the session cookie: it is CSRF-exempt, so a page on another site must not
    be able to make a logged-in browser call it.
    """
    if request.path.startswith("/api/"):
        user = token_user()
    else:
        user = current_user._get_current_object() if current_user.is_authenticated else None
    if user is None:
        raise Unauthorized("需要 API 令牌（Authorization: Bearer …）/ an API token is required")
    g.caller_id = user.id  # for the access log
    return user


def register_auth(app) -> None:
    login_manager.init_app(app)
