"""Tourism forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from portal.i18n import LOCALE_NAMES, LOCALES
from portal.places import PlaceField

from .limits import (
    CAPACITY_MAX,
    EMAIL_MAX,
    FREE_CANCEL_HOURS_MAX,
    GUEST_NAME_MAX,
    PHONE_MAX,
    PRICE_MAX,
    QUANTITY_MAX,
    QUANTITY_MIN,
    REFERENCE_MAX,
    REFUND_PERCENT_MAX,
    TEXT_MAX,
)


def kind_labels() -> dict:
    return {"event": _l("Event"), "lodging": _l("Lodging"), "restaurant": _l("Restaurant"),
            "transport": _l("Transport")}


def kind_choices():
    return [SelectChoice(k, v) for k, v in kind_labels().items()]


class BookingForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[InputRequired(), Length(max=GUEST_NAME_MAX)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=EMAIL_MAX)])
    phone = TelField(_l("Phone (optional)"), validators=[Optional(), Length(max=PHONE_MAX)])
    quantity = IntegerField(_l("Seats"), default=1,
                            validators=[InputRequired(), NumberRange(min=QUANTITY_MIN, max=QUANTITY_MAX)])
    submit = SubmitField(_l("Hold my seats"))


class WaitlistForm(BookingForm):
    submit = SubmitField(_l("Join the waiting list"))


class LookupForm(FlaskForm):
    reference = StringField(_l("Booking reference"), validators=[InputRequired(), Length(max=REFERENCE_MAX)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=EMAIL_MAX)])
    submit = SubmitField(_l("Find my booking"))


class PayForm(FlaskForm):
    submit = SubmitField(_l("Pay now"))


class CancelForm(FlaskForm):
    # The refund the confirmation page stated: the booking is cancelled only while it still holds.
    refund = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=0)])
    submit = SubmitField(_l("Yes, cancel this booking"))


class SandboxForm(FlaskForm):
    pay = SubmitField(_l("Pay"))
    fail = SubmitField(_l("Decline payment"))


class ListingForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=kind_choices, validators=[InputRequired()])
    # An area of the places table, named in the page's language; the service checks the code.
    area = PlaceField(_l("Area"), kind="area", blank=_l("No area"))
    free_cancel_hours = IntegerField(_l("Free cancellation until (hours before start)"), default=24,
                                     validators=[InputRequired(), NumberRange(min=0, max=FREE_CANCEL_HOURS_MAX)])
    late_refund_percent = IntegerField(_l("Refund after that (percent)"), default=0,
                                       validators=[InputRequired(), NumberRange(min=0, max=REFUND_PERCENT_MAX)])
    active = BooleanField(_l("Shown to visitors"), default=True)
    submit = SubmitField(_l("Save"))


# One field per text and locale: name_ko, name_en, name_zh, description_ko, ...
for _field, _label, _kind in (("name", _l("Name"), StringField),
                              ("description", _l("Description"), TextAreaField),
                              ("address", _l("Address"), StringField),
                              ("policy", _l("Cancellation policy"), TextAreaField)):
    for _code in LOCALES:
        setattr(ListingForm, f"{_field}_{_code}",
                _kind(_label, description=LOCALE_NAMES[_code],
                      validators=[Optional(), Length(max=TEXT_MAX)]))


class SlotForm(FlaskForm):
    starts_at = DateTimeLocalField(_l("Starts at (Korea time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired()])
    capacity = IntegerField(_l("Capacity"), validators=[InputRequired(), NumberRange(min=1, max=CAPACITY_MAX)])
    price = IntegerField(_l("Price per seat (KRW)"), validators=[InputRequired(), NumberRange(min=0, max=PRICE_MAX)])
    submit = SubmitField(_l("Add time slot"))


class CapacityForm(FlaskForm):
    capacity = IntegerField(_l("Capacity"), validators=[InputRequired(), NumberRange(min=0, max=CAPACITY_MAX)])
    submit = SubmitField(_l("Change capacity"))


class CheckInForm(FlaskForm):
    reference = StringField(_l("Booking reference"), validators=[InputRequired(), Length(max=REFERENCE_MAX)],
                            render_kw={"autocomplete": "off", "autofocus": True, "inputmode": "text"})
    submit = SubmitField(_l("Check in"))
