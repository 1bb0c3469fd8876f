"""The top navigation: each service adds its links in its `init_app`."""

from __future__ import annotations

from flask import Flask, has_request_context, request, url_for
from flask_login import current_user
from markupsafe import Markup


def add(app: Flask, endpoint: str, label, roles: tuple[str, ...] | list[str] = (), order: int = 50):
    """Show a link to `endpoint`; `roles` limits it to users holding one of them."""
    app.extensions.setdefault("portal_nav", []).append(
        {"endpoint": endpoint, "label": label, "roles": tuple(roles), "order": order})


def items(app: Flask) -> list[dict]:
    """The links this person may follow, in order, each with its ``url`` (None outside a request:
    templates then build it) and its ``label`` in the current language.

    In a request the ordered links, their labels and addresses are made once per process,
    language and script root (each page sorted them, translated three to eleven lazy labels and
    built their addresses again); only the roles are asked per request. A label is shown as
    Flask-Babel's lazy string shows itself in a template (its text, as Markup)."""
    added = app.extensions.get("portal_nav", [])
    if not has_request_context():
        shown = [{**item, "url": None} for item in sorted(added, key=lambda i: i["order"])]
        public = [item for item in shown if not item["roles"]]
    else:
        from portal.i18n import current_locale

        key = (current_locale(), request.script_root, len(added))
        made = app.extensions.setdefault("portal_nav_made", {})
        entry = made.get(key)
        if entry is None:
            shown = [{**item, "label": Markup(str(item["label"])), "url": url_for(item["endpoint"])}  # noqa: S704 - as LazyString.__html__
                     for item in sorted(added, key=lambda i: i["order"])]
            entry = made[key] = (shown, [item for item in shown if not item["roles"]])
        shown, public = entry
    user = current_user._get_current_object()
    if not user.is_authenticated:
        return list(public)
    return [item for item in shown if not item["roles"] or user.has_role(*item["roles"])]


SHELL_URLS = {"home": ("home", {}), "profile": ("accounts.profile", {}), "logout": ("accounts.logout", {}),
              "register": ("accounts.register", {}), "css": ("static", {"filename": "portal.css"}),
              "js": ("static", {"filename": "portal.js"})}


def shell_urls(app: Flask) -> dict | None:
    """The fixed addresses every page's shell links to, built once per process and script root
    (six url_for a page); None outside a request (the template builds them)."""
    if not has_request_context():
        return None
    made = app.extensions.setdefault("portal_shell_urls", {})
    urls = made.get(request.script_root)
    if urls is None:
        urls = made[request.script_root] = {name: url_for(endpoint, **values)
                                            for name, (endpoint, values) in SHELL_URLS.items()}
    return urls
