"""Read-side queries about patients: search, duplicate look-up, the chart timeline, and
the bookings the home pages point at."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import and_, or_
from typing import TypeVar

import phonenumbers
from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from clinic.access import AnyUser
from clinic.models import Location, StaffMember
from consultations.booking.reminders import reminder_channels
from consultations.booking.services import day_bounds
from consultations.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    MedicalHistory,
    OnlineBookingRequest,
    Patient,
    Screening,
)
from consultations.name_folding import query_words, spellings

SEARCH_LIMIT = 25
RECORD_NUMBER_RE = re.compile(r"^[A-Za-z]{2}\d{1,10}$")
PHONE_RE = re.compile(r"^[\d\s()+.\-/]{4,30}$")

DAY_FIRST_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y"]
MONTH_FIRST_FORMATS = ["%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%m/%d/%y"]


def parse_typed_date(text: str, location: Location | None) -> date | None:
    """A date typed the way people write dates at this location, or ISO 8601."""
    formats = ["%Y-%m-%d"]
    formats += (
        MONTH_FIRST_FORMATS if location and location.writes_month_first else DAY_FIRST_FORMATS
    )
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def phone_search_digits(text: str, location: Location | None) -> set[str]:
    """Digit strings to look for in stored E.164 numbers, however the number was typed."""
    digits = "".join(ch for ch in text if ch.isdigit())
    candidates = {digits.lstrip("0")} if len(digits.lstrip("0")) >= 4 else set()
    region = location.country if location else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return candidates
    if phonenumbers.is_possible_number(number):
        candidates.add(f"{number.country_code}{number.national_number}")
    return candidates


def recent_first(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    # The patient_recent_first index is in this order: keep the two together.
    return patients.order_by(F("last_visit_at").desc(nulls_last=True), "-created_at", "-pk")


def search_patients(
    *,
    query: str,
    location: Location | None = None,
    include_archived: bool = False,
    limit: int = SEARCH_LIMIT,
) -> list[Patient]:
    """Patients matching what the front desk typed, newest visit first, in one query.

    Understands any part of a name (accents, case and the apostrophes, hyphens
    and spaces inside names ignored; "mueller" finds Müller, see
    consultations.name_folding), a record number, a date of birth written as the
    location writes dates, or a phone number in any common format. What is typed
    is only ever matched as text: ``%`` and ``_`` are no wildcards.
    """
    # A NUL byte can never match and PostgreSQL refuses it in a query: drop it.
    text = " ".join(query.replace("\x00", "").split())[:100]
    if len(text) < 2:
        return []
    patients = (
        Patient.objects.all() if include_archived else Patient.objects.filter(is_archived=False)
    )

    if RECORD_NUMBER_RE.match(text):
        # Record numbers are upper case: a plain prefix match can use the index.
        condition = Q(record_number__startswith=text.upper())
    elif born := parse_typed_date(text, location):
        condition = Q(date_of_birth=born)
    elif PHONE_RE.match(text) and (numbers := phone_search_digits(text, location)):
        condition = Q()
        for digits in numbers:
            condition |= Q(phone_digits__contains=digits)
    else:
        words = query_words(text)
        if not words:
            return []
        # One LIKE '%…%' per spelling (Django escapes % and _): each can use the
        # trigram index on search_name (migration 0002).
        condition = reduce(
            and_,
            (reduce(or_, (Q(search_name__contains=form) for form in forms)) for forms in words),
        )
    return list(recent_first(patients.filter(condition))[:limit])


def recent_patients(*, limit: int = SEARCH_LIMIT) -> list[Patient]:
    return list(recent_first(Patient.objects.filter(is_archived=False))[:limit])


def find_possible_duplicates(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phone: str = "",
    email: str = "",
    exclude_pk: int | None = None,
) -> list[Patient]:
    """Existing patients (archived too) with the same name and birth date, phone or email."""
    condition = Q(pk__in=[])
    if first_name and last_name and date_of_birth:
        # The stored key starts with the first and last name, folded.
        condition |= Q(
            search_name__startswith=f"{spellings(first_name)[0]} {spellings(last_name)[0]}",
            date_of_birth=date_of_birth,
        )
    if phone_digits := "".join(ch for ch in str(phone or "") if ch.isdigit()):
        condition |= Q(phone_digits=phone_digits)
    if email:
        condition |= Q(email__iexact=email.strip())
    matches = Patient.objects.filter(condition)
    if exclude_pk is not None:
        matches = matches.exclude(pk=exclude_pk)
    return list(matches.order_by("last_name", "first_name")[:10])


@dataclass(frozen=True)
class PlanningGate:
    """Whether a treatment plan may be started, and if not, why and what to do."""

    allowed: bool
    screening: Screening | None
    reason: str
    next_step: str = ""


def screening_needs_review(screening: Screening, latest_history_version: int | None) -> bool:
    """A medical history submitted after the screening means it must be looked at again."""
    return (
        latest_history_version is not None
        and latest_history_version > screening.medical_history.version
    )


def check_planning_gate(*, patient: Patient, today: date | None = None) -> PlanningGate:
    """The gate to planning: a recent, decided screening that allows treatment.

    Recent means within SCREENING_VALID_DAYS (90 by default); allowing means
    suitable or suitable with precautions and accepted, or overridden in writing.
    """
    today = today or timezone.localdate()
    screening = (
        Screening.objects.filter(patient=patient)
        .select_related("medical_history")
        .order_by("-screened_at")
        .first()
    )
    if screening is None:
        return PlanningGate(
            False, None, "The patient has not been screened.", "Run a suitability screening."
        )
    age_days = (today - timezone.localtime(screening.screened_at).date()).days
    if age_days > settings.SCREENING_VALID_DAYS:
        return PlanningGate(
            False,
            screening,
            f"The last screening was {age_days} days ago (limit {settings.SCREENING_VALID_DAYS}).",
            "Screen the patient again.",
        )
    latest = patient.medical_histories.order_by("-version").values_list("version", flat=True)
    if screening_needs_review(screening, latest.first()):
        return PlanningGate(
            False,
            screening,
            "The medical history changed after the last screening.",
            "Review the new answers and screen again.",
        )
    if not screening.decision:
        return PlanningGate(
            False,
            screening,
            "The last screening has no decision yet.",
            "Accept its outcome or override it with a written justification.",
        )
    if not screening.allows_planning:
        return PlanningGate(
            False,
            screening,
            f"The last screening found the patient {screening.get_outcome_display().lower()}"
            + (f" until {screening.defer_until:%d %b %Y}" if screening.defer_until else "")
            + ".",
            "Do not plan treatment; screen again when things change, or override with a "
            "written justification.",
        )
    return PlanningGate(True, screening, "Screening allows planning.")


# The home pages ---------------------------------------------------------------------------
#
# Each reads a fixed number of queries, whatever the number of appointments: the lists
# are bounded by a day or a short window, and everything shown is joined in.

# A booking is "due" at the desk from this long before its start (and while it is late).
ARRIVAL_DUE_MINUTES = 30
# Intake forms are asked for the bookings of this many days ahead, so the desk can hand
# them over or send them before the visit.
FORMS_AHEAD_DAYS = 7
# Treatments booked this many days ahead are checked for a screening that will be too old.
SCREENING_AHEAD_DAYS = 14
# Statuses of an appointment that still stands (not cancelled, not missed).
STANDING_STATUSES = [
    AppointmentStatus.BOOKED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.COMPLETED,
]


AppointmentsT = TypeVar("AppointmentsT", bound=QuerySet[Appointment])


def with_details(appointments: AppointmentsT) -> AppointmentsT:
    """What a row of a day's list shows, joined in one query."""
    return appointments.select_related(
        "patient", "practitioner__user", "location", "room", "appointment_type"
    ).order_by("starts_at", "pk")


def appointments_on(
    *,
    user: AnyUser,
    location: Location,
    day: date,
    practitioner: StaffMember | None = None,
) -> list[Appointment]:
    """The day's appointments at the location the user may reach (one practitioner's if given).

    One query.
    """
    start, end = day_bounds(day, location)
    appointments = Appointment.objects.for_user(user).filter(
        location=location, starts_at__gte=start, starts_at__lt=end
    )
    if practitioner is not None:
        appointments = appointments.filter(practitioner=practitioner)
    return list(with_details(appointments))


def arrivals_due(appointments: list[Appointment], *, now: datetime) -> list[Appointment]:
    """Of a day's list, who should be at the desk by now and is not checked in yet."""
    due_by = now + timedelta(minutes=ARRIVAL_DUE_MINUTES)
    return [
        a for a in appointments if a.status == AppointmentStatus.BOOKED and a.starts_at <= due_by
    ]


def unconfirmed_bookings(*, user: AnyUser, location: Location, today: date) -> list[Appointment]:
    """Tomorrow's bookings at the location that no reminder will confirm: the desk calls them.

    A booking whose attendance is confirmed (Appointment.confirmed_at) is not listed;
    otherwise the one automatic confirmation is the reminder the day before
    (consultations.booking.reminders), by email or text as the patient chose:
    `reminder_channels` decides, here as when the reminder is sent. One query.
    """
    start, end = day_bounds(today + timedelta(days=1), location)
    bookings = Appointment.objects.for_user(user).filter(
        location=location,
        starts_at__gte=start,
        starts_at__lt=end,
        status=AppointmentStatus.BOOKED,
        # The patient has answered a booking link (an earlier reminder, an online booking).
        confirmed_at__isnull=True,
    )
    return [a for a in with_details(bookings) if not reminder_channels(a.booked_patient)]


def forms_not_filled(*, user: AnyUser, location: Location, today: date) -> list[Appointment]:
    """Bookings from today for FORMS_AHEAD_DAYS whose patient owes the intake form.

    Owed: no medical history yet, or the latest is older than SCREENING_VALID_DAYS
    (a screening may only rely on answers that recent). Consultations and treatments
    only: a review needs no new form. Says nothing of the answers. One query.
    """
    start, _ = day_bounds(today, location)
    _, end = day_bounds(today + timedelta(days=FORMS_AHEAD_DAYS - 1), location)
    latest = MedicalHistory.objects.filter(patient=OuterRef("patient")).order_by("-submitted_at")
    stale_before = timezone.now() - timedelta(days=settings.SCREENING_VALID_DAYS)
    bookings = (
        Appointment.objects.for_user(user)
        .filter(
            location=location,
            starts_at__gte=start,
            starts_at__lt=end,
            status__in=[AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED],
            appointment_type__kind__in=[AppointmentKind.CONSULTATION, AppointmentKind.TREATMENT],
        )
        .annotate(history_at=Subquery(latest.values("submitted_at")[:1]))
        .filter(Q(history_at__isnull=True) | Q(history_at__lt=stale_before))
    )
    return list(with_details(bookings))


@dataclass(frozen=True)
class ScreeningDue:
    """A booked treatment on a day the patient's latest decided screening will be too old for."""

    appointment: Appointment
    screened_at: datetime | None
    expires_on: date | None


def screenings_expiring(
    *, user: AnyUser, practitioner: StaffMember, today: date, location: Location
) -> list[ScreeningDue]:
    """The practitioner's treatments booked in the next SCREENING_AHEAD_DAYS days whose
    patient will have no decided screening recent enough on the day (the treatment-day
    check refuses one older than SCREENING_VALID_DAYS). One query.
    """
    start, _ = day_bounds(today, location)
    _, end = day_bounds(today + timedelta(days=SCREENING_AHEAD_DAYS), location)
    latest = (
        Screening.objects.filter(patient=OuterRef("patient"))
        .exclude(decision="")
        .order_by("-screened_at")
    )
    treatments = (
        Appointment.objects.for_user(user)
        .filter(
            practitioner=practitioner,
            starts_at__gte=start,
            starts_at__lt=end,
            status=AppointmentStatus.BOOKED,
            appointment_type__kind=AppointmentKind.TREATMENT,
        )
        .annotate(screened_at=Subquery(latest.values("screened_at")[:1]))
    )
    due = []
    for appointment in with_details(treatments):
        zone = appointment.location.zone
        screened_at = appointment.screened_at
        expires_on = (
            timezone.localtime(screened_at, zone).date()
            + timedelta(days=settings.SCREENING_VALID_DAYS)
            if screened_at
            else None
        )
        if (
            expires_on is None
            or expires_on < timezone.localtime(appointment.starts_at, zone).date()
        ):
            due.append(ScreeningDue(appointment, screened_at, expires_on))
    return due


def bookings_per_location(*, user: AnyUser, locations: list[Location]) -> dict[int, int]:
    """Today's standing bookings at each location, each on its own calendar. One query."""
    if not locations:
        return {}
    condition = Q(pk__in=[])
    for location in locations:
        start, end = day_bounds(timezone.localdate(timezone=location.zone), location)
        condition |= Q(location=location, starts_at__gte=start, starts_at__lt=end)
    rows = (
        Appointment.objects.for_user(user)
        .filter(condition, status__in=STANDING_STATUSES)
        .values("location")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts = {location.pk: 0 for location in locations}
    counts.update({row["location"]: row["count"] for row in rows})
    return counts


def online_requests_waiting(*, user: AnyUser, location: Location) -> list[OnlineBookingRequest]:
    """Online bookings at the location whose details match an existing patient: the desk
    decides who they are (consultations.booking.online). Oldest first; one query."""
    return list(
        OnlineBookingRequest.objects.for_user(user)
        .awaiting()
        .filter(appointment__location=location)
        .select_related("appointment__appointment_type", "appointment__practitioner__user")
    )
