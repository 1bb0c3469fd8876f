"""Forms of the notification pages (CSRF by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice

from .labels import CHANNEL_LABELS
from .models import CHANNELS, OPTIONAL_CHANNELS


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PreferencesForm(FlaskForm):
    preferred_channel = SelectField(
        _l("How would you like to receive notices?"),
        choices=[SelectChoice("", _l("No preference (portal inbox)"))]
        + [SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS],
    )
    opted_out = CheckboxesField(
        _l("Never contact me by"),
        choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in OPTIONAL_CHANNELS],
    )
