"""Welfare: programmes with rules as data, residents' profiles, and the scan that tells residents
which benefits they newly qualify for (notices go through portal.notify)."""

from flask_babel import lazy_gettext as _l


def init_app(app):
    from portal import nav
    from portal.accounts.roles import WELFARE_OFFICER
    from portal.notify.service.receipts import ON_EVENT
    from welfare import (
        follow_up_views,  # noqa: F401  (the officers' follow-up pages, on views.bp)
        models,  # noqa: F401  (tables)
    )
    from welfare.api import bp as api_bp
    from welfare.cli import welfare_cli
    from welfare.service.follow_ups import on_provider_event
    from welfare.views import bp

    app.register_blueprint(bp, url_prefix="/welfare")
    app.register_blueprint(api_bp, url_prefix="/api/v1/welfare")
    app.cli.add_command(welfare_cli)
    if on_provider_event not in ON_EVENT:  # once, however many apps are made
        ON_EVENT.append(on_provider_event)
    nav.add(app, "welfare.index", _l("Welfare"), order=30)
    nav.add(app, "welfare.officer_programmes", _l("Welfare programmes"), roles=(WELFARE_OFFICER,), order=80)
    nav.add(app, "welfare.follow_ups", _l("Follow-ups"), roles=(WELFARE_OFFICER,), order=81)
