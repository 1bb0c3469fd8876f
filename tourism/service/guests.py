"""Who asks for seats: a guest's details, checked once for a booking and for the waiting list."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.errors import Invalid
from portal.i18n import normalise
from portal.inputs import visible

from ..limits import EMAIL_MAX, GUEST_NAME_MAX, PHONE_MAX, QUANTITY_MAX, QUANTITY_MIN


def clean_email(email: str | None) -> str:
    return (email or "").strip().lower()


def signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def guest_details(user, *, name: str, email: str, phone: str | None, quantity,
                  locale: str | None) -> dict:
    """The details a hold or a place in line is stored with: {name, email, phone, locale,
    user_id}. A signed-in user's own name, email and language fill in what was left blank.
    Raises Invalid with the fields that are not right."""
    if signed_in(user):
        name = name or user.name
        email = email or user.email
        locale = locale or user.locale
    fields = {}
    # A name a person can read: not only spaces, zero-width or bidi-control characters.
    if not visible(name) or len(name.strip()) > GUEST_NAME_MAX:
        fields["name"] = _l("Enter your name.")
    email = clean_email(email)
    if "@" not in email or len(email) > EMAIL_MAX or " " in email:
        fields["email"] = _l("Enter a valid email address.")
    if phone and (len(phone.strip()) > PHONE_MAX or not visible(phone)):
        fields["phone"] = _l("Enter a valid phone number.")
    if (not isinstance(quantity, int) or isinstance(quantity, bool)
            or not QUANTITY_MIN <= quantity <= QUANTITY_MAX):
        fields["quantity"] = _l("Choose between 1 and %(n)d seats.", n=QUANTITY_MAX)
    if locale is not None and normalise(locale) != locale:
        fields["locale"] = _l("Choose ko, en or zh.")
    if fields:
        raise Invalid(fields=fields)
    return {"name": name.strip(), "email": email, "phone": (phone or "").strip() or None,
            "locale": normalise(locale) or "ko", "user_id": user.id if signed_in(user) else None}
