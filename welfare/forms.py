"""Forms of the welfare pages. They parse; the service validates (one rule, one place)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional

from portal.places import PlaceField
from welfare import limits
from welfare.models import CHANNELS

GRADES = [SelectChoice("", _l("None")),
          *[SelectChoice(str(i), str(i)) for i in range(limits.DISABILITY_GRADE[0], limits.DISABILITY_GRADE[1] + 1)]]
CHANNEL_LABELS = {"app": _l("Portal inbox"), "email": _l("Email"), "sms": _l("Text message"),
                  "voice": _l("Voice call")}


class WonField(IntegerField):
    """An amount in won, as people write it: "1,500,000", "1 500 000" and "1500000원" alike."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [v.replace(",", "").replace(" ", "").removesuffix("원") for v in valuelist]
        super().process_formdata(valuelist)


class _HouseholdForm(FlaskForm):
    """The household facts the rules test: a resident's profile and the anonymous screener.
    Income is asked as the household's monthly income (the service works out the percentage of
    the standard median income from it) or as that percentage directly."""
    household_size = IntegerField(_l("People in the household"), default=1,
                                  validators=[Optional(), NumberRange(*limits.HOUSEHOLD_SIZE)])
    monthly_income = WonField(_l("Household income per month, in won"),
                              validators=[Optional(), NumberRange(*limits.MONTHLY_INCOME)])
    median_income_pct = IntegerField(
        _l("Or: household income as a percentage of the standard median income (for example 50)"),
        validators=[Optional(), NumberRange(*limits.MEDIAN_INCOME_PCT)])
    lives_alone = BooleanField(_l("I live alone"))
    disability_grade = SelectField(_l("Registered disability grade"), choices=GRADES, default="")


class ProfileForm(_HouseholdForm):
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    youngest_child_birth_date = DateField(_l("Date of birth of the youngest child"),
                                          validators=[Optional()])
    district = PlaceField(_l("District"), validators=[Optional()], blank=_l("Not chosen"))
    # One control: consent to collect and use this information to tell the resident about
    # benefits (notices included); withdrawing it (a button below the form) stops both.
    consent = BooleanField(_l("I agree that the city collects and uses this information to tell me "
                              "about benefits I may receive."),
                           validators=[DataRequired(_l("Consent is required to save your profile."))])


class WithdrawForm(FlaskForm):
    pass


class ScreenerForm(_HouseholdForm):
    age = IntegerField(_l("Age"), validators=[Optional(), NumberRange(*limits.AGE)])
    youngest_child_age = IntegerField(_l("Age of the youngest child"),
                                      validators=[Optional(), NumberRange(*limits.YOUNGEST_CHILD_AGE)])
    district = PlaceField(_l("District"), validators=[Optional()], blank=_l("Not chosen"))


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ProgrammeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired()])
    name_ko = StringField(_l("Name (Korean)"), validators=[DataRequired()])
    name_en = StringField(_l("Name (English)"))
    name_zh = StringField(_l("Name (Chinese)"))
    description_ko = TextAreaField(_l("Description (Korean)"))
    description_en = TextAreaField(_l("Description (English)"))
    description_zh = TextAreaField(_l("Description (Chinese)"))
    how_to_apply_ko = TextAreaField(_l("How to apply (Korean)"))
    how_to_apply_en = TextAreaField(_l("How to apply (English)"))
    how_to_apply_zh = TextAreaField(_l("How to apply (Chinese)"))
    active_from = DateField(_l("Active from"), validators=[Optional()])
    active_until = DateField(_l("Active until"), validators=[Optional()])
    channels = MultiCheckboxField(_l("Channels, in order of preference"),
                                  choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS])
    callback_phone = StringField(_l("Callback phone number"))
    rules = TextAreaField(_l("Eligibility rule (JSON)"), validators=[DataRequired()])

    def to_data(self) -> dict:
        def per_locale(prefix):
            return {lang: getattr(self, f"{prefix}_{lang}").data or "" for lang in ("ko", "en", "zh")}

        return {"code": self.code.data, "name": per_locale("name"),
                "description": per_locale("description"), "how_to_apply": per_locale("how_to_apply"),
                "active_from": self.active_from.data, "active_until": self.active_until.data,
                "channels": self.channels.data or [], "callback_phone": self.callback_phone.data,
                "rules": self.rules.data}


class ScanForm(FlaskForm):
    pass


class ProfileLookupForm(FlaskForm):
    """An officer's look at a resident's profile: a POST (it is audited), with CSRF."""

    email = StringField(_l("Resident's email"), validators=[DataRequired()])
