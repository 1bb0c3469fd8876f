"""What a booker takes away: the booking as an iCalendar event, the reference as a QR code."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from portal.i18n import pick
from portal.types import utcnow

from ..models import Booking


def _ics_escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _ics_fold(line: str) -> str:
    out, current = [], ""
    for ch in line:
        if len((current + ch).encode()) > 73:
            out.append(current)
            current = " " + ch
        else:
            current += ch
    out.append(current)
    return "\r\n".join(out)


def ics(booking: Booking, duration_minutes: int = 120) -> str:
    """An iCalendar (RFC 5545) event for the booking, in the booker's language."""
    slot = booking.slot
    name, _lang = pick(slot.listing.name, booking.locale)
    address, _lang = pick(slot.listing.address, booking.locale)
    stamp = "%Y%m%dT%H%M%SZ"
    start = slot.starts_at.astimezone(ZoneInfo("UTC"))
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Civic portal//Tourism//EN", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:{booking.reference}@tourism.portal",
        f"DTSTAMP:{utcnow().strftime(stamp)}",
        f"DTSTART:{start.strftime(stamp)}",
        f"DTEND:{(start + timedelta(minutes=duration_minutes)).strftime(stamp)}",
        f"SUMMARY:{_ics_escape(name)} ({booking.reference})",
        f"LOCATION:{_ics_escape(address)}",
        f"DESCRIPTION:{_ics_escape(booking.reference)}",
        "STATUS:" + ("CANCELLED" if booking.status in ("cancelled", "expired") else "CONFIRMED"),
        "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"


def qr_svg(reference: str, *, inline: bool = True) -> str:
    """The reference as a QR code: an <svg> element to put in a page, or a standalone file."""
    import io

    import segno

    code = segno.make(reference, error="m")
    if inline:
        return code.svg_inline(scale=6, border=2, omitsize=True)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=6, border=2)
    return out.getvalue().decode()
