"""Extensions as bare objects, bound to the app in ``create_app``."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from grants.db import Base

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
