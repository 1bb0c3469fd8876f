"""Settings from environment variables, with embedded defaults for a first run.

Every setting can be given as an environment variable of the same name; `create_app(config)`
overrides win over both. Production (`PORTAL_ENV=production`) refuses to start without a
`SECRET_KEY` of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production, see check()


class ConfigError(RuntimeError):
    """The settings cannot run this portal (missing secret in production, bad value)."""


def database_url(raw: str | None, instance_path: str) -> str:
    """Normalise DATABASE_URL to the psycopg 3 driver; default to SQLite in the instance folder."""
    if not raw:
        return "sqlite:///" + os.path.join(instance_path, "portal.db")
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load(env: os._Environ | dict, instance_path: str) -> dict:
    """Read settings from `env`; returns a dict for `app.config.update`."""
    portal_env = env.get("PORTAL_ENV", "development")
    production = portal_env == "production"
    redis_url = env.get("REDIS_URL") or None
    db_url = database_url(env.get("DATABASE_URL"), instance_path)

    # hide_parameters: a database error is logged without its bound values (they are personal
    # data: names, birth dates, incomes, addresses).
    # No pool_pre_ping: portal.db.ping_after_idle tests only connections that sat unused.
    engine_options: dict = {"hide_parameters": True}
    if db_url.startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30, "check_same_thread": False},
                          "hide_parameters": True}

    eager_default = redis_url is None
    eager = _bool(env.get("CELERY_TASK_ALWAYS_EAGER"), eager_default)

    cfg = {
        "PORTAL_ENV": portal_env,
        "SECRET_KEY": env.get("SECRET_KEY") or (None if production else DEV_SECRET_KEY),
        # Earlier keys (white-space separated), after SECRET_KEY changed: sessions signed and
        # notice parts sealed with them still open.
        "SECRET_KEY_FALLBACKS": (env.get("SECRET_KEY_FALLBACKS") or "").split(),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "REDIS_URL": redis_url,
        # Every absolute link in a message (e.g. https://portal.example.kr); required in
        # production. Never taken from the request: a forged Host header must not write our mails.
        "PORTAL_BASE_URL": env.get("PORTAL_BASE_URL") or (None if production else "http://127.0.0.1:5000"),
        # Trusted reverse proxies in front of the portal (werkzeug's ProxyFix x_for): 0 = none,
        # so a client cannot claim another address with X-Forwarded-For.
        "PROXY_FIX_X_FOR": int(env.get("PROXY_FIX_X_FOR", 0) or 0),
        # Sessions and cookies.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 1024 * 1024)),
        # CSRF: checked by portal's own hook so that bearer-token API calls are exempt.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        # Languages.
        "BABEL_DEFAULT_LOCALE": "ko",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Seoul",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        # Rate limits (Flask-Limiter); Redis storage when REDIS_URL is set.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Passwords: argon2id (memory-hard). Costs in KiB / passes.
        "ARGON2_MEMORY_COST": int(env.get("ARGON2_MEMORY_COST", 65536)),
        "ARGON2_TIME_COST": int(env.get("ARGON2_TIME_COST", 3)),
        # Keyed hash for resident-register document numbers (never stored in clear).
        "REGISTER_HASH_KEY": env.get("REGISTER_HASH_KEY") or None,
        # Celery.
        "CELERY": {
            "broker_url": redis_url or "memory://",
            "result_backend": redis_url,
            "task_always_eager": eager,
            "task_eager_propagates": True,
            "task_ignore_result": True,
            "broker_connection_retry_on_startup": True,
            "timezone": "Asia/Seoul",
        },
    }
    # Service settings pass through when set in the environment (names documented in README).
    for key, value in env.items():
        if key.startswith(("PROPOSAL_", "BOOKING_", "TOURISM_", "EID_", "NOTIFY_", "WELFARE_",
                           "MAIL_", "SMS_", "VOICE_", "ACCOUNT_", "VERIFY_", "IDEMPOTENCY_",
                           "LOGIN_ACCOUNT_")):  # strings: services parse them
            cfg[key] = value
    return cfg


def check(cfg: dict) -> None:
    """Refuse settings that must not run: production without its own secret key."""
    if cfg.get("PORTAL_ENV") == "production":
        if not cfg.get("SECRET_KEY") or cfg["SECRET_KEY"] == DEV_SECRET_KEY:
            raise ConfigError("SECRET_KEY must be set in production (PORTAL_ENV=production).")
        if not cfg.get("PORTAL_BASE_URL"):
            raise ConfigError("PORTAL_BASE_URL must be set in production (the links in messages).")
    if not cfg.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY is not set.")
