"""The booking form: who, with whom, what, when (the location's wall clock) and where.

The form checks what it can see (the choices belong to the current location,
the patient exists and is not archived, the time exists on the location's
clock); everything about the slot itself is the booking service's to decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

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
    patient = forms.CharField(
        label="Patient record number",
        max_length=20,
        help_text="As on the patient's record, such as TL000123.",
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
            raise ValidationError(f"No patient has the record number “{number}”.")
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
