"""The rules of policy proposals, by concern (being split out of lifecycle.py)."""

from .lifecycle import *  # noqa: F403
