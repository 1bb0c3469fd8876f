"""Users, roles, login, registration, API tokens, residency verification."""

from flask_babel import lazy_gettext as _l


def init_app(app):
    from portal import nav
    from portal.accounts import (
        models,  # noqa: F401  (tables)
        roles,
    )
    from portal.accounts.api import bp as api_bp
    from portal.accounts.cli import register_cli, users_cli
    from portal.accounts.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1/accounts")
    app.cli.add_command(users_cli)
    app.cli.add_command(register_cli)
    nav.add(app, "accounts.staff_users", _l("Residents"), roles=(roles.STAFF,), order=90)
