"""`flask --app portal users ...` and `flask --app portal register import FILE`."""

from __future__ import annotations

import csv

import click
from flask.cli import AppGroup

from portal.accounts import limits, service
from portal.accounts import roles as roles_
from portal.accounts.models import ROLES, UserRole
from portal.accounts.service import values
from portal.errors import DomainError, Invalid
from portal.extensions import db
from portal.types import utcnow

users_cli = AppGroup("users", help="Manage portal accounts.")
register_cli = AppGroup("register", help="The city's resident register.")


def _fail(exc: DomainError):
    detail = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items())
    raise click.ClickException(f"{exc.message}{' (' + detail + ')' if detail else ''}")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--name", default="")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), help="Repeat for several.")
@click.option("--birth-date", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--district")
@click.option("--verified", is_flag=True, help="Mark the residency as verified.")
@click.option("--locale", default="ko", type=click.Choice(["ko", "en", "zh"]))
def create(email, password, name, roles, birth_date, district, verified, locale):
    """Create an account (or update roles and verification of an existing one)."""
    born = birth_date.date() if birth_date else None
    existing = service.find_by_email(db.session, email)
    if verified and not (existing is not None and existing.is_verified) and (born is None or not district):
        # What a verified account's card attests is what the operator states here, never what the
        # account holder typed on their profile.
        raise click.ClickException("--verified needs --birth-date and --district (the facts the card attests)")
    try:
        if existing is None:
            user = service.create_user(db.session, email, password, name=name,
                                       roles=roles or (roles_.RESIDENT,), birth_date=born,
                                       district=district, verified=verified, locale=locale)
        else:
            user = existing
            errors: dict = {}  # what the web checks, the command line checks too
            name = values.text(name, errors, "name", limits.NAME_MAX)
            born = values.birth_date(born, errors)
            district = values.district(district, errors)
            if errors:
                raise Invalid(fields=errors)
            service.validate_password(password)
            user.password_hash = service.hash_password(password)
            for role in roles:
                if role not in user.roles:
                    user.role_rows.append(UserRole(role=role))
            if name:
                user.name = name
            if born:
                user.birth_date = born
            if district:
                user.district = district
            if verified and not user.is_verified:
                user.verified_at, user.verified_by = utcnow(), "staff"
                user.birth_date, user.district = born, district
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"{'created' if existing is None else 'updated'} user {user.id} {user.email} "
               f"roles={','.join(sorted(user.roles))} verified={user.is_verified}")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli")
def token(email, name):
    """Create a personal API token; the token is printed alone on the last line."""
    user = service.find_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    plain, _row = service.create_token(db.session, user, name)
    click.echo(f"token for user {user.id} (shown once):")
    click.echo(plain)


@register_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_register(file):
    """Import a CSV with columns name,birth_date,district,document_number (numbers are hashed)."""
    with open(file, encoding="utf-8-sig", newline="") as fh:
        try:
            count = service.import_register(db.session, list(csv.DictReader(fh)))
        except DomainError as exc:
            _fail(exc)
    click.echo(f"imported {count} register rows")


