"""Small helpers shared by every domain's API views (kept thin on purpose)."""
from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import func, select

from flask import request

from grants.access import refuse_read_only_writes
from grants.auth import caller, token_user
from grants.errors import Invalid
from grants.extensions import db


def blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """An API blueprint; auditors' writes are refused before the body is read (``grants.access``)."""
    blp = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
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


__all__ = ["blueprint", "page_of", "caller"]
