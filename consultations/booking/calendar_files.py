"""iCalendar (RFC 5545) files: one appointment to download, and a practitioner's feed.

Written by hand: the format is small, and what matters is done here on purpose:
CRLF line endings, lines folded at 75 octets (never inside a UTF-8 character),
TEXT values escaped, and every time in UTC with a trailing Z, so calendar apps
need no time-zone definitions and show each appointment at the right instant.

The feed is fetched by calendar apps outside the clinic, so its events name
the appointment type and the room only: never the patient, their record
number or anything clinical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from consultations.models import Appointment, AppointmentStatus

PRODUCT_ID = "-//Threadline//Threadline appointments//EN"
UID_DOMAIN = "threadline"
MAX_LINE_OCTETS = 75
CRLF = "\r\n"


@dataclass(frozen=True)
class CalendarEvent:
    """One VEVENT; the times are aware datetimes (written in UTC)."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str = ""
    description: str = ""
    cancelled: bool = False


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\n", "\\n")


def fold_line(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets (§3.1), joined by CRLF + space."""
    pieces: list[str] = []
    current, size = "", 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            # A continuation line starts with one space, which counts toward its 75.
            current, size, limit = "", 0, MAX_LINE_OCTETS - 1
        current += char
        size += width
    pieces.append(current)
    return (CRLF + " ").join(pieces)


def utc_stamp(moment: datetime) -> str:
    """A DATE-TIME in UTC form: 20260301T093000Z."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(event: CalendarEvent, stamp: str) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc_stamp(event.starts_at)}",
        f"DTEND:{utc_stamp(event.ends_at)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    lines.append(f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}")
    lines.append("TRANSP:OPAQUE")
    lines.append("END:VEVENT")
    return lines


def build_calendar(
    events: Iterable[CalendarEvent], *, name: str = "", now: datetime | None = None
) -> str:
    """A whole VCALENDAR as text (encode it as UTF-8 to send it)."""
    stamp = utc_stamp(now or timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    for event in events:
        lines.extend(_event_lines(event, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + CRLF for line in lines)


def appointment_uid(appointment: Appointment) -> str:
    """The same for an appointment however often it is exported or moved."""
    return f"appointment-{appointment.pk}@{UID_DOMAIN}"


def location_text(appointment: Appointment) -> str:
    """The clinic location's name and address, on one line."""
    location = appointment.location
    address = ", ".join(part.strip() for part in location.address.splitlines() if part.strip())
    return f"{location.name}, {address}" if address else location.name


def appointment_event(appointment: Appointment) -> CalendarEvent:
    """The event for the downloaded file: staff only, so it may name the patient.

    Needs the appointment's patient, type, practitioner (with user), room and location.
    """
    summary = f"{appointment.appointment_type.name}: {appointment.booked_patient.full_name}"
    details = [f"With {appointment.practitioner}"]
    if appointment.room is not None:
        details.append(f"Room: {appointment.room.name}")
    if appointment.status == AppointmentStatus.CANCELLED and appointment.cancel_reason:
        details.append(f"Cancelled: {appointment.cancel_reason}")
    return CalendarEvent(
        uid=appointment_uid(appointment),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        summary=summary,
        location=location_text(appointment),
        description="\n".join(details),
        cancelled=appointment.status == AppointmentStatus.CANCELLED,
    )


def feed_event(appointment: Appointment) -> CalendarEvent:
    """The event for the subscribed feed: the type and the room, nothing about the patient.

    Needs the appointment's type, room and location.
    """
    summary = appointment.appointment_type.name
    if appointment.room is not None:
        summary = f"{summary} · {appointment.room.name}"
    return CalendarEvent(
        uid=appointment_uid(appointment),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        summary=summary,
        location=location_text(appointment),
        cancelled=appointment.status == AppointmentStatus.CANCELLED,
    )


def patient_event(appointment: Appointment) -> CalendarEvent:
    """The event sent to the patient: their appointment, where and with whom.

    Needs the appointment's type, practitioner (with user) and location.
    """
    return CalendarEvent(
        uid=appointment_uid(appointment),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        summary=f"{appointment.appointment_type.name} at {appointment.location.name}",
        location=location_text(appointment),
        description=f"With {appointment.practitioner}\nPhone: {appointment.location.phone}",
    )


def patient_file(appointment: Appointment) -> str:
    """The .ics attached to the patient's confirmation email."""
    return build_calendar([patient_event(appointment)])


def appointment_file(appointment: Appointment) -> str:
    """The .ics for one appointment."""
    return build_calendar([appointment_event(appointment)])


def feed_file(appointments: Iterable[Appointment]) -> str:
    """The practitioner's feed: a calendar of anonymous events."""
    return build_calendar(
        (feed_event(appointment) for appointment in appointments), name="Threadline"
    )
