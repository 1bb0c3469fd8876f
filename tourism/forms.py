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

from portal.i18n import LOCALE_NAMES, LOCALES

from .service import MAX_QUANTITY


def kind_labels() -> dict:
    return {"event": _l("Event"), "lodging": _l("Lodging"), "restaurant": _l("Restaurant"),
            "transport": _l("Transport")}


def kind_choices():
    return [SelectChoice(k, v) for k, v in kind_labels().items()]


class BookingForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[InputRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    phone = TelField(_l("Phone (optional)"), validators=[Optional(), Length(max=40)])
    quantity = IntegerField(_l("Seats"), default=1,
                            validators=[InputRequired(), NumberRange(min=1, max=MAX_QUANTITY)])
    submit = SubmitField(_l("Hold my seats"))


class WaitlistForm(BookingForm):
    submit = SubmitField(_l("Join the waiting list"))


class LookupForm(FlaskForm):
    reference = StringField(_l("Booking reference"), validators=[InputRequired(), Length(max=20)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Find my booking"))


class PayForm(FlaskForm):
    submit = SubmitField(_l("Pay now"))


class CancelForm(FlaskForm):
    submit = SubmitField(_l("Cancel this booking"))


class SandboxForm(FlaskForm):
    pay = SubmitField(_l("Pay"))
    fail = SubmitField(_l("Decline payment"))


class ListingForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=kind_choices, validators=[InputRequired()])
    area = StringField(_l("Area key"), validators=[Optional(), Length(max=80)],
                       description=_l("The same in every language; links and filters use it, e.g. Dolsan."))
    free_cancel_hours = IntegerField(_l("Free cancellation until (hours before start)"), default=24,
                                     validators=[InputRequired(), NumberRange(min=0, max=24 * 60)])
    late_refund_percent = IntegerField(_l("Refund after that (percent)"), default=0,
                                       validators=[InputRequired(), NumberRange(min=0, max=100)])
    active = BooleanField(_l("Shown to visitors"), default=True)
    submit = SubmitField(_l("Save"))


# The area's name people read, one field per locale beside the key: area_name_ko, area_name_en, ...
for _code in LOCALES:
    setattr(ListingForm, f"area_name_{_code}",
            StringField(_l("Area name"), description=LOCALE_NAMES[_code],
                        validators=[Optional(), Length(max=80)]))

# One field per text and locale: name_ko, name_en, name_zh, description_ko, ...
for _field, _label, _kind in (("name", _l("Name"), StringField),
                              ("description", _l("Description"), TextAreaField),
                              ("address", _l("Address"), StringField),
                              ("policy", _l("Cancellation policy"), TextAreaField)):
    for _code in LOCALES:
        setattr(ListingForm, f"{_field}_{_code}",
                _kind(_label, description=LOCALE_NAMES[_code],
                      validators=[Optional(), Length(max=4000)]))


class SlotForm(FlaskForm):
    starts_at = DateTimeLocalField(_l("Starts at (Korea time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired()])
    capacity = IntegerField(_l("Capacity"), validators=[InputRequired(), NumberRange(min=1, max=100000)])
    price = IntegerField(_l("Price per seat (KRW)"), validators=[InputRequired(), NumberRange(min=0)])
    submit = SubmitField(_l("Add time slot"))


class CapacityForm(FlaskForm):
    capacity = IntegerField(_l("Capacity"), validators=[InputRequired(), NumberRange(min=0, max=100000)])
    submit = SubmitField(_l("Change capacity"))


class CheckInForm(FlaskForm):
    reference = StringField(_l("Booking reference"), validators=[InputRequired(), Length(max=20)],
                            render_kw={"autocomplete": "off", "autofocus": True, "inputmode": "text"})
    submit = SubmitField(_l("Check in"))
