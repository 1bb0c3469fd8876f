"""Tourism pages under /tourism: visitors, the sandbox payment gateway, staff. Parse a form,
call the service, render."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_currency, format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal import idempotency
from portal.errors import DomainError, Invalid
from portal.extensions import db
from portal.i18n import LOCALE_NAMES, LOCALES, current_locale
from portal.types import utcnow

from . import service, settings
from .errors import HoldLimit
from .forms import (
    BookingForm,
    CancelForm,
    CapacityForm,
    CheckInForm,
    ListingForm,
    LookupForm,
    PayForm,
    SandboxForm,
    SlotForm,
    WaitlistForm,
    kind_labels,
)
from .limits import QUANTITY_MAX, QUERY_MAX
from .models import KINDS, TEXT_FIELDS

# Its stylesheet is a file (/tourism/static/tourism.css): the CSP allows no inline style.
bp = Blueprint("tourism", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

REMEMBERED = "tourism_refs"  # references of the bookings this browser made or looked up
LINKS = "tourism_links"  # {reference: token} of the message links this browser followed
LINK_PAGES = ("tourism.booking", "tourism.booking_ics", "tourism.booking_qr")
# the listing form's per-locale fields: `<field>_<locale>`
FORM_TEXT_FIELDS = TEXT_FIELDS
FORM_WAIT_SECONDS = 10  # a resent booking form waits this long for the first one's answer


@bp.context_processor
def _helpers():
    kinds = kind_labels()

    def txt(listing, field):
        return service.text(listing, field)

    return {
        "txt": txt,
        "area_name": service.area_name,
        "when": service.format_when,
        "won": lambda amount: format_currency(amount or 0, "KRW"),
        "kind_label": lambda kind: kinds.get(kind, kind),
        "kinds": kinds,
        "available": service.available,
        "seats_taken": service.seats_taken,
        "booking_status": service.status_now,
        "refund_steps": service.refund_steps,
        "day_label": service.format_day,
        "quantity_max": QUANTITY_MAX,
        "locale_names": LOCALE_NAMES,
        "hold_minutes": settings.HOLD_MINUTES(),
    }


def _remember(reference: str) -> None:
    refs = [r for r in session.get(REMEMBERED, []) if r != reference]
    session[REMEMBERED] = (refs + [reference])[-20:]


def _remembered(reference: str) -> bool:
    """This browser made or looked up the booking, or followed a link from its messages whose
    time is not up."""
    ref = service.normalise_reference(reference)
    return ref in session.get(REMEMBERED, []) or service.token_matches(session.get(LINKS, {}).get(ref), ref)


def _booking(reference: str, *, find=service.find_booking):
    return find(db.session, reference, user=current_user, remembered=_remembered(reference))


@bp.before_request
def _link_token():
    """A message link's ?t= goes into the session and out of the address bar: the same page
    again without it, so the token is in no browser history, Referer or later access log line.
    A token whose time is up sends the guest to the lookup form."""
    token = request.args.get("t")
    if token is None or request.endpoint not in LINK_PAGES:
        return None
    ref = service.normalise_reference((request.view_args or {}).get("reference"))
    if not service.token_matches(token, ref):
        flash(_("This link has expired. Find your booking with its reference and your email."), "error")
        return redirect(url_for("tourism.lookup"))
    links = {r: t for r, t in session.get(LINKS, {}).items() if r != ref}
    session[LINKS] = dict([*links.items(), (ref, token[:200])][-20:])
    lang = request.args.get("lang")
    return redirect(request.path + (f"?lang={lang}" if lang in LOCALES else ""))


INVALID = 422  # a form sent back because of what was typed answers 422, as the API does


def _flash_fields(exc: DomainError) -> None:
    for message in (exc.fields or {}).values():
        flash(str(message), "error")


def _flash_error(exc: DomainError) -> None:
    flash(str(exc.message), "error")
    _flash_fields(exc)


# --- visitors -------------------------------------------------------------------------------

@bp.get("/")
def index():
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    on_date, status = None, 200
    try:
        on_date = service.parse_day(request.args.get("date"))
    except Invalid as exc:  # the listings without the day, and what was wrong with it
        _flash_fields(exc)
        status = INVALID
    area = request.args.get("area") or None
    q = (request.args.get("q") or "").strip()[:QUERY_MAX] or None
    listings = service.search_listings(db.session, kind=kind, area=area, q=q, on_date=on_date)
    summary = service.slot_summary(db.session, [item.id for item in listings])
    return render_template("tourism/index.html", listings=listings, summary=summary, kind=kind,
                           on_date=on_date, area=area, area_code=service.area_code(area), q=q,
                           areas=service.areas(db.session, current_locale())), status


@bp.get("/listings/<int:listing_id>")
def listing(listing_id: int):
    """A listing and one day's slots (?date=, else its first day with slots), with the days
    that have slots: a listing with many slots is browsed by day."""
    item = service.listings.get_listing_card(db.session, listing_id)
    status = 200
    try:
        day = service.parse_day(request.args.get("date"))
    except Invalid as exc:  # the first day instead, and what was wrong with the one asked
        _flash_fields(exc)
        day, status = None, INVALID
    days = service.slot_days(db.session, item)
    if day is None and days:
        day = days[0][0]
    slots = service.day_slots(db.session, item, day) if day else []
    dates = [d for d, _count in days]
    earlier = [d for d in dates if day and d < day]
    later = [d for d in dates if day and d > day]
    return render_template("tourism/listing.html", listing=item, slots=slots, day=day, days=days,
                           previous_day=earlier[-1] if earlier else None,
                           next_day=later[0] if later else None), status


def _guest_form(form_cls, slot):
    form = form_cls()
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data = form.name.data or current_user.name
        form.email.data = form.email.data or current_user.email
        form.phone.data = form.phone.data or getattr(current_user, "phone", None)
    return form


def _form_key() -> str:
    """The booking form's own idempotency key (one per rendered form), or a new one."""
    key = request.form.get("idempotency_key")
    return key if idempotency.valid_key(key) else uuid.uuid4().hex


def _hold_by_form(form: BookingForm, slot_id: int, key: str) -> str:
    """Hold seats as the booking form asks; returns the booking's reference.

    One booking per rendered form (a double click, a resent form): its key is the caller's
    (portal.idempotency), bound to what the form says. A second submission waits for the first
    and answers with its booking; the same key with other details is 422 idempotency_key_reused.
    """
    details = {"name": form.name.data, "email": form.email.data, "phone": form.phone.data,
               "quantity": form.quantity.data}
    outcome = idempotency.begin(db.session, idempotency.caller_scope(current_user), "form:" + key,
                                idempotency.fingerprint("POST", request.path, details),
                                wait=FORM_WAIT_SECONDS)
    if isinstance(outcome, idempotency.Replay):
        return json.loads(outcome.body)["reference"]
    try:
        booking, _created = service.create_booking(
            db.session, user=current_user, slot_id=slot_id, quantity=form.quantity.data,
            name=form.name.data, email=form.email.data, phone=form.phone.data,
            locale=current_locale(), idempotency_key=outcome.token, client=request.remote_addr)
    except BaseException:
        idempotency.release(db.session, outcome)
        raise
    idempotency.finish(db.session, outcome, 303, json.dumps({"reference": booking.reference}))
    return booking.reference


@bp.route("/slots/<int:slot_id>/book", methods=["GET", "POST"])
def book(slot_id: int):
    slot = service.get_slot(db.session, slot_id)
    form = _guest_form(BookingForm, slot)
    key = _form_key()
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            reference = _hold_by_form(form, slot_id, key)
        except HoldLimit as exc:  # the form again, as typed
            _flash_error(exc)
            status, headers = exc.status, {"Retry-After": str(exc.retry_after)}
        except idempotency.KeyReused as exc:  # sent before with other details: a new form
            _flash_error(exc)
            status, key = exc.status, uuid.uuid4().hex
        except DomainError as exc:
            slot = service.reread_slot(db.session, slot)
            left = service.available(slot)
            if exc.code == "sold_out" and left == 0:  # really sold out: the waiting list
                _flash_error(exc)
                return redirect(url_for("tourism.waitlist", slot_id=slot_id))
            if exc.code == "sold_out":  # fewer left than asked: the form again, as typed
                flash(ngettext("Only %(num)d place is left for this time.",
                               "Only %(num)d places are left for this time.", left), "error")
                form.quantity.errors = [*form.quantity.errors,
                                        _("Choose between 1 and %(n)d seats.", n=min(left, QUANTITY_MAX))]
                status = INVALID
            else:
                _flash_error(exc)
                status = exc.status
        else:
            _remember(reference)
            return redirect(url_for("tourism.booking", reference=reference))
    elif form.is_submitted():
        status = INVALID
    slot = service.reread_slot(db.session, slot)
    return render_template("tourism/book.html", slot=slot, listing=slot.listing, form=form, key=key), \
        status, headers


@bp.route("/slots/<int:slot_id>/waitlist", methods=["GET", "POST"])
def waitlist(slot_id: int):
    slot = service.get_slot(db.session, slot_id)
    form = _guest_form(WaitlistForm, slot)
    status = 200
    if form.validate_on_submit():
        try:
            service.join_waitlist(db.session, user=current_user, slot_id=slot_id,
                                  quantity=form.quantity.data, name=form.name.data,
                                  email=form.email.data, phone=form.phone.data, locale=current_locale())
        except DomainError as exc:
            _flash_error(exc)
            if exc.code == "seats_available":
                return redirect(url_for("tourism.book", slot_id=slot_id))
            status = exc.status
        else:
            flash(_("You are on the waiting list. If seats free up, we will hold them for you and "
                    "send you an email."), "success")
            return redirect(url_for("tourism.listing", listing_id=slot.listing_id))
    elif form.is_submitted():
        status = INVALID
    return render_template("tourism/waitlist.html", slot=slot, listing=slot.listing, form=form), status


@bp.get("/bookings/<reference>")
def booking(reference: str):
    item = _booking(reference, find=service.read_booking)
    qr = Markup(service.qr_svg(item.reference)) if item.status == "confirmed" else None  # noqa: S704 - segno's SVG
    return render_template("tourism/booking.html", booking=item, slot=item.slot, listing=item.slot.listing,
                           pay_form=PayForm(), qr=qr, payment=service.paid_payment(item),
                           confirmation=service.confirmation_state(db.session, item))


@bp.post("/bookings/<reference>/pay")
def pay(reference: str):
    item = _booking(reference)
    form = PayForm()
    if form.validate_on_submit():
        try:
            _payment, url = service.start_payment(db.session, item.reference, "sandbox", user=current_user)
        except DomainError as exc:
            _flash_error(exc)
        else:
            return redirect(url)
    return redirect(url_for("tourism.booking", reference=item.reference))


def _cancel_page(item, form: CancelForm, now: datetime, status: int = 200):
    refund = service.refund_now(item, now)
    form.refund.data = refund
    return render_template("tourism/cancel.html", booking=item, slot=item.slot, listing=item.slot.listing,
                           form=form, refund=refund, paid=service.paid_amount(item),
                           status=service.status_now(item, now), now=now), status


@bp.route("/bookings/<reference>/cancel", methods=["GET", "POST"])
def cancel(reference: str):
    """GET: what cancelling gives back, and a button to confirm. POST (CSRF): cancel, when the
    refund the page stated still holds (a deadline may pass while it is open); else the page
    again with the new amount (409)."""
    now = utcnow()
    if request.method == "GET":
        item = _booking(reference, find=service.read_booking)
        if service.status_now(item, now) not in ("held", "confirmed") or item.slot.starts_at <= now:
            return redirect(url_for("tourism.booking", reference=item.reference))
        return _cancel_page(item, CancelForm(), now)
    item = _booking(reference)
    form = CancelForm()
    if form.validate_on_submit():
        stated = form.refund.data
        if stated is not None and item.status in ("held", "confirmed") and stated != service.refund_now(item, now):
            flash(_("What a cancellation gives back has changed since the page was shown. "
                    "Check the amount below before you confirm."), "error")
            return _cancel_page(item, CancelForm(formdata=None), now, 409)
        try:
            item = service.cancel_booking(db.session, item.reference, user=current_user, remembered=True, now=now)
        except DomainError as exc:
            _flash_error(exc)
        else:
            flash(_("Your booking is cancelled. Refund: %(amount)s.",
                    amount=format_currency(item.refund_amount or 0, "KRW")), "success")
    return redirect(url_for("tourism.booking", reference=item.reference))


@bp.get("/bookings/<reference>.ics")
def booking_ics(reference: str):
    item = _booking(reference)
    return Response(service.ics(item), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{item.reference}.ics"'})


@bp.get("/bookings/<reference>/qr.svg")
def booking_qr(reference: str):
    item = _booking(reference)
    return Response(service.qr_svg(item.reference, inline=False), mimetype="image/svg+xml")


@bp.route("/lookup", methods=["GET", "POST"])
def lookup():
    form = LookupForm()
    status = 200
    if form.validate_on_submit():
        try:
            item = service.find_booking(db.session, form.reference.data, email=form.email.data)
        except DomainError as exc:
            _flash_error(exc)
        else:
            _remember(item.reference)
            return redirect(url_for("tourism.booking", reference=item.reference))
    elif form.is_submitted():
        status = INVALID
    return render_template("tourism/lookup.html", form=form), status


# --- the sandbox payment gateway ------------------------------------------------------------

@bp.route("/sandbox/pay/<payment_id>", methods=["GET", "POST"])
def sandbox_pay(payment_id: str):
    payment = service.get_payment(db.session, payment_id)
    form = SandboxForm()
    if form.validate_on_submit():
        outcome = "pay" if form.pay.data else "fail"
        try:
            payment = service.sandbox_complete(db.session, payment_id, outcome)
        except DomainError as exc:
            _flash_error(exc)
        else:
            if payment.status == "failed":
                flash(_("The payment was declined. You can try again while your seats are held."), "error")
            elif payment.status == "refunded":
                flash(_("The hold had ended and the seats were gone, so the payment was refunded in full."),
                      "error")
        return redirect(url_for("tourism.booking", reference=payment.booking.reference))
    return render_template("tourism/sandbox_pay.html", payment=payment, booking=payment.booking, form=form)


# --- staff ----------------------------------------------------------------------------------

@bp.get("/staff/")
def staff_listings():
    rows = service.staff_listings(db.session, current_user)
    return render_template("tourism/staff/listings.html", rows=rows)


def _listing_data(form: ListingForm) -> dict:
    data = {"kind": form.kind.data, "area": form.area.data,
            "free_cancel_hours": form.free_cancel_hours.data,
            "late_refund_percent": form.late_refund_percent.data, "active": form.active.data}
    for field in FORM_TEXT_FIELDS:
        data[field] = {code: getattr(form, f"{field}_{code}").data or "" for code in LOCALES}
    return data


def _text_fields(form: ListingForm):
    return [(field, [getattr(form, f"{field}_{code}") for code in LOCALES]) for field in TEXT_FIELDS]


@bp.route("/staff/listings/new", methods=["GET", "POST"], defaults={"listing_id": None})
@bp.route("/staff/listings/<int:listing_id>/edit", methods=["GET", "POST"])
def staff_listing_edit(listing_id: int | None):
    service.require_staff(current_user)
    item = service.get_listing(db.session, listing_id, include_inactive=True) if listing_id else None
    form = ListingForm(obj=item)
    if request.method == "GET" and item is not None:
        for field in FORM_TEXT_FIELDS:
            for code in LOCALES:
                getattr(form, f"{field}_{code}").data = (getattr(item, field) or {}).get(code, "")
    status = 200
    if form.validate_on_submit():
        try:
            item = service.save_listing(db.session, current_user, _listing_data(form), listing_id)
        except Invalid as exc:
            _flash_error(exc)
            status = exc.status
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("tourism.staff_slots", listing_id=item.id))
    elif form.is_submitted():
        status = INVALID
    return render_template("tourism/staff/listing_form.html", form=form, listing=item,
                           text_fields=_text_fields(form),
                           missing=service.missing_translations(item) if item else list(LOCALES)), status


@bp.route("/staff/listings/<int:listing_id>/slots", methods=["GET", "POST"])
def staff_slots(listing_id: int):
    service.require_staff(current_user)
    item = service.get_listing(db.session, listing_id, include_inactive=True)
    form = SlotForm()
    status = 200
    if form.validate_on_submit():
        starts_at = form.starts_at.data.replace(tzinfo=service.SEOUL)  # the page's time is Korea's
        try:
            service.add_slot(db.session, current_user, listing_id, starts_at=starts_at,
                             capacity=form.capacity.data, price=form.price.data)
        except Invalid as exc:
            _flash_error(exc)
            status = exc.status
        else:
            flash(_("Time slot added."), "success")
            return redirect(url_for("tourism.staff_slots", listing_id=listing_id))
    elif form.is_submitted():
        status = INVALID
    slots = service.upcoming_slots(db.session, item, now=utcnow() - timedelta(days=7), limit=200)
    return render_template("tourism/staff/slots.html", listing=item, slots=slots, form=form), status


@bp.get("/staff/slots/<int:slot_id>")
def staff_slot(slot_id: int, capacity_form: CapacityForm | None = None):
    slot, bookings, waiting = service.slot_bookings(db.session, current_user, slot_id)
    return render_template("tourism/staff/slot.html", slot=slot, listing=slot.listing, bookings=bookings,
                           waiting=waiting, capacity_form=capacity_form or CapacityForm(capacity=slot.capacity),
                           checkin_form=CheckInForm())


@bp.post("/staff/slots/<int:slot_id>/capacity")
def staff_capacity(slot_id: int):
    service.require_staff(current_user)
    form = CapacityForm()
    if not form.validate_on_submit():  # not a capacity (say, beyond CAPACITY_MAX): the page, 422
        return staff_slot(slot_id, capacity_form=form), INVALID
    try:
        service.set_capacity(db.session, current_user, slot_id, form.capacity.data)
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(_("Capacity changed."), "success")
    return redirect(url_for("tourism.staff_slot", slot_id=slot_id))


@bp.post("/staff/slots/<int:slot_id>/check-in")
def staff_check_in(slot_id: int):
    service.require_staff(current_user)
    form = CheckInForm()
    if form.validate_on_submit():
        try:
            item = service.check_in(db.session, current_user, slot_id, form.reference.data)
        except DomainError as exc:
            _flash_error(exc)
        else:
            flash(_("Checked in: %(reference)s (%(seats)d seats).", reference=item.reference,
                    seats=item.quantity), "success")
    return redirect(url_for("tourism.staff_slot", slot_id=slot_id))


@bp.get("/staff/reports")
def staff_reports():
    service.require_staff(current_user)
    today = datetime.now(service.SEOUL).date()
    # 422 (a translated page) for a day that is not one or lies outside the days the portal books
    start = service.parse_day(request.args.get("start"), "start") or today - timedelta(days=30)
    end = service.parse_day(request.args.get("end"), "end") or today + timedelta(days=60)
    if end < start:
        start, end = end, start
    rows = service.report(db.session, current_user, start=start, end=end)
    totals = {"bookings": sum(r["bookings"] for r in rows), "seats": sum(r["seats"] for r in rows),
              "cancelled": sum(r["cancelled"] for r in rows), "revenue": sum(r["revenue"] for r in rows)}
    return render_template("tourism/staff/report.html", rows=rows, start=start, end=end, totals=totals,
                           format_date=format_date)
