"""Account rules: registration, sign-in, sessions, roles, tokens, residency verification.

Plain functions on a SQLAlchemy session; the acting user is passed in and checked here.
"""

from .guards import require_confirmed, require_login, require_role, require_verified, require_voice
from .links import (
    confirm_email,
    link_is_live,
    register,
    request_password_reset,
    resend_confirmation,
    reset_password,
)
from .passwords import check_password, hash_password, validate_password
from .residency import (
    ON_RELEASE,
    REGISTER_COLUMNS,
    document_hash,
    import_register,
    register_entry,
    release_entry,
    verify_against_register,
    verify_manually,
)
from .tokens import TOKEN_PREFIX, create_token, list_tokens, revoke_token, user_for_token
from .users import (
    authenticate,
    change_password,
    create_user,
    end_sessions,
    find_by_email,
    get_user,
    grant_roles,
    log_out_everywhere,
    normalise_email,
    search_users,
    set_locale,
    update_profile,
)

__all__ = [
    "ON_RELEASE", "REGISTER_COLUMNS", "TOKEN_PREFIX", "authenticate", "change_password", "check_password",
    "confirm_email", "create_token", "create_user", "document_hash", "end_sessions", "find_by_email",
    "get_user", "grant_roles", "hash_password", "import_register", "link_is_live", "list_tokens",
    "log_out_everywhere", "normalise_email", "register", "register_entry", "release_entry",
    "request_password_reset", "require_confirmed", "require_login", "require_role", "require_verified",
    "require_voice", "resend_confirmation", "reset_password", "revoke_token", "search_users",
    "set_locale", "update_profile", "user_for_token", "validate_password", "verify_against_register",
    "verify_manually",
]
