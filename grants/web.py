"""Small helpers shared by every domain's API views (kept thin on purpose)."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime

from flask import after_this_request
from flask import request
from flask_smorest import Blueprint
from sqlalchemy import bindparam, func, select, tuple_

from grants.access import refuse_read_only_writes
from grants.auth import caller, token_user
from grants.db import TZ
from grants.errors import Invalid
from grants.extensions import db


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint, with each argument schema built once when the view is declared:
    given a class, webargs would build (and deep-copy the fields of) a new schema on every request."""

    def arguments(self, schema, *args, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


def blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """An API blueprint; auditors' writes are refused before the body is read (``grants.access``)."""
    blp = ApiBlueprint(name, import_name, url_prefix="/api/v1", description=description)
    blp.before_request(refuse_read_only_writes)
    blp.before_request(refuse_patch_without_body)
    return blp


def refuse_patch_without_body() -> None:
    """A PATCH says what to change: without a JSON object body it is a 422, not a silent no-op 200
    (after authentication, so an anonymous caller still hears 401)."""
    if request.method != "PATCH" or token_user() is None:
        return
    if not isinstance(request.get_json(silent=True), dict):
        raise Invalid("PATCH 需要 JSON 对象请求体 / a PATCH needs a JSON object body",
                      {"_schema": ["请求体缺失或不是 JSON 对象 / body missing or not a JSON object"]})


def page_of(stmt, pagination_parameters):
    """Run a select for one page and tell flask-smorest the total (X-Pagination header)."""
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    pagination_parameters.item_count = total
    size = pagination_parameters.page_size
    offset = (pagination_parameters.page - 1) * size
    if offset >= total:  # past the end (or beyond what the database can even count): an empty page
        return []
    return list(db.session.scalars(stmt.limit(size).offset(offset)))


def keyset_page_of(stmt, keys, cursor: str | None, pagination_parameters, count=None):
    """One page of ``stmt`` ordered by ``keys`` (unique together, e.g. (submitted_at, id)).

    Without ``cursor`` this is ``page_of`` (page/page_size keep working); with it, the page starts after
    the row the cursor names — a keyset seek on the keys' index, as fast on the thousandth page as on the
    first. Either way the response carries ``X-Next-Cursor`` when more rows follow. ``count`` (a
    callable) gives the total for ``X-Pagination`` when a cheaper exact source than ``count(*)`` exists.
    """
    size = pagination_parameters.page_size
    stmt = stmt.order_by(None).order_by(*keys)
    total = count() if count is not None else db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    pagination_parameters.item_count = total
    if cursor is None:
        offset = (pagination_parameters.page - 1) * size
        rows = [] if offset >= total else list(db.session.scalars(stmt.limit(size).offset(offset)))
        more = len(rows) == size and total > pagination_parameters.page * size
    else:
        values = decode_cursor(cursor, keys)
        rows = list(db.session.scalars(stmt.where(tuple_(*keys) > tuple_(*[
            bindparam(None, v, type_=k.type) for k, v in zip(keys, values)])).limit(size + 1)))
        more = len(rows) > size
        rows = rows[:size]
    if more and rows:
        next_cursor = encode_cursor([getattr(rows[-1], k.key) for k in keys])

        @after_this_request
        def _header(response):
            response.headers["X-Next-Cursor"] = next_cursor
            return response
    return rows


def encode_cursor(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, (datetime, date)) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys) -> list:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(plain, list) or len(plain) != len(keys):
            raise ValueError("wrong shape")
        out = []
        for k, v in zip(keys, plain):
            py = k.type.python_type
            if py is datetime:
                d = datetime.fromisoformat(v)
                out.append(d if d.tzinfo else d.replace(tzinfo=TZ))
            elif py is int:
                if not isinstance(v, int) or isinstance(v, bool) or not -2**63 <= v < 2**63:
                    raise ValueError("not an id")
                out.append(v)
            else:
                raise ValueError("unsupported key")
        return out
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid("无效的游标 / invalid cursor", {"cursor": ["not a cursor this API gave out"]}) from None


__all__ = ["blueprint", "page_of", "keyset_page_of", "caller"]
