"""The booking form: who, with whom, what, when (the location's wall clock) and where.

The form checks what it can see (the choices belong to the current location,
the patient exists and is not archived, the time exists on the location's
clock); everything about the slot itself is the booking service's to decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from clinic.access import AnyUser
from clinic.form_fields import declared_field
from clinic.models import Location, Room, StaffMember
from consultations.models import AppointmentKind, AppointmentType, Patient

LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
MAX_INPUT_LENGTH = 40
MAX_MOVE_BODY_BYTES = 10 * 1024
MOVE_KEYS = {"starts_at", "practitioner", "room"}


def parse_local(value: str) -> datetime | None:
    """A naive wall-clock datetime typed as 2026-12-01T10:15, or None."""
    value = (value or "").strip()
    if not value or len(value) > MAX_INPUT_LENGTH:
        return None
    for fmt in LOCAL_INPUT_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def make_local(naive: datetime, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time names at a location; ValidationError if the clock skips it.

    A time the clock shows twice (the hour before the autumn change) is the first of the two.
    """
    aware = naive.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValidationError(
            f"{naive:%H:%M} does not exist on {naive:%d %b %Y} here: the clocks go forward."
        )
    return aware


def local_iso(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def default_appointment_type() -> AppointmentType | None:
    """The first active consultation type, else the first active type."""
    active = AppointmentType.objects.filter(is_active=True)
    return active.filter(kind=AppointmentKind.CONSULTATION).first() or active.first()


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: StaffMember) -> str:
        return str(obj)


class RoomChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Room) -> str:
        # The kind beside the name: a procedure can be booked only into a procedure room.
        return f"{obj.name} · {obj.get_kind_display().lower()}"


class LocalDateTimeField(forms.Field):
    """A date and time as the location's wall clock shows it; cleans to a naive datetime.

    The form makes it an instant with the location's zone: never the server's.
    """

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 900})
    default_error_messages = {
        "invalid": "Enter a date and time such as 2026-12-01 10:15.",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        parsed = parse_local(str(value))
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed

    def prepare_value(self, value):
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M")
        return value


class BookingForm(forms.Form):
    # Without JavaScript this is a plain record-number box; static/js/patient-picker.js
    # turns it into a type-ahead over the patient search that still submits the number.
    patient = forms.CharField(
        label="Patient",
        max_length=100,
        help_text="Type part of a name, a record number (such as TL000123), a date of birth "
        "or a phone number, then choose the patient from the list.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    practitioner = PractitionerChoiceField(
        queryset=StaffMember.objects.none(), empty_label="Choose a practitioner"
    )
    appointment_type = forms.ModelChoiceField(
        label="Appointment type",
        queryset=AppointmentType.objects.none(),
        empty_label="Choose a type",
    )
    starts_at = LocalDateTimeField(label="Date and time")
    room = RoomChoiceField(
        queryset=Room.objects.none(),
        required=False,
        empty_label="Any suitable free room (if the type needs one)",
    )
    notes = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Seen by the clinic only.",
    )

    def __init__(self, *args, location: Location, **kwargs):
        super().__init__(*args, **kwargs)
        self.location = location
        declared_field(
            self, "practitioner", forms.ModelChoiceField
        ).queryset = StaffMember.objects.practitioners_at(location)
        declared_field(
            self, "appointment_type", forms.ModelChoiceField
        ).queryset = AppointmentType.objects.filter(is_active=True)
        declared_field(self, "room", forms.ModelChoiceField).queryset = Room.objects.filter(
            location=location, is_active=True
        ).order_by("name")
        # Crispy renders help text unescaped: the location's name goes through format_html.
        self.fields["starts_at"].help_text = format_html(
            "Local time at {} ({}).", location.name, location.time_zone
        )

    def clean_patient(self) -> Patient:
        number = self.cleaned_data["patient"].strip().upper()
        patient = Patient.objects.filter(record_number=number).first()
        if patient is None:
            raise ValidationError(
                f"No patient has the record number “{number}”: choose the patient from the "
                "list as you type, or type their record number, such as TL000123."
            )
        if patient.is_archived:
            raise ValidationError(
                f"{patient.full_name}'s record is archived: restore it before booking."
            )
        return patient

    def clean_starts_at(self) -> datetime:
        return make_local(self.cleaned_data["starts_at"], self.location.zone)

    def booking_arguments(self) -> dict:
        """The keyword arguments for booking.book_appointment (after is_valid())."""
        data = self.cleaned_data
        return {
            "patient": data["patient"],
            "practitioner": data["practitioner"],
            "location": self.location,
            "appointment_type": data["appointment_type"],
            "starts_at": data["starts_at"],
            "room": data.get("room"),
            "notes": data.get("notes", ""),
        }


# -- a prefilled booking form (calendar links, "Book" on a chart, back from registration) ----

# The query parameters that carry a chosen slot.
SLOT_PARAMETERS = ("location", "practitioner", "start", "type", "room")


@dataclass
class Prefill:
    """What a booking link asks for, checked: the form's initial values, and what was wrong."""

    initial: dict = field(default_factory=dict)
    patient: Patient | None = None
    slot: dict[str, str] = field(default_factory=dict)  # the valid slot parameters, as text
    problems: list[str] = field(default_factory=list)


def _pick_id(queryset, value: str):
    """The object of `queryset` whose pk is `value` (text from a request), else None."""
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    return queryset.filter(pk=int(value)).first()


def booking_prefill(
    params: Mapping[str, str], *, location: Location, user: AnyUser, with_patient: bool = True
) -> Prefill:
    """Read ?location=&practitioner=&start=&type=&room=&patient= as a booking link carries them.

    Each value is checked against what may be booked here; a wrong one is left out
    and named in `problems` (a link typed by hand, or tampered with), never trusted.
    """
    found = Prefill()
    values = {name: str(params.get(name) or "").strip() for name in (*SLOT_PARAMETERS, "patient")}
    if values["location"]:
        if values["location"] == str(location.pk):
            found.slot["location"] = values["location"]
        else:
            found.problems.append(
                f"The link was made for another location: this form books at {location.name}."
            )
    if values["start"]:
        start = parse_local(values["start"])
        if start is None:
            found.problems.append("The date and time in the link is not valid.")
        else:
            found.initial["starts_at"] = found.slot["start"] = start.strftime("%Y-%m-%dT%H:%M")
    # parameter: (form field, where its id must be found, what to say when it is not)
    by_id = {
        "practitioner": (
            "practitioner",
            StaffMember.objects.practitioners_at(location),
            f"The practitioner in the link does not work at {location.name}.",
        ),
        "room": (
            "room",
            Room.objects.filter(location=location, is_active=True),
            f"The room in the link is not in use at {location.name}.",
        ),
        "type": (
            "appointment_type",
            AppointmentType.objects.filter(is_active=True),
            "The appointment type in the link is not valid.",
        ),
    }
    if with_patient:
        by_id["patient"] = (
            "patient",
            Patient.objects.for_user(user).filter(is_archived=False),
            "The patient in the link was not found, or is archived.",
        )
    for parameter, (name, queryset, problem) in by_id.items():
        if not values[parameter]:
            continue
        chosen = _pick_id(queryset, values[parameter])
        if chosen is None:
            found.problems.append(problem)
        elif parameter == "patient":
            found.patient = chosen
            found.initial["patient"] = chosen.record_number
        else:
            found.initial[name] = chosen.pk
            found.slot[parameter] = str(chosen.pk)
    if "appointment_type" not in found.initial and (kind := default_appointment_type()):
        found.initial["appointment_type"] = kind.pk
    return found


# -- the calendar's move request (JSON) -----------------------------------------------------


class BadMove(ValueError):
    """The move request itself is wrong; the message says how (answered with 400)."""


@dataclass(frozen=True)
class MoveRequest:
    starts_at: datetime  # naive: the location's wall clock
    practitioner_id: int | None
    room_id: int | None


def _optional_id(payload: dict, key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadMove(f"“{key}” must be an id (a whole number).")
    return value


def parse_move(payload: dict) -> MoveRequest:
    """{"starts_at": "2026-12-01T10:15", "practitioner": id, "room": id}, or BadMove."""
    unknown = sorted(set(payload) - MOVE_KEYS)
    if unknown:
        raise BadMove(f"Unknown field: {', '.join(unknown)}.")
    text = payload.get("starts_at")
    starts_at = parse_local(text) if isinstance(text, str) else None
    if starts_at is None:
        raise BadMove("“starts_at” must be a local date and time such as 2026-12-01T10:15.")
    return MoveRequest(
        starts_at=starts_at,
        practitioner_id=_optional_id(payload, "practitioner"),
        room_id=_optional_id(payload, "room"),
    )
