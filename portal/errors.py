"""Domain errors: services raise these; `portal.create_app` maps them to HTTP once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = _l("The request could not be processed.")
    # Seconds after which trying again may succeed; sent as Retry-After when set (429, 503).
    retry_after: int | None = None

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None):
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        self.fields = fields
        super().__init__(str(self.code))


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = _l("Please sign in first.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("This conflicts with the current state.")


class Invalid(DomainError):
    status = 422
    code = "invalid"
    default_message = _l("Some of the input is not valid.")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = _l("Too many requests. Please wait a moment and try again.")
