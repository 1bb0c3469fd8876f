from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.i18n import LOCALE_NAMES


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=256)])


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    district = StringField(_l("District"), validators=[Optional(), Length(max=50)])


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=[SelectChoice(k, v) for k, v in LOCALE_NAMES.items()])


class VerifyForm(FlaskForm):
    name = StringField(_l("Name as registered"), validators=[DataRequired(), Length(max=100)])
    birth_date = DateField(_l("Birth date"), validators=[DataRequired()])
    district = StringField(_l("District"), validators=[DataRequired(), Length(max=50)])
    document_number = PasswordField(_l("Resident registration number"),
                                    validators=[DataRequired(), Length(max=32)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[Optional(), Length(max=100)])


class ManualVerifyForm(FlaskForm):
    """Staff verify in person: what they checked on the resident's ID is what the card attests."""
    name = StringField(_l("Name as on the ID"), validators=[DataRequired(), Length(max=100)])
    birth_date = DateField(_l("Birth date as on the ID"), validators=[DataRequired()])
    district = StringField(_l("District as on the ID"), validators=[DataRequired(), Length(max=50)])
    document_number = PasswordField(_l("Resident registration number"),
                                    validators=[DataRequired(), Length(min=6, max=32)])
    reason = TextAreaField(_l("Reason (e.g. documents checked at the counter)"),
                           validators=[DataRequired(), Length(max=200)])


class EntryLookupForm(FlaskForm):
    document_number = PasswordField(_l("Resident registration number"),
                                    validators=[DataRequired(), Length(min=6, max=32)])


class ReleaseForm(FlaskForm):
    reason = TextAreaField(_l("Reason (e.g. the holder showed their ID at the counter)"),
                           validators=[DataRequired(), Length(max=200)])


class EmailForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])


class ConfirmForm(FlaskForm):
    """A button: the link's token waits in the session, never in the page."""


class RegisterImportForm(FlaskForm):
    file = FileField(_l("Resident register (CSV)"), validators=[FileRequired()])
