"""``flask --app portal eid ...``: gate registration, key rotation, offline verification.

    eid gate-create FACILITY_CODE [--name NAME]   prints the gate's API key alone on the last line
    eid rotate-key                                new signing key; the old one stays published
    eid ensure-key                                the first signing key, if there is none yet
    eid gate-kit FACILITY_CODE [--output FILE]    an offline gate's kit: keys, status list,
                                                  policy and the server's time, in one file
    eid verify-offline TOKEN --kit FILE [--clock-offset SECONDS] [--issuer ISS]
    eid verify-offline TOKEN --keys FILE --status FILE [--issuer ISS] [--policy FILE]
                                                  exit 0 granted, 1 denied (verifier.py only)
    eid expire                                    mark cards past their validity as expired
"""

from __future__ import annotations

import json
import sys
import time

import click
from flask.cli import AppGroup

eid_cli = AppGroup("eid", help="Municipal e-ID card: gates, signing keys, offline verification.")


@eid_cli.command("gate-create")
@click.argument("facility_code")
@click.option("--name", default="", help="A name for the gate (e.g. 'north entrance').")
def gate_create(facility_code: str, name: str):
    """Register a gate at FACILITY_CODE and print its API key (shown once)."""
    from portal.eid import service
    from portal.errors import DomainError
    from portal.extensions import db

    try:
        gate, key = service.create_gate(db.session, None, facility_code, name)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"Gate {gate.id} registered at {facility_code}. Its API key (shown only once):")
    click.echo(key)


@eid_cli.command("rotate-key")
def rotate_key():
    """Create a new signing key; the previous one stays in the JWKS until its tokens expired."""
    from portal.eid import service
    from portal.extensions import db

    row = service.rotate_key(db.session)
    click.echo(f"New signing key {row.kid}")


@eid_cli.command("ensure-key")
def ensure_key():
    """Create the first signing key if there is none (idempotent: for deploy scripts). Card
    pages never create one: until a key exists they answer 503."""
    from portal.eid import service
    from portal.extensions import db

    row, made = service.ensure_signing_key(db.session)
    click.echo(f"{'New' if made else 'Existing'} signing key {row.kid}")


@eid_cli.command("expire")
def expire():
    """Mark cards past their validity as expired."""
    from portal.eid import service
    from portal.extensions import db

    click.echo(f"{service.expire_cards(db.session)} card(s) expired")


def _load_json(path: str, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {what} file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{what} file {path} is not a JSON object")
    return data


@eid_cli.command("gate-kit")
@click.argument("facility_code")
@click.option("--output", "output", default=None, type=click.Path(dir_okay=False),
              help="Where to write the kit (default: gate-kit-FACILITY_CODE.json).")
def gate_kit(facility_code: str, output: str | None):
    """Write FACILITY_CODE's offline kit: the published keys (JWKS), the signed status list,
    the facility's policy and the server's time of the sync (a gate learns its clock offset
    from it), as one JSON file for ``eid verify-offline --kit``."""
    from portal.eid import service
    from portal.errors import DomainError
    from portal.extensions import db

    try:
        facility = service.get_facility(db.session, facility_code)
        token, _etag = service.status_list(db.session)
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(2)
    kit = {
        "facility": facility.code,
        "policy": facility.policy,
        "keys": service.jwks(db.session),
        "status_list": token,
        "synced_at": int(time.time()),
    }
    path = output or f"gate-kit-{facility.code}.json"
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(kit, fh, ensure_ascii=False, separators=(",", ":"))
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc}") from None
    click.echo(f"Gate kit for {facility.code} written to {path}")


@eid_cli.command("verify-offline")
@click.argument("token")
@click.option("--kit", "kit_file", default=None, type=click.Path(dir_okay=False),
              help="A gate kit (eid gate-kit): keys, status list and policy in one file.")
@click.option("--keys", "keys_file", default=None, type=click.Path(dir_okay=False),
              help="JWKS as served by GET /api/v1/eid/keys (without --kit)")
@click.option("--status", "status_file", default=None, type=click.Path(dir_okay=False),
              help="Status document as served by GET /api/v1/eid/status (without --kit)")
@click.option("--issuer", default=None, help="Expected iss claim (default: not checked).")
@click.option("--policy", "policy_file", default=None, type=click.Path(dir_okay=False),
              help="Facility policy JSON (as in GET /api/v1/eid/facilities items[].policy); "
                   "overrides the kit's")
@click.option("--clock-offset", "clock_offset", default=0.0, type=float,
              help="Seconds added to this machine's clock (the offset the gate learned when it "
                   "last synced: server time minus its own).")
def verify_offline(token: str, kit_file: str | None, keys_file: str | None,
                   status_file: str | None, issuer: str | None, policy_file: str | None,
                   clock_offset: float):
    """Check TOKEN against cached keys and status, like an offline gate. Exit 0 when granted."""
    from portal.eid import statuslist, verifier

    if kit_file:
        if keys_file or status_file:
            raise click.UsageError("--kit holds the keys and the status: not with --keys/--status")
        kit = _load_json(kit_file, "kit")
        keys = verifier.load_jwks(kit.get("keys") or {})
        try:
            status = statuslist.decode(kit.get("status_list"), keys)
        except statuslist.StatusListError as exc:
            # Exit 2, not 1: 1 says "denied", and nothing was checked.
            click.echo(f"Error: kit {kit_file}: the status list is refused: {exc}", err=True)
            sys.exit(2)
        policy = kit.get("policy")
    else:
        if not (keys_file and status_file):
            raise click.UsageError("give --kit, or both --keys and --status")
        keys = verifier.load_jwks(_load_json(keys_file, "keys"))
        status = _load_json(status_file, "status")
        policy = None
    if policy_file:
        policy = _load_json(policy_file, "policy")
    if token == "-":  # noqa: S105 - "-" means standard input
        token = sys.stdin.read().strip()
    result = verifier.verify(token, keys, status=status, policy=policy, issuer=issuer,
                             now=time.time() + clock_offset)
    click.echo(f"{result.decision} {result.reason}")
    sys.exit(0 if result.granted else 1)
