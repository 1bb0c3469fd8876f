"""Municipal e-ID card: cards, signed short-lived tokens, facilities, gates, access log."""

from flask_babel import lazy_gettext as _l


def init_app(app):
    from portal import nav
    from portal.accounts import roles
    from portal.accounts.service import ON_RELEASE
    from portal.eid import models  # noqa: F401  (tables)
    from portal.eid.api import bp as api_bp
    from portal.eid.cli import eid_cli
    from portal.eid.service import revoke_on_release
    from portal.eid.service.common import DESK_ROLES
    from portal.eid.verify.wsgi import install
    from portal.eid.views import bp

    app.register_blueprint(bp, url_prefix="/eid")
    app.register_blueprint(api_bp, url_prefix="/api/v1/eid")
    app.cli.add_command(eid_cli)
    nav.add(app, "eid.card", _l("e-ID card"), roles=(roles.RESIDENT,), order=40)
    nav.add(app, "eid.staff_facilities", _l("Facilities"), roles=DESK_ROLES, order=91)
    # A released register entry ends the verification its holder's cards rest on.
    if revoke_on_release not in ON_RELEASE:  # once, however many apps are made
        ON_RELEASE.append(revoke_on_release)
    install(app)  # POST /api/v1/eid/verify answered in front of Flask (see verify/wsgi.py)
