"""Helpers every JSON API uses: auth guard, body parsing, errors, pagination, money, times."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import UTC, date, datetime
from typing import TypeVar

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from portal.errors import DomainError, Invalid, Unauthorized

M = TypeVar("M", bound=BaseModel)

API_PREFIX = "/api/"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Body(BaseModel):
    """Base of every API request body: an unknown field is a 422 (``Unknown field.``), in
    every service alike, so a client's typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid")


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_body(code: str, message, fields: dict | None = None) -> dict:
    """The house error shape: ``{"error": {"code", "message", "fields"?}}``."""
    body = {"error": {"code": code, "message": str(message)}}
    if fields:
        body["error"]["fields"] = {k: str(v) for k, v in fields.items()}
    return body


def json_error(code: str, message, status: int, fields: dict | None = None):
    return jsonify(error_body(code, message, fields)), status


def api_login_required(view):
    """401 (JSON) unless the request is signed in by session cookie or bearer token."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthorized()
        return view(*args, **kwargs)

    return wrapper


def _field_message(err: dict) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("string_too_short", "too_short"):
        return _("Too short: at least %(n)s characters.", n=ctx.get("min_length", ""))
    if kind in ("string_too_long", "too_long"):
        return _("Too long: at most %(n)s characters.", n=ctx.get("max_length", ""))
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(n)s.", n=ctx.get("ge", ctx.get("gt", "")))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(n)s.", n=ctx.get("le", ctx.get("lt", "")))
    if kind in ("literal_error", "enum"):
        return _("Not one of the allowed values.")
    if kind.startswith(("int_", "float_", "bool_", "string_type", "date", "datetime")):
        return _("Wrong type or format.")
    if kind == "value_error" and "email" in str(err.get("msg", "")).lower():
        return _("Not a valid email address.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    return _("Invalid value.")


def validation_fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors():
        key = ".".join(str(p) for p in err.get("loc", ())) or "body"
        fields.setdefault(key, _field_message(err))
    return fields


def json_body():
    """The request's JSON document: 400 ``too_deep`` when it nests deeper than the portal
    reads (refused before parsing), None when it is not JSON."""
    from portal.inputs import MAX_JSON_DEPTH, json_depth_ok

    if not request.is_json:
        return None
    if not json_depth_ok(request.get_data(cache=True)):
        raise DomainError(_("The JSON document is nested more than %(n)s levels deep.", n=MAX_JSON_DEPTH),
                          code="too_deep")
    return request.get_json(silent=True)


def parse_body(model: type[M], data=None) -> M:
    """Validate the JSON body against a pydantic model; 422 with `fields` otherwise (text with
    NUL bytes or lone surrogates included)."""
    from portal.inputs import first_unreadable

    if data is None:
        data = json_body()
    if not isinstance(data, dict):
        raise Invalid(_("The request body must be a JSON object."), code="invalid_json")
    where = first_unreadable(data)
    if where is not None:
        raise Invalid(fields={where: _("Contains characters that are not allowed (such as NUL).")})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(fields=validation_fields(exc)) from None


class Query(BaseModel):
    """Base of a query-string model: parameters it does not name are left alone (``lang``,
    ``cursor`` handled by the shell; a client's tracking parameters)."""

    model_config = ConfigDict(extra="ignore")


def parse_query(model: type[M]) -> M:
    """Validate the query string against a pydantic model; 422 with `fields` otherwise. A
    parameter given several times counts once (the first)."""
    data = {key: request.args.get(key) for key in request.args}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(fields=validation_fields(exc)) from None


def parse_limit(default: int = DEFAULT_LIMIT) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(fields={"limit": _("Wrong type or format.")}) from None
    if not 1 <= value <= MAX_LIMIT:
        raise Invalid(fields={"limit": _("Must be at most %(n)s.", n=MAX_LIMIT)})
    return value


# -- keyset pagination ---------------------------------------------------------------------

def _encode_value(v):
    if isinstance(v, datetime):
        return {"dt": v.astimezone(UTC).isoformat()}
    if isinstance(v, date):
        return {"d": v.isoformat()}
    return v


def _decode_value(v):
    if isinstance(v, dict) and "dt" in v:
        return datetime.fromisoformat(v["dt"])
    if isinstance(v, dict) and "d" in v:
        return date.fromisoformat(v["d"])
    return v


def encode_cursor(values: list) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor():
    return Invalid(_("The cursor is not valid."), code="bad_cursor", fields={"cursor": _("Invalid value.")})


def _fits(value, column) -> bool:
    """Whether a decoded cursor value has the type of the column it is compared with."""
    from portal.inputs import MAX_ID, unreadable

    try:
        kind = column.type.python_type
    except (NotImplementedError, AttributeError):
        return True
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID - 1 <= value <= MAX_ID
    if kind is str:
        return isinstance(value, str) and len(value) <= 1000 and not unreadable(value)
    if kind is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None
    if kind is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(value, kind)


def decode_cursor(cursor: str, n: int, columns=None) -> list:
    """The values of a cursor from encode_cursor; 422 ``bad_cursor`` for anything else (a
    cursor a client made up or changed), also when a value's type is not its column's."""
    try:
        if len(cursor) > 2000:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != n:
            raise ValueError
        values = [_decode_value(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError, OverflowError):
        raise _bad_cursor() from None
    if columns is not None and not all(_fits(v, c) for v, c in zip(values, columns, strict=True)):
        raise _bad_cursor()
    return values


_first_pages: dict[tuple, object] = {}


def paginate(session: Session, stmt, order: list[tuple], cursor: str | None, limit: int, *,
             rows: bool = False, params: dict | None = None, order_key=None):
    """Keyset pagination. `order` is [(column, "asc"|"desc"), ...], ending with a unique key.

    Returns (rows, next_cursor). Rows are scalars of `stmt` (with ``rows=True``, its rows: a
    statement of columns, read without building ORM objects); each order column must be
    readable as an attribute of the row under the column's key. `params`: values of the
    statement's bound parameters. `order_key`: a name for `order` that the caller keeps for
    the same `stmt` object, so that the first page's statement is built once (`stmt` must then
    be built once too, its varying values bound by `params`).
    """
    cols = [c for c, _d in order]
    if not cursor and order_key is not None:
        first = _first_pages.get((stmt, order_key, limit))
        if first is not None:
            return _page(session, first, cols, limit, rows, params)
    if cursor:
        values = decode_cursor(cursor, len(cols), cols)
        clauses = []
        for i, (col, direction) in enumerate(order):
            eq = [cols[j] == values[j] for j in range(i)]
            cmp = col < values[i] if direction == "desc" else col > values[i]
            clauses.append(and_(*eq, cmp))
        stmt = stmt.where(or_(*clauses))
    built = stmt.order_by(*[c.desc() if d == "desc" else c.asc() for c, d in order]).limit(limit + 1)
    if not cursor and order_key is not None and len(_first_pages) < 1024:
        _first_pages[(stmt, order_key, limit)] = built
    return _page(session, built, cols, limit, rows, params)


def _page(session: Session, stmt, cols, limit: int, rows: bool, params: dict | None):
    found = session.execute(stmt, params).all() if rows else list(session.scalars(stmt, params))
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        last = found[-1]
        next_cursor = encode_cursor([getattr(last, c.key) for c in cols])
    return found, next_cursor


def money(amount: int, currency: str = "KRW") -> dict:
    return {"amount": int(amount), "currency": currency}


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.isoformat()
