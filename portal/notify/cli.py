"""``flask --app portal notify ...``: operate the notification queue.

  notify sweep     re-queue notices stuck in queued/sending (what the beat task does)
  notify stats     queue depth by status and channel, failures by reason
  notify check     send the test notice to an address or a user, to check a channel
"""

from __future__ import annotations

import uuid

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.i18n import LOCALES

from . import service
from .models import CHANNELS

notify_cli = AppGroup("notify", help="The notification queue.")


@notify_cli.command("sweep")
def sweep_command():
    """Re-queue notices stuck in queued/sending past NOTIFY_STUCK_SECONDS."""
    count = service.sweep_and_enqueue(db.session)
    click.echo(f"re-queued {count}")


@notify_cli.command("stats")
def stats_command():
    """Queue depth by status and channel; failures by reason."""
    data = service.queue_stats(db.session)
    click.echo("status".ljust(20) + "".join(c.rjust(8) for c in CHANNELS))
    for status, by_channel in data["depth"].items():
        click.echo(status.ljust(20) + "".join(str(by_channel[c]).rjust(8) for c in CHANNELS))
    rate = data["delivery_rate"]
    click.echo(f"delivery rate: {'-' if rate is None else f'{rate:.1%}'}")
    for failure in data["failures"]:
        click.echo(f"{failure['status']} {failure['channel']} {failure['family']} {failure['reason']}: "
                   f"{failure['count']}")


@notify_cli.command("check")
@click.option("--channel", type=click.Choice(CHANNELS), required=True)
@click.option("--user-id", type=int, default=None, help="a portal user (inbox, or their address)")
@click.option("--email", default=None)
@click.option("--phone", default=None)
@click.option("--locale", type=click.Choice(LOCALES), default=None)
def check_command(channel, user_id, email, phone, locale):
    """Send the channel-check notice."""
    from portal.accounts.models import User

    user = db.session.get(User, user_id) if user_id else None
    if user_id and user is None:
        raise click.ClickException("no such user")
    reference = uuid.uuid4().hex[:8]
    message = service.send(db.session, template="notify.channel_check",
                           context={"reference": reference}, idempotency_key=f"notify.check:{reference}",
                           user=user, email=email, phone=phone, channel=channel, locale=locale)
    db.session.commit()
    db.session.refresh(message)
    click.echo(f"message {message.id}: {message.status} ({message.last_error or 'ok'})")
