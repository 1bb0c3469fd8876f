"""Citizen policy proposals: submit, endorse, vote, staff triage (issue 4).

Settings: `proposals/settings.py`. CLI: `flask --app portal proposals close-expired`.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l

cli = AppGroup("proposals", help="Policy proposals.")


@cli.command("close-expired")
def close_expired_command():
    """Close open proposals whose endorsement window ended below the threshold."""
    from portal.extensions import db

    from . import service

    click.echo(f"closed {service.close_expired(db.session)}")


def init_app(app: Flask) -> None:
    from portal import nav
    from portal.accounts.roles import STAFF

    from . import api, models, views  # noqa: F401  (models: tables for create_all / Alembic)

    app.register_blueprint(views.bp, url_prefix="/proposals")
    app.register_blueprint(api.bp, url_prefix="/api/v1/proposals")
    app.cli.add_command(cli)
    nav.add(app, "proposals.index", _l("Proposals"), order=20)
    nav.add(app, "proposals.triage", _l("Proposal triage"), roles=(STAFF,), order=60)
