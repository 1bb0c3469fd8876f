"""The welfare service (being split by concern: see the modules of this package)."""

from welfare.service.scan import *  # noqa: F403
