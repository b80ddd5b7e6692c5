"""Extensions as bare objects, bound to the app in ``create_app``."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api as _SmorestApi
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from grants.db import Base



class Api(_SmorestApi):
    """flask-smorest, documenting what the API really sends: the error body of ``grants.errors`` and the
    ``X-Pagination`` header as the JSON text it is."""

    from grants.errors import ErrorSchema as ERROR_SCHEMA

    def _register_pagination_header(self):
        self.spec.components.header("PAGINATION", {
            "description": "JSON text: {total, total_pages, first_page, last_page, page, previous_page, next_page}",
            "schema": {"type": "string", "example": '{"total": 1, "total_pages": 1, "first_page": 1, '
                                                    '"last_page": 1, "page": 1}'}}, lazy=True)


db = SQLAlchemy(model_class=Base, session_options={"join_transaction_mode": "create_savepoint"})
migrate = Migrate()
api = Api()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Counters in RATELIMIT_STORAGE_URI (memory:// for the demo, Redis shared by every app server in production);
# no default limit: only the routes that ask for one (the login) are limited. (Security headers are set by a
# Talisman made per app in grants.serving: Talisman keeps its app and options on the object.)
limiter = Limiter(key_func=get_remote_address, default_limits=[])
