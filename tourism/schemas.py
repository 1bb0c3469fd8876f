"""Tourism API shapes. Request bodies (pydantic; the shell's parse_body turns failures into 422
with fields; an unknown field is one of them). For each answer, a response model `XOut`
describing it and, beside it, the one function that builds it as a plain dict."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from portal.api import DEFAULT_LIMIT, MAX_LIMIT, Body, Query, iso, money
from portal.inputs import MAX_ID, VISIBLE_PATTERN

from . import service
from .limits import (
    DAY_MIN,
    DAY_YEARS_AHEAD,
    EMAIL_MAX,
    GATEWAY_ID_MAX,
    GUEST_NAME_MAX,
    PHONE_MAX,
    PROVIDER_MAX,
    QUANTITY_MAX,
    QUANTITY_MIN,
    REFERENCE_MAX,
)
from .models import (
    BOOKING_STATUSES,
    KINDS,
    PAYMENT_STATUSES,
    WAITLIST_STATUSES,
    Booking,
    Listing,
    Payment,
    Slot,
)

Lang = Literal["ko", "en", "zh"]

# --- request bodies -----------------------------------------------------------------------------


# An address the portal mails (a guest's): a reserved domain (.test, .invalid, .localhost, ...)
# can receive no mail, so it is refused (422), and the document says so.
_MAILABLE = {"not": {"pattern": r"\.({})\.?$".format("|".join(SPECIAL_USE_DOMAIN_NAMES))},
             "description": "an address mail can reach: not on a reserved domain ("
                            + ", ".join(f".{d}" for d in SPECIAL_USE_DOMAIN_NAMES) + ")"}
# An address a booking is found by (lookup, cancel, pay): compared with the booking's, never
# mailed, so any address is read, and one no booking has answers as a wrong one does (404/403).
KnownEmail = Annotated[str, Field(min_length=1, max_length=EMAIL_MAX, json_schema_extra={"format": "email"})]


class Guest(Body):
    name: str = Field(min_length=1, max_length=GUEST_NAME_MAX, json_schema_extra={"pattern": VISIBLE_PATTERN},
                      description="a name a person can read (a visible character)")
    email: EmailStr = Field(json_schema_extra=_MAILABLE)
    phone: str | None = Field(default=None, max_length=PHONE_MAX, json_schema_extra={"pattern": f"^$|{VISIBLE_PATTERN}"},
                              description="empty or with a character a person can see")


class BookingIn(Body):
    slot_id: int = Field(gt=0, le=MAX_ID)
    quantity: int = Field(ge=QUANTITY_MIN, le=QUANTITY_MAX)
    guest: Guest
    locale: Lang | None = None


class WaitlistIn(Body):
    quantity: int = Field(ge=QUANTITY_MIN, le=QUANTITY_MAX)
    guest: Guest
    locale: Lang | None = None


def _providers(schema: dict) -> None:
    # The model takes any name, so that the service answers an unknown or switched-off one
    # with its own message (422 on "provider"); the document names the gateways there are.
    schema["enum"] = list(service.gateways.PROVIDERS)


class PaymentIn(Body):
    provider: str = Field(min_length=1, max_length=PROVIDER_MAX, json_schema_extra=_providers)
    sandbox_outcome: Literal["pay", "fail"] = "pay"
    email: KnownEmail | None = None


class CancelIn(Body):
    email: KnownEmail | None = Field(default=None, description="the booking's email: required "
                                   "unless the booker is signed in (422 otherwise)")


class LookupIn(Body):
    email: KnownEmail


class CheckInIn(Body):
    reference: str = Field(min_length=1, max_length=REFERENCE_MAX)


def _a_day(schema: dict) -> None:
    # read by service.parse_day, which also gives the range's 422 (with its own message)
    schema["format"] = "date"
    del schema["default"]


class ListingsQuery(Query):
    kind: Literal[("", *KINDS)] = Field(default="", description="only listings of this kind (empty: all)")
    area: str = Field(default="", description="an area's code as in a listing's `area` (e.g. ttukseom) or its "
                                              "name in any language (뚝섬, Ttukseom, 纛岛); one that names no "
                                              "area finds nothing (empty: all)")
    date: str = Field(default="", json_schema_extra=_a_day, description=(
        f"listings with a slot on this day (YYYY-MM-DD, Asia/Seoul), from {DAY_MIN} to "
        f"{DAY_YEARS_AHEAD} years ahead (422 otherwise; empty: any day)"))
    q: str = Field(default="", description="words in a listing's name, texts or area, in any language")
    cursor: str = Field(default="", description="next_cursor of the previous page (empty: the first page)")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class CallbackIn(BaseModel):
    """A gateway's callback, as the sandbox gateway sends it. The service checks the signature
    over the raw body (X-Sandbox-Signature: HMAC-SHA256 under TOURISM_SANDBOX_SECRET) before it
    reads these fields (``service.gateways``): this model describes them for the document."""

    payment_id: str = Field(max_length=GATEWAY_ID_MAX)
    status: Literal["paid", "failed"]
    amount: int = Field(description="whole won; must be the payment's amount (422 amount_mismatch)")
    transaction_id: str = Field(default="", max_length=GATEWAY_ID_MAX)


# --- answers ------------------------------------------------------------------------------------


class Out(BaseModel):
    """An answer's shape: every key required, none other allowed (the schema test relies on it)."""

    model_config = ConfigDict(extra="forbid")


class MoneyOut(Out):
    amount: int
    currency: Literal["KRW"]


class CancellationOut(Out):
    free_until_hours_before: int
    late_refund_percent: int


class ListingOut(Out):
    id: int
    kind: Literal[KINDS]
    area: str = Field(description="the area's code in the places table, the value for ?area= (same in "
                                  "every language; empty: no area)")
    area_name: str = Field(description="the area's name in the served language, from the places table "
                           "(falls back like the other texts)")
    name: str
    description: str
    address: str
    policy: str
    lang: Lang | None = Field(description="language actually served")
    cancellation: CancellationOut
    missing_locales: list[Lang]


def listing_json(listing: Listing, lang: str) -> dict:
    name, served = service.text(listing, "name", lang)
    out = {"id": listing.id, "kind": listing.kind, "area": listing.area, "name": name, "lang": served}
    for field in ("description", "address", "policy"):
        out[field], _served = service.text(listing, field, served or lang)
    # `area` is the code to filter by (?area=); `area_name` the places table's name of it in the
    # served language (falling back like every text).
    out["area_name"], _served = service.area_name(listing, served or lang)
    out["cancellation"] = {"free_until_hours_before": listing.free_cancel_hours,
                           "late_refund_percent": listing.late_refund_percent}
    out["missing_locales"] = service.missing_translations(listing)
    return out


class ListingsOut(Out):
    items: list[ListingOut]
    next_cursor: str | None


def listings_json(listings: list[Listing], next_cursor: str | None, lang: str) -> dict:
    return {"items": [listing_json(listing, lang) for listing in listings], "next_cursor": next_cursor}


class SlotOut(Out):
    id: int
    starts_at: datetime
    capacity: int
    available: int = Field(description="seats left (unpaid holds whose time is up count as free)")
    price: MoneyOut


def slot_json(slot: Slot) -> dict:
    return {"id": slot.id, "starts_at": iso(slot.starts_at), "capacity": slot.capacity,
            "available": service.available(slot), "price": money(slot.price)}


class ListingWithSlotsOut(ListingOut):
    slots: list[SlotOut]


def listing_with_slots_json(listing: Listing, slots: list[Slot], lang: str) -> dict:
    out = listing_json(listing, lang)
    out["slots"] = [slot_json(slot) for slot in slots]
    return out


class BookingListingOut(Out):
    id: int
    kind: Literal[KINDS]
    name: str
    lang: Lang | None


class BookingPaymentOut(Out):
    provider: str
    status: Literal[PAYMENT_STATUSES]
    amount: MoneyOut
    refunded: MoneyOut


class BookingLinksOut(Out):
    page: str
    ics: str
    qr: str


class BookingOut(Out):
    reference: str
    status: Literal[BOOKING_STATUSES]
    hold_expires_at: datetime | None
    total: MoneyOut
    quantity: int
    locale: Lang
    slot: SlotOut
    listing: BookingListingOut
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    refund: MoneyOut
    payment: BookingPaymentOut | None = Field(description="the latest payment")
    links: BookingLinksOut


def booking_json(booking: Booking, lang: str) -> dict:
    slot = booking.slot
    name, served = service.text(slot.listing, "name", lang)
    payment = booking.payments[-1] if booking.payments else None
    path = service.booking_path(booking)
    status = service.status_now(booking)
    return {
        "reference": booking.reference,
        "status": status,
        "hold_expires_at": iso(booking.hold_expires_at) if status == "held" else None,
        "total": money(booking.total),
        "quantity": booking.quantity,
        "locale": booking.locale,
        "slot": slot_json(slot),
        "listing": {"id": slot.listing_id, "kind": slot.listing.kind, "name": name, "lang": served},
        "confirmed_at": iso(booking.confirmed_at),
        "cancelled_at": iso(booking.cancelled_at),
        "checked_in_at": iso(booking.checked_in_at),
        "refund": money(booking.refund_amount or 0),
        "payment": ({"provider": payment.provider, "status": payment.status,
                     "amount": money(payment.amount), "refunded": money(payment.refunded_amount)}
                    if payment else None),
        "links": {"page": path, "ics": path + ".ics", "qr": path + "/qr.svg"},
    }


class WaitlistEntryOut(Out):
    id: int
    slot_id: int
    quantity: int
    status: Literal[WAITLIST_STATUSES]


def waitlist_entry_json(entry) -> dict:
    return {"id": entry.id, "slot_id": entry.slot_id, "quantity": entry.quantity, "status": entry.status}


class CallbackOut(Out):
    payment_id: str
    status: Literal[PAYMENT_STATUSES]


def callback_json(payment: Payment) -> dict:
    return {"payment_id": payment.public_id, "status": payment.status}
