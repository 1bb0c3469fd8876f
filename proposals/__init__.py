"""Citizen policy proposals: submit, endorse, vote, staff triage (issue 4).

Settings: `proposals/settings.py`. CLI: `flask --app portal proposals close-expired` and
`flask --app portal proposals count-ballots`.
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


@cli.command("count-ballots")
def count_ballots_command():
    """Count the ballots of every vote that has ended and is not counted yet."""
    from portal.extensions import db

    from . import service

    report = service.count_ended_votes(db.session)
    click.echo(f"counted {len(report.counted)}" + "".join(f" #{pid}" for pid in report.counted))
    for pid, why in report.failed.items():
        click.echo(f"not counted #{pid}: {why}", err=True)
    if report.failed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    from portal import nav
    from portal.accounts.roles import STAFF

    from . import api, models, views  # noqa: F401  (models: tables for create_all / Alembic)

    app.register_blueprint(views.bp, url_prefix="/proposals")
    app.register_blueprint(api.bp, url_prefix="/api/v1/proposals")
    app.cli.add_command(cli)
    nav.add(app, "proposals.index", _l("Proposals"), order=20)
    nav.add(app, "proposals.triage", _l("Proposal triage"), roles=(STAFF,), order=60)
