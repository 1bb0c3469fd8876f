"""The civic portal: `create_app()` is the only place the application is assembled."""

from __future__ import annotations

import importlib
import logging
import os

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin

from portal import config as config_mod
from portal import extensions
from portal.extensions import babel, csrf, limiter, login_manager, migrate

# Every service package; each may define init_app, models, tasks, demo, openapi (HACKING.md).
SERVICES = (
    "portal.accounts",
    "portal.notify",
    "portal.eid",
    "proposals",
    "welfare",
    "tourism",
)

log = logging.getLogger(__name__)


class Anonymous(AnonymousUserMixin):
    locale = None
    roles: set[str] = set()
    is_verified = False
    id = None

    def has_role(self, *roles: str) -> bool:
        return False


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    from portal.inputs import BoundedInt, PortalJSONProvider
    app.json = PortalJSONProvider(app)  # refuses JSON nested too deep before parsing it
    app.url_map.converters["int"] = BoundedInt  # ids beyond the column's range are a 404
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config_mod.load(os.environ, app.instance_path))
    if config:
        celery_over = config.pop("CELERY", None) if "CELERY" in config else None
        app.config.update(config)
        if celery_over:
            app.config["CELERY"] = {**app.config["CELERY"], **celery_over}
    config_mod.check(app.config)
    _log_where_the_server_logs()

    # `extensions.db`, not a bare `db`: the submodule portal.db (shared statements) is
    # `portal.db` once imported, and would shadow a name imported into this package.
    extensions.db.init_app(app)
    if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
        with app.app_context():
            if extensions.db.engine.dialect.name != "sqlite":
                from portal.db import ping_after_idle
                ping_after_idle(extensions.db.engine)
    migrate.init_app(app, extensions.db, directory=str(config_mod.ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    from portal.i18n import babel_locale
    babel.init_app(app, locale_selector=babel_locale)
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    from portal import audit  # noqa: F401  (table)
    from portal import places as places_
    places_.init_app(app)
    for name in SERVICES:
        module = importlib.import_module(name)
        if hasattr(module, "init_app"):
            module.init_app(app)

    from portal import cli, idempotency, web
    web.init_app(app)
    cli.init_app(app)
    idempotency.init_app(app)
    from portal.tasks import celery_init_app
    celery_init_app(app)
    if app.config.get("PROXY_FIX_X_FOR"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0)
    return app


def _log_where_the_server_logs() -> None:
    """Under gunicorn, the portal's own log lines (and SQLAlchemy's, Celery's) go to gunicorn's
    error log, at its level; elsewhere Python's defaults apply."""
    server = logging.getLogger("gunicorn.error")
    root = logging.getLogger()
    if server.handlers and not root.handlers:
        for handler in server.handlers:
            root.addHandler(handler)
        root.setLevel(server.level)


@login_manager.user_loader
def _load_user(session_id: str):
    """The user of a session: "<id>.<session_version>". A session made before the account's
    sessions were ended (logout, password change or reset raise the version) finds nobody."""
    from portal.accounts.models import User
    user_id, _dot, version = (session_id or "").partition(".")
    try:
        if not 0 < int(user_id) < 2**31:
            return None
        user = extensions.db.session.get(User, int(user_id))
        if user is None or user.session_version != int(version):
            return None
    except (TypeError, ValueError):
        return None
    return user

