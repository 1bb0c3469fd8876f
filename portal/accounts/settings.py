"""Account settings: each read here, each with its only default."""

from __future__ import annotations

from portal.settings import Setting, as_str

# Sign-in attempts: per client address (LOGIN_RATE_LIMIT, in portal.config) and per account.
LOGIN_ACCOUNT_RATE_LIMIT = Setting("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour", as_str)
# Residency verification attempts (a wrong document number costs one).
VERIFY_RATE_LIMIT_ACCOUNT = Setting("VERIFY_RATE_LIMIT_ACCOUNT", "5 per hour", as_str)
VERIFY_RATE_LIMIT_CLIENT = Setting("VERIFY_RATE_LIMIT_CLIENT", "20 per hour", as_str)
# Mails the portal sends to an address someone typed (registration, password reset).
ACCOUNT_MAIL_RATE_LIMIT = Setting("ACCOUNT_MAIL_RATE_LIMIT", "3 per hour", as_str)
# How long the links in those mails work.
CONFIRM_LINK_HOURS = Setting("ACCOUNT_CONFIRM_LINK_HOURS", 48, int, minimum=1, maximum=24 * 14)
RESET_LINK_MINUTES = Setting("ACCOUNT_RESET_LINK_MINUTES", 60, int, minimum=5, maximum=24 * 60)
