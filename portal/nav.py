"""The top navigation: each service adds its links in its `init_app`."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user


def add(app: Flask, endpoint: str, label, roles: tuple[str, ...] | list[str] = (), order: int = 50):
    """Show a link to `endpoint`; `roles` limits it to users holding one of them."""
    app.extensions.setdefault("portal_nav", []).append(
        {"endpoint": endpoint, "label": label, "roles": tuple(roles), "order": order})


def items(app: Flask) -> list[dict]:
    visible = []
    for item in sorted(app.extensions.get("portal_nav", []), key=lambda i: i["order"]):
        if item["roles"]:
            if not (current_user.is_authenticated and current_user.has_role(*item["roles"])):
                continue
        visible.append(item)
    return visible
