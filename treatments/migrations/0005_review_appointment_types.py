"""The 2-week, 3-month and 6-month reviews become appointment types of their own.

Until now every review was booked with one type (the demo's "Two-week review"),
so the calendar, the reminders and the calendar feed called all three that.
On a database that already books reviews, this creates the three types (or
names the clinic's "Two-week review" as the 2-week one) and moves each future
review appointment to its stage's type where the gap since the patient's last
completed session tells which review it is. A fresh database gets the types
from `setup_clinic` instead. Appointment types are the clinic's, not a
location's, so there is one of each.
"""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

# (stage, name, colour, days after the session the review is booked at)
STAGES = [
    ("2_weeks", "2-week review", "#2e7d32", 14),
    ("3_months", "3-month review", "#1b5e20", 91),
    ("6_months", "6-month review", "#33691e", 182),
]
# A booked review counts as a stage's when it starts within this many days of that
# stage's due date (the booking takes the first free slot from the due date on).
MATCH_WINDOW_DAYS = 35
MOVABLE_STATUSES = ["booked", "arrived"]


def stage_types(AppointmentType):
    """The type for each stage, created where missing, modelled on the clinic's review type."""
    reviews = AppointmentType.objects.filter(kind="review")
    model = reviews.order_by("duration_minutes", "pk").first()
    old = reviews.filter(name="Two-week review", review_stage="").first()
    if old is not None and not reviews.filter(review_stage="2_weeks").exists():
        if not AppointmentType.objects.filter(name="2-week review").exists():
            old.name = "2-week review"
        old.review_stage = "2_weeks"
        old.save(update_fields=["name", "review_stage"])
    types = {}
    for stage, name, colour, _days in STAGES:
        found = reviews.filter(review_stage=stage).order_by("pk").first()
        if found is None:
            found = AppointmentType.objects.filter(name=name).first()
            if found is None:
                found = AppointmentType.objects.create(
                    name=name,
                    kind="review",
                    review_stage=stage,
                    duration_minutes=model.duration_minutes,
                    buffer_minutes=model.buffer_minutes,
                    colour=colour,
                    needs_room=model.needs_room,
                    is_active=True,
                )
            elif found.kind == "review" and not found.review_stage:
                found.review_stage = stage
                found.save(update_fields=["review_stage"])
            else:
                continue  # a type of that name is something else: leave this stage alone
        types[stage] = found
    return types


def stage_of(gap):
    """The review stage a review this long after its session is, or None if unclear."""
    for stage, _name, _colour, days in STAGES:
        if timedelta(days=days) <= gap <= timedelta(days=days + MATCH_WINDOW_DAYS):
            return stage
    return None


def split_reviews(apps, schema_editor):
    AppointmentType = apps.get_model("consultations", "AppointmentType")
    Appointment = apps.get_model("consultations", "Appointment")
    TreatmentSession = apps.get_model("treatments", "TreatmentSession")
    if not AppointmentType.objects.filter(kind="review").exists():
        return  # a fresh database: setup_clinic installs the review types
    types = stage_types(AppointmentType)
    future = Appointment.objects.filter(
        appointment_type__kind="review",
        status__in=MOVABLE_STATUSES,
        starts_at__gt=timezone.now(),
    ).order_by("pk")
    for appointment in future:
        session = (
            TreatmentSession.objects.filter(
                patient_id=appointment.patient_id,
                completed_at__isnull=False,
                completed_at__lt=appointment.starts_at,
            )
            .order_by("-completed_at")
            .first()
        )
        if session is None:
            continue
        stage = stage_of(appointment.starts_at - session.completed_at)
        target = types.get(stage)
        if target is not None and target.pk != appointment.appointment_type_id:
            # A type change only: the slot, the times and the blocked span stay as booked.
            Appointment.objects.filter(pk=appointment.pk).update(appointment_type=target)


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0009_appointment_type_review_stage"),
        ("treatments", "0004_adverse_event_serious"),
    ]

    operations = [migrations.RunPython(split_reviews, migrations.RunPython.noop)]
