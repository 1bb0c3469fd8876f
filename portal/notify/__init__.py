"""The notification queue every service uses: outbox, channels, delivery tasks, inbox.

Producers call :func:`portal.notify.service.send` / :func:`~portal.notify.service.send_many`.
Pages under ``/notify`` (inbox, preferences, officer dashboard), JSON under ``/api/v1/notify``,
CLI ``flask --app portal notify sweep|stats|check``; in development, the mails caught at
``/dev/mail`` (:mod:`portal.notify.devmail`) and the calls and texts at ``/dev/phone``
(:mod:`portal.notify.devphone`).
"""

from flask_babel import lazy_gettext as _l


def init_app(app):
    from portal import nav
    from portal.accounts import roles
    from portal.notify import (
        devmail,
        devphone,
        models,  # noqa: F401  (tables)
    )
    from portal.notify.api import bp as api_bp
    from portal.notify.cli import notify_cli
    from portal.notify.service import OFFICER_ROLES
    from portal.notify.views import bp

    app.register_blueprint(bp, url_prefix="/notify")
    app.register_blueprint(api_bp, url_prefix="/api/v1/notify")
    app.cli.add_command(notify_cli)
    devmail.init_app(app)  # /dev/mail, in development only
    devphone.init_app(app)  # /dev/phone, the sandbox telephone, in development only
    nav.add(app, "notify.inbox", _l("Inbox"), roles=(roles.RESIDENT,), order=70)
    nav.add(app, "notify.dashboard", _l("Notices"), roles=OFFICER_ROLES, order=80)
