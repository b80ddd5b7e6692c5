"""Domain exceptions and the one place that maps every error to a JSON body.

Every 4xx is ``{"code", "message", "errors": {field: [...]}}``. Unexpected errors roll the session
back and answer a generic 500 without the exception's text.
"""
from __future__ import annotations

import logging

from flask import jsonify, request
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "domain_error"

    def __init__(self, message: str, errors: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.extra = extra


class NotFound(DomainError):
    status, code = 404, "not_found"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Invalid(DomainError):
    status, code = 422, "invalid"


class Conflict(DomainError):
    status, code = 409, "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class GrantNotActive(Conflict):
    code = "grant_not_active"


class BudgetExceeded(Conflict):
    code = "budget_exceeded"


class GateClosed(Conflict):
    """A tranche whose milestone / race stage / acceptance gate is not open yet."""

    code = "gate_closed"


class ErrorSchema(Schema):
    """Every error answer (documented as the API's default response)."""

    class Meta:
        unknown = "include"

    code = fields.Str(required=True, metadata={"description": "machine-readable: validation_error, not_found, "
                                                              "forbidden, conflict, gate_closed, …",
                                               "example": "validation_error"})
    message = fields.Str(required=True, metadata={"description": "中文 / English"})
    errors = fields.Dict(keys=fields.Str(), required=True,
                         metadata={"description": "field → messages (may nest for lists and rows)"})


def error_body(code: str, message: str, errors: dict | None = None, **extra) -> dict:
    return {"code": code, "message": message, "errors": errors or {}, **extra}


def _page(app, status: int):
    """A browser (non-API) request gets the web interface's HTML error page when one is registered."""
    if request.path.startswith("/api/") or "html_error" not in app.extensions:
        return None
    if request.accept_mimetypes.accept_json and not request.accept_mimetypes.accept_html:
        return None
    return app.extensions["html_error"](status)


def register_error_handlers(app) -> None:
    from grants.extensions import db

    @app.errorhandler(DomainError)
    def _domain(e: DomainError):
        db.session.rollback()
        return _page(app, e.status) or (jsonify(error_body(e.code, e.message, e.errors, **e.extra)), e.status)

    @app.errorhandler(ValidationError)
    def _validation(e: ValidationError):
        db.session.rollback()
        errors = e.messages if isinstance(e.messages, dict) else {"_schema": e.messages}
        return jsonify(error_body("validation_error", "输入有误 / invalid input", errors)), 422

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if e.code and e.code >= 500:
            db.session.rollback()
        # flask-smorest/webargs put marshmallow messages in e.data["messages"]
        data = getattr(e, "data", None) or {}
        errors = data.get("messages") or {}
        if isinstance(errors, dict) and len(errors) == 1 and next(iter(errors)) in ("json", "query", "form",
                                                                                     "headers", "files"):
            errors = next(iter(errors.values()))
        if not isinstance(errors, dict):
            errors = {"_schema": errors}
        code = (e.name or "error").lower().replace(" ", "_")
        if e.code == 422:
            code = "validation_error"
        body = error_body(code, e.description or e.name, errors)
        if not request.path.startswith("/api/") and e.code in (404, 405) and not request.accept_mimetypes.accept_json:
            return _page(app, e.code) or e
        if e.code in (403, 500):
            page = _page(app, e.code)
            if page:
                return page
        return jsonify(body), e.code

    @app.errorhandler(IntegrityError)
    def _integrity(e: IntegrityError):
        # a unique or foreign-key constraint caught what the service did not check first
        db.session.rollback()
        return jsonify(error_body("conflict", "与已有记录冲突 / conflicts with an existing record")), 409

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    @app.errorhandler(UnicodeEncodeError)
    def _unstorable(e: Exception):
        # a number too large for the database, or text that is not valid Unicode
        db.session.rollback()
        return jsonify(error_body("validation_error", "数值超出范围或文本无效 / a value is out of range or not valid text")), 422

    @app.errorhandler(StatementError)
    def _statement(e: StatementError):
        if isinstance(e.orig, (OverflowError, UnicodeEncodeError)):
            return _unstorable(e.orig)
        return _unexpected(e)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _page(app, 500) or (jsonify(error_body("internal_error", "服务器内部错误 / internal error")), 500)
