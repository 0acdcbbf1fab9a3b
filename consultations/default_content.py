"""The appointment types every clinic starts with, the follow-up reviews among them.

Installed by `manage.py setup_clinic` and by the demo loader through the same
function; it creates only the types that are missing (matched by name), so a
manager's later changes to durations or colours are kept.
"""

from __future__ import annotations

from clinic.models import RoomKind
from consultations.models import AppointmentKind, AppointmentType, ReviewStage

# name, kind, minutes, buffer after, colour, needs a room, review stage
DEFAULT_APPOINTMENT_TYPES: list[tuple[str, str, int, int, str, bool, str]] = [
    ("Consultation", AppointmentKind.CONSULTATION, 30, 0, "#1f6f8b", False, ""),
    ("Thread lift", AppointmentKind.TREATMENT, 90, 15, "#8b1f5a", True, ""),
    ("2-week review", AppointmentKind.REVIEW, 20, 0, "#2e7d32", False, ReviewStage.TWO_WEEKS),
    ("3-month review", AppointmentKind.REVIEW, 20, 0, "#1b5e20", False, ReviewStage.THREE_MONTHS),
    ("6-month review", AppointmentKind.REVIEW, 20, 0, "#33691e", False, ReviewStage.SIX_MONTHS),
]


def install_appointment_types() -> int:
    """Create the missing default appointment types; how many were created."""
    created = 0
    for name, kind, minutes, buffer, colour, needs_room, stage in DEFAULT_APPOINTMENT_TYPES:
        if AppointmentType.objects.filter(name=name).exists():
            continue
        if stage and AppointmentType.objects.filter(review_stage=stage).exists():
            continue  # the clinic already has its own type for this review
        appointment_type = AppointmentType(
            name=name,
            kind=kind,
            duration_minutes=minutes,
            buffer_minutes=buffer,
            colour=colour,
            needs_room=needs_room,
            review_stage=stage,
            # A thread lift needs a procedure room; the others may sit in any room.
            room_kind=RoomKind.PROCEDURE
            if kind == AppointmentKind.TREATMENT
            else RoomKind.CONSULTATION,
        )
        appointment_type.full_clean()
        appointment_type.save()
        created += 1
    return created
