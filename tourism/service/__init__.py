"""Tourism booking rules, by concern (being split out of bookings.py)."""

from .bookings import *  # noqa: F403
from .bookings import _search_text  # noqa: F401
