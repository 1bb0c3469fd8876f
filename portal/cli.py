"""`flask --app portal seed-demo`: demo data for every service (idempotent)."""

from __future__ import annotations

import importlib

import click
from flask import Flask

from portal.extensions import db


@click.command("seed-demo")
def seed_demo():
    """Load realistic demo data for every service. Safe to run again."""
    from portal import SERVICES
    from portal.accounts.demo import DEMO_PASSWORD, DEMO_USERS

    for name in SERVICES:
        try:
            module = importlib.import_module(name + ".demo")
        except ModuleNotFoundError as exc:
            if exc.name != name + ".demo":
                raise
            continue
        module.seed(db.session)
        db.session.commit()
        click.echo(f"seeded {name}")
    click.echo(f"demo accounts (password {DEMO_PASSWORD}):")
    for email, _name, roles, *_rest in DEMO_USERS:
        click.echo(f"  {email:22} {', '.join(roles)}")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
