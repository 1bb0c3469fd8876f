"""Extensions created once here and bound to the app in `create_app`."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _session_class():
    from portal.db import session_class
    return session_class()


db = SQLAlchemy(model_class=Base, session_options={"class_": _session_class()})
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
migrate = Migrate()


_limited: dict[str, bool] = {}


@limiter.request_filter
def _no_limit_on_this_view() -> bool:
    """Requests to a view no limit is declared on skip the limiter, which otherwise resolved
    the limits of every request (about 0.15 ms of each, most of a bare request's cost beyond
    Flask's). The portal sets no default or application limits (above), so a view's limits are
    its decorators' (`limiter.limit`); `tests/portal/test_limits.py` pins both. Flask-Limiter
    is pinned: `_decorated_limits` is its table of decorated views by qualified name."""
    from flask import current_app, request
    from flask_limiter.util import get_qualified_name

    endpoint = request.endpoint
    if endpoint is None:
        return True
    limited = _limited.get(endpoint)
    if limited is None:
        view = current_app.view_functions.get(endpoint)
        name = get_qualified_name(view) if view is not None else ""
        limited = bool(limiter.limit_manager._decorated_limits.get(name)) or limiter.limit_manager.has_hints(endpoint)
        _limited[endpoint] = limited
    return not limited
