"""The one application factory."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, send_from_directory
from werkzeug.routing import IntegerConverter

from grants.config import load_config
from grants.extensions import api, babel, csrf, db, login_manager, migrate


class BoundedInt(IntegerConverter):
    """``<int:…>`` path parts fit the 32-bit id columns: a larger id is simply not found (404), never a 422
    or a 500 from the database."""

    def __init__(self, map, **kwargs):
        from grants.fields import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, **kwargs)


def _bounded_int_schema(converter) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": converter.max}


def create_app(config: dict | None = None) -> Flask:
    app = Flask("grants", instance_relative_config=True)
    app.url_map.converters["int"] = BoundedInt
    app.config.update(load_config(app.instance_path, config, debug=app.debug))
    app.json.ensure_ascii = False  # Chinese stays readable in every JSON answer
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))
    return app


def _locale():
    """简体中文 first: Chinese unless the user switched to English (kept in the session)."""
    from flask import session

    return session.get("lang") or "zh"


def register_extensions(app: Flask) -> None:
    import compliance.models  # noqa: F401  - every model registered on the metadata
    import evaluations.models  # noqa: F401
    import budgets.models  # noqa: F401
    import grants.ledger  # noqa: F401
    import grants.mail  # noqa: F401
    import reports.models  # noqa: F401
    from grants.auth import register_auth
    from grants.serving import init_serving

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    babel.init_app(app, locale_selector=_locale, default_translation_directories=str(
        Path(__file__).resolve().parent.parent / "webui" / "translations"))
    csrf.init_app(app)
    register_auth(app)
    login_manager.login_view = "web.login"
    _offline_api_docs(app)
    api.init_app(app)
    init_serving(app)
    _document_as_sent()


def _document_as_sent() -> None:
    """The OpenAPI document says what the answers carry: decimals (money, ratios, shares) are strings, ids in
    paths are 32-bit."""
    from marshmallow import fields

    api.register_field(fields.Decimal, "string", None)
    api.register_converter(BoundedInt, _bounded_int_schema)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


SWAGGER_PAGE = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{title}</title>
<link href="/api/v1/docs-assets/swagger-ui.css" rel="stylesheet" type="text/css"></head>
<body>
<div id="swagger-ui-container"></div>
<script src="/api/v1/docs-assets/swagger-ui-standalone-preset.js"></script>
<script src="/api/v1/docs-assets/swagger-ui-bundle.js"></script>
<script src="/api/v1/docs-init.js"></script>
</body>
</html>
"""
SWAGGER_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui-container"});
});
"""


def _offline_api_docs(app: Flask) -> None:
    """Swagger UI served from the swagger-ui-bundle package: the docs page needs no internet, and its
    start-up script is a file too, so the page runs under a self-only Content-Security-Policy."""
    import swagger_ui_bundle
    from flask import Response
    from markupsafe import escape

    @app.get("/api/v1/docs")
    def swagger_ui():
        return Response(SWAGGER_PAGE.format(title=escape(app.config["API_TITLE"])), mimetype="text/html")

    @app.get("/api/v1/docs-init.js")
    def swagger_init():
        return Response(SWAGGER_INIT, mimetype="text/javascript")

    @app.get("/api/v1/docs-assets/<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def register_blueprints(app: Flask) -> None:
    from budgets.api import blp as budgets_blp
    from budgets.expenses.api import blp as expenses_blp
    from compliance.api import blp as compliance_blp
    from evaluations.api import blp as evaluations_blp
    from grants.api import blp as grants_blp
    from grants.users_api import blp as users_blp
    from reports.api import blp as reports_blp
    from reports.jobs_api import blp as jobs_blp

    for blp in (grants_blp, users_blp, budgets_blp, expenses_blp, compliance_blp, evaluations_blp, reports_blp,
                jobs_blp):
        api.register_blueprint(blp)
        csrf.exempt(blp)  # token-authenticated JSON API; the HTML forms keep CSRF
    from webui import register_pages

    register_pages(app)


def register_error_handlers(app: Flask) -> None:
    from grants.errors import register_error_handlers as _register

    _register(app)


def register_commands(app: Flask) -> None:
    from grants.cli import grants_cli  # composes every package's commands

    app.cli.add_command(grants_cli)


def warm_caches(app: Flask) -> None:
    """Before a server takes its first request: compile the policies in force (about a second each), so
    no caller waits for it. A database not yet reachable only leaves the cache cold (/readyz says so)."""
    from sqlalchemy.exc import SQLAlchemyError

    from compliance.service import warm_policy_cache
    from grants.db import today

    with app.app_context():
        try:
            warm_policy_cache(today())
        except SQLAlchemyError as e:
            logging.getLogger(__name__).warning("policy cache not warmed: %s", e)
        finally:
            db.session.remove()
