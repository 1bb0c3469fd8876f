"""Forms for the proposal pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.places import PlaceField

from . import limits
from .vocabulary import CATEGORY_LABELS, CHOICE_LABELS


class ProposalForm(FlaskForm):
    title = StringField(_l("Title"),
                        validators=[DataRequired(), Length(min=limits.TITLE_MIN, max=limits.TITLE_MAX)])
    body = TextAreaField(_l("Your proposal"),
                         validators=[DataRequired(), Length(min=limits.BODY_MIN, max=limits.BODY_MAX)])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    district = PlaceField(_l("District (optional)"), validators=[Optional()], blank=_l("Not chosen"))
    location = StringField(_l("Where (optional, text only)"),
                           validators=[Optional(), Length(max=limits.LOCATION_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice(c, label) for c, label in CATEGORY_LABELS.items()]


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token: endorse, withdraw, follow."""


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=limits.COMMENT_MAX)])


class FlagForm(FlaskForm):
    reason = StringField(_l("What is wrong with it?"),
                         validators=[DataRequired(), Length(max=limits.REASON_MAX)])


class BallotForm(FlaskForm):
    choice = RadioField(_l("Your vote"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.choice.choices = [SelectChoice(k, v) for k, v in CHOICE_LABELS.items()]


class TransitionForm(FlaskForm):
    to = SelectField(_l("New status"), validators=[DataRequired()])
    answer = TextAreaField(_l("Official answer (required to accept or reject)"),
                           validators=[Optional(), Length(max=limits.ANSWER_MAX)])
    # ids of their own: the staff page shows this form beside the department and report forms,
    # whose fields have the same names (a label must focus its own form's field)
    department = StringField(_l("Department"), id="transition-department",
                             validators=[Optional(), Length(max=limits.DEPARTMENT_MAX)])
    vote_ends_at = DateTimeLocalField(_l("Vote ends (Korea time)"), format="%Y-%m-%dT%H:%M",
                                      validators=[Optional()])
    reason = StringField(_l("Reason for hiding"), id="transition-reason",
                         validators=[Optional(), Length(max=limits.REASON_MAX)])


class DepartmentForm(FlaskForm):
    department = StringField(_l("Department"), validators=[DataRequired(), Length(max=limits.DEPARTMENT_MAX)])


class MergeForm(FlaskForm):
    into = IntegerField(_l("Merge into proposal number"), validators=[DataRequired(), NumberRange(min=1)])
