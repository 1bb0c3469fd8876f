"""Forms for the e-ID pages (every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.eid.limits import (
    AGE_MAX,
    DISCOUNT_MAX,
    FACILITY_CODE_MAX,
    FACILITY_CODE_MIN,
    FACILITY_NAME_MAX,
    GATE_NAME_MAX,
    OPENING_HOURS_MAX,
    STATUS_REASON_MAX,
)
from portal.eid.models import FACILITY_KINDS
from portal.eid.service.facilities import KIND_LABELS
from portal.places import PlacesField


class ActionForm(FlaskForm):
    """A button: nothing but the CSRF token."""


def kind_choices():
    return [SelectChoice(k, KIND_LABELS[k]) for k in FACILITY_KINDS]


class FacilityForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
                           DataRequired(), Length(min=FACILITY_CODE_MIN, max=FACILITY_CODE_MAX)],
                       description=_l("Lower-case letters, digits, - or _; cannot be changed later."))
    name_ko = StringField(_l("Name (Korean)"), validators=[DataRequired(), Length(max=FACILITY_NAME_MAX)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=FACILITY_NAME_MAX)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[Optional(), Length(max=FACILITY_NAME_MAX)])
    kind = SelectField(_l("Kind"), choices=[])
    opening_hours = TextAreaField(
        _l("Opening hours"), validators=[Optional(), Length(max=OPENING_HOURS_MAX)],
        description=_l('For example "mon-fri 09:00-18:00; sat 10:00-13:00". Other days are closed.'))
    residents_only = BooleanField(_l("Residents only"))
    districts = PlacesField(_l("Districts"), description=_l("None chosen means every district."))
    min_age = IntegerField(_l("Minimum age"), validators=[Optional(), NumberRange(min=0, max=AGE_MAX)])
    max_age = IntegerField(_l("Maximum age"), validators=[Optional(), NumberRange(min=0, max=AGE_MAX)])
    resident_discount = IntegerField(_l("Resident discount (%)"), default=0,
                                     validators=[Optional(), NumberRange(min=0, max=DISCOUNT_MAX)])
    active = BooleanField(_l("Open for card access"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()


class GateForm(FlaskForm):
    name = StringField(_l("Gate name"), validators=[Optional(), Length(max=GATE_NAME_MAX)])


class CardStatusForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=STATUS_REASON_MAX)])
