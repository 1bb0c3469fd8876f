"""Tourism booking in Korean, English and Chinese: listings, holds, payments, waiting lists."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from portal import nav
    from portal.accounts.roles import STAFF

    from . import models  # noqa: F401  (tables)
    from .api import bp as api_bp
    from .views import bp

    app.register_blueprint(bp, url_prefix="/tourism")
    app.register_blueprint(api_bp, url_prefix="/api/v1/tourism")
    nav.add(app, "tourism.index", _l("Tourism"), order=40)
    nav.add(app, "tourism.staff_listings", _l("Tourism admin"), roles=(STAFF,), order=80)
    app.cli.add_command(tourism_cli)
    # The Idempotency-Key table and its purge command, which tourism's POSTs are the first to
    # use (until the shell sets them up itself).


tourism_cli = AppGroup("tourism", help="Tourism booking.")


@tourism_cli.command("release-expired")
def release_expired_command():
    """Expire unpaid holds now and give their seats back (the beat task does this every minute)."""
    from .tasks import release_expired_holds

    click.echo(f"released {release_expired_holds()} expired holds")
