"""Forms for the proposal pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .models import CATEGORIES


def _category_choices():
    from .service import CATEGORY_LABELS

    return [SelectChoice(c, CATEGORY_LABELS[c]) for c in CATEGORIES]


class ProposalForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=5, max=200)])
    body = TextAreaField(_l("Your proposal"), validators=[DataRequired(), Length(min=20, max=20_000)])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    district = StringField(_l("District (optional)"), validators=[Optional(), Length(max=100)])
    location = StringField(_l("Where (optional, text only)"), validators=[Optional(), Length(max=300)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = _category_choices()


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token: endorse, withdraw, follow."""


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5_000)])


class FlagForm(FlaskForm):
    reason = StringField(_l("What is wrong with it?"), validators=[DataRequired(), Length(max=500)])


class BallotForm(FlaskForm):
    choice = RadioField(_l("Your vote"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .service import CHOICE_LABELS

        self.choice.choices = [SelectChoice(k, v) for k, v in CHOICE_LABELS.items()]


class TransitionForm(FlaskForm):
    to = SelectField(_l("New status"), validators=[DataRequired()])
    answer = TextAreaField(_l("Official answer (required to accept or reject)"),
                           validators=[Optional(), Length(max=20_000)])
    department = StringField(_l("Department"), validators=[Optional(), Length(max=200)])
    vote_ends_at = DateTimeLocalField(_l("Vote ends (Seoul time)"), format="%Y-%m-%dT%H:%M",
                                      validators=[Optional()])
    reason = StringField(_l("Reason for hiding"), validators=[Optional(), Length(max=500)])


class DepartmentForm(FlaskForm):
    department = StringField(_l("Department"), validators=[DataRequired(), Length(max=200)])


class MergeForm(FlaskForm):
    into = IntegerField(_l("Merge into proposal number"), validators=[DataRequired(), NumberRange(min=1)])
