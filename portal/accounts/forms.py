from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.accounts.limits import (
    DOCUMENT_MAX,
    DOCUMENT_MIN,
    EMAIL_MAX,
    NAME_MAX,
    PHONE_MAX,
    REASON_MAX,
    TOKEN_NAME_MAX,
)
from portal.i18n import LOCALE_NAMES
from portal.places import PlaceField


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=EMAIL_MAX)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=EMAIL_MAX)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=256)])


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=PHONE_MAX)])
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    district = PlaceField(_l("District"), validators=[Optional()], blank=_l("Not chosen"))


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=[SelectChoice(k, v) for k, v in LOCALE_NAMES.items()])


class VerifyForm(FlaskForm):
    name = StringField(_l("Name as registered"), validators=[DataRequired(), Length(max=NAME_MAX)])
    birth_date = DateField(_l("Birth date"), validators=[DataRequired()])
    district = PlaceField(_l("District"), validators=[DataRequired()])
    document_number = PasswordField(_l("Resident registration number"),
                                    validators=[DataRequired(), Length(max=DOCUMENT_MAX)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[Optional(), Length(max=TOKEN_NAME_MAX)])


class ManualVerifyForm(FlaskForm):
    """Staff verify in person: what they checked on the resident's ID is what the card attests."""
    name = StringField(_l("Name as on the ID"), validators=[DataRequired(), Length(max=NAME_MAX)])
    birth_date = DateField(_l("Birth date as on the ID"), validators=[DataRequired()])
    district = PlaceField(_l("District as on the ID"), validators=[DataRequired()])
    document_number = PasswordField(_l("Resident registration number"),
                                    validators=[DataRequired(), Length(min=DOCUMENT_MIN, max=DOCUMENT_MAX)])
    reason = TextAreaField(_l("Reason (e.g. documents checked at the counter)"),
                           validators=[DataRequired(), Length(max=REASON_MAX)])


class EntryLookupForm(FlaskForm):
    document_number = PasswordField(_l("Resident registration number"),
                                    validators=[DataRequired(), Length(min=DOCUMENT_MIN, max=DOCUMENT_MAX)])


class ReleaseForm(FlaskForm):
    reason = TextAreaField(_l("Reason (e.g. the holder showed their ID at the counter)"),
                           validators=[DataRequired(), Length(max=REASON_MAX)])


class EmailForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=EMAIL_MAX)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])


class ConfirmForm(FlaskForm):
    """A button: the link's token waits in the session, never in the page."""


class RegisterImportForm(FlaskForm):
    file = FileField(_l("Resident register (CSV)"), validators=[FileRequired()])
