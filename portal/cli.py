"""`flask --app portal seed-demo`: demo data for every service (idempotent)."""

from __future__ import annotations

import importlib

import click
from flask import Flask

from portal.extensions import db


def seed_city(session, echo=lambda _name: None) -> None:
    """Seed every service's demo (``<service>.demo.seed``), in ``SERVICES`` order, each
    committed on its own. Safe to run again. What ``seed-demo`` and the tests run."""
    from portal import SERVICES

    for name in SERVICES:
        try:
            module = importlib.import_module(name + ".demo")
        except ModuleNotFoundError as exc:
            if exc.name != name + ".demo":
                raise
            continue
        module.seed(session)
        session.commit()
        echo(name)


@click.command("seed-demo")
def seed_demo():
    """Load realistic demo data for every service. Safe to run again."""
    from portal.accounts.demo import DEMO_PASSWORD, DEMO_USERS

    seed_city(db.session, echo=lambda name: click.echo(f"seeded {name}"))
    click.echo(f"demo accounts (password {DEMO_PASSWORD}):")
    for email, _name, roles, *_rest in DEMO_USERS:
        click.echo(f"  {email:22} {', '.join(roles)}")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
