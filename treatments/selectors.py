"""Read-heavy queries that span treatments and bookings: the re-treatment recall list, who
received a lot, what a manager should act on in stock, and the practitioner's and the
manager's home pages.

Each answers in a fixed number of queries, whatever the number of lots or patients.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Subquery, Sum
from django.utils import timezone

from clinic.access import AnyUser
from clinic.models import Location, StaffMember
from consultations.booking.services import day_bounds
from consultations.models import (
    FREEING_STATUSES,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Patient,
)
from treatments.models import (
    AdverseEvent,
    CheckInAnswer,
    CheckInReply,
    LotRecall,
    LotStatus,
    Outcome,
    PlacedThreads,
    PlanStatus,
    StockLot,
    ThreadProduct,
    TreatmentPlan,
    TreatmentSession,
)

# A thread lift is offered again 9 to 12 months after the last one: PDO threads are
# absorbed by about then (treatments.default_content, the aftercare's absorption lines).
RECALL_FROM_MONTHS = 9
RECALL_TO_MONTHS = 12
# Bookings that mean the patient is already coming back.
UPCOMING_STATUSES = [
    AppointmentStatus.BOOKED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_PROGRESS,
]


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if it is shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


@dataclass(frozen=True)
class RecallRow:
    patient: Patient
    last_session_at: datetime
    last_session_id: int


def retreatment_recall(location: Location, today: date) -> list[RecallRow]:
    """Patients whose last completed session was here 9 to 12 months ago, with nothing booked.

    "Nothing booked" means no treatment or consultation to come, at any location. One
    query, whatever the number of patients.
    """
    start, _ = day_bounds(months_before(today, RECALL_TO_MONTHS), location)
    _, end = day_bounds(months_before(today, RECALL_FROM_MONTHS), location)
    last = TreatmentSession.objects.filter(
        patient=OuterRef("pk"), completed_at__isnull=False
    ).order_by("-completed_at", "-pk")
    booked = Appointment.objects.filter(
        patient=OuterRef("pk"),
        status__in=UPCOMING_STATUSES,
        starts_at__gte=timezone.now(),
        appointment_type__kind__in=[AppointmentKind.TREATMENT, AppointmentKind.CONSULTATION],
    )
    patients = (
        Patient.objects.filter(is_archived=False)
        .annotate(
            last_session_at=Subquery(last.values("completed_at")[:1]),
            last_session_location=Subquery(last.values("location_id")[:1]),
            last_session_id=Subquery(last.values("pk")[:1]),
        )
        .filter(
            last_session_location=location.pk,
            last_session_at__gte=start,
            last_session_at__lt=end,
        )
        .exclude(Exists(booked))
        .order_by("last_session_at", "pk")
    )
    return [
        RecallRow(
            patient=patient,
            last_session_at=patient.last_session_at,
            last_session_id=patient.last_session_id,
        )
        for patient in patients
    ]


# Lots expiring within this many days are listed to be used first.
EXPIRING_WITHIN_DAYS = 30


def location_today(location: Location | None) -> date:
    """Today on the location's calendar (a clinic ahead of the server must not lag a day)."""
    return timezone.localdate(timezone=location.zone) if location else timezone.localdate()


@dataclass
class LowStock:
    product: ThreadProduct
    on_hand: int
    lots: list[StockLot] = field(default_factory=list)


@dataclass
class StockAlerts:
    """What a manager should act on at a location: use soon, reorder, recall."""

    expiring_soon: list[StockLot]
    low_stock: list[LowStock]
    open_recalls: list[LotRecall]

    @property
    def count(self) -> int:
        return len(self.expiring_soon) + len(self.low_stock) + len(self.open_recalls)


def stock_alerts(location: Location, *, lots: Sequence[StockLot] | None = None) -> StockAlerts:
    """Lots expiring within EXPIRING_WITHIN_DAYS, products below their reorder level, open recalls.

    Two queries (one if the caller passes the location's lots with their products).
    Only active, unexpired threads count towards stock: a quarantined or recalled lot
    cannot be used, so it does not keep a product off the reorder list.
    """
    if lots is None:
        lots = list(
            StockLot.objects.filter(location=location)
            .select_related("product")
            .order_by("expires_on", "product__name", "lot_number")
        )
    open_recalls = list(
        LotRecall.objects.filter(lot__location=location, closed_at__isnull=True)
        .select_related("lot__product")
        .order_by("-opened_at", "-pk")
    )
    return alerts_from(lots, open_recalls, today=location_today(location))


def alerts_from(
    lots: Sequence[StockLot], open_recalls: list[LotRecall], *, today: date
) -> StockAlerts:
    """The alerts of one location's lots and open recalls, read already."""
    soon = today + timedelta(days=EXPIRING_WITHIN_DAYS)
    usable = [
        lot
        for lot in lots
        if lot.status == LotStatus.ACTIVE and lot.expires_on >= today and lot.quantity_on_hand
    ]
    expiring_soon = [lot for lot in usable if lot.expires_on <= soon]
    # Every active product this location stocks (has ever received).
    stocked: dict[int, LowStock] = {}
    for lot in lots:
        if lot.product.is_active:
            stocked.setdefault(lot.product_id, LowStock(product=lot.product, on_hand=0))
    for lot in usable:
        if lot.product_id in stocked:
            stocked[lot.product_id].on_hand += lot.quantity_on_hand
            stocked[lot.product_id].lots.append(lot)
    low_stock = sorted(
        (entry for entry in stocked.values() if entry.on_hand < entry.product.reorder_level),
        key=lambda entry: (entry.on_hand, entry.product.name),
    )
    return StockAlerts(expiring_soon=expiring_soon, low_stock=low_stock, open_recalls=open_recalls)


def stock_alerts_by_location(
    *, user: AnyUser, locations: Sequence[Location]
) -> list[tuple[Location, StockAlerts]]:
    """stock_alerts for each of the locations, as the user may reach them: two queries in all."""
    ids = [location.pk for location in locations]
    lots: dict[int, list[StockLot]] = {pk: [] for pk in ids}
    for lot in (
        StockLot.objects.for_user(user)
        .filter(location__in=ids)
        .select_related("product")
        .order_by("expires_on", "product__name", "lot_number")
    ):
        lots[lot.location_id].append(lot)
    recalls: dict[int, list[LotRecall]] = {pk: [] for pk in ids}
    for recall in (
        LotRecall.objects.for_user(user)
        .filter(lot__location__in=ids, closed_at__isnull=True)
        .select_related("lot__product")
        .order_by("-opened_at", "-pk")
    ):
        recalls[recall.lot.location_id].append(recall)
    return [
        (
            location,
            alerts_from(lots[location.pk], recalls[location.pk], today=location_today(location)),
        )
        for location in locations
    ]


# The practitioner's and the manager's home pages ------------------------------------------

# Reviews booked this long ago and still without an outcome are listed (older ones are
# for the patient's chart, not today's work).
REVIEWS_BACK_DAYS = 60


def draft_plans(*, user: AnyUser, practitioner: StaffMember) -> list[TreatmentPlan]:
    """The practitioner's plans still in draft, oldest change first. One query."""
    return list(
        TreatmentPlan.objects.for_user(user)
        .filter(practitioner=practitioner, status=PlanStatus.DRAFT)
        .select_related("patient", "location")
        .order_by("updated_at", "pk")
    )


@dataclass(frozen=True)
class ReviewDue:
    """A review appointment held (or due today) with no outcome recorded for it yet."""

    appointment: Appointment
    # The patient's latest completed session before the review: what the outcome is of.
    session_id: int | None


def reviews_due(
    *, user: AnyUser, practitioner: StaffMember, today: date, location: Location
) -> list[ReviewDue]:
    """The practitioner's review appointments up to today's end, from the last
    REVIEWS_BACK_DAYS days, not cancelled or missed, with no outcome recorded. One query."""
    start, _ = day_bounds(today - timedelta(days=REVIEWS_BACK_DAYS), location)
    _, end = day_bounds(today, location)
    session = TreatmentSession.objects.filter(
        patient=OuterRef("patient"),
        completed_at__isnull=False,
        completed_at__lte=OuterRef("starts_at"),
    ).order_by("-completed_at", "-pk")
    reviews = (
        Appointment.objects.for_user(user)
        .filter(
            practitioner=practitioner,
            appointment_type__kind=AppointmentKind.REVIEW,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .exclude(status__in=FREEING_STATUSES)
        .exclude(Exists(Outcome.objects.filter(appointment=OuterRef("pk"))))
        .annotate(session_id=Subquery(session.values("pk")[:1]))
        .select_related("patient", "location", "appointment_type")
        .order_by("starts_at", "pk")
    )
    return [ReviewDue(appointment, appointment.session_id) for appointment in reviews]


def month_start(today: date) -> date:
    return today.replace(day=1)


def adverse_events_since(*, user: AnyUser, since: date) -> list[AdverseEvent]:
    """Adverse events that began on or after `since`, where the user may reach them. One query."""
    return list(
        AdverseEvent.objects.for_user(user)
        .filter(onset_on__gte=since)
        .select_related("session__patient", "session__location")
        .order_by("-onset_on", "-pk")
    )


@dataclass
class Recipient:
    """A patient who received threads from the lot in a completed session, and how to reach them."""

    patient_id: int
    name: str
    record_number: str
    phone: str
    email: str
    treated_on: date
    practitioner: str
    session: TreatmentSession
    threads: int


def recipients_of(lots: list[StockLot]) -> dict[int, list[Recipient]]:
    """Per lot, every patient who received it: from the threads placed in completed sessions.

    One query for any number of lots. A patient treated twice with the lot is
    listed once per session (each is a date a doctor may need).
    """
    by_session: dict[tuple[int, int], Recipient] = {}
    zones = {lot.pk: lot.location.zone for lot in lots}
    rows = (
        PlacedThreads.objects.filter(lot__in=lots, session__completed_at__isnull=False)
        .select_related("session__patient", "session__practitioner__user")
        .order_by("session__completed_at", "session_id", "pk")
    )
    for placed in rows:
        session = placed.session
        key = (placed.lot_id, session.pk)
        if key in by_session:
            by_session[key].threads += placed.count
            continue
        patient = session.patient
        # Only completed sessions are read; started_at satisfies the type checker alone.
        completed_at = session.completed_at or session.started_at
        by_session[key] = Recipient(
            patient_id=patient.pk,
            name=patient.full_name,
            record_number=patient.record_number,
            phone=patient.phone.as_international if patient.phone else "",
            email=patient.email,
            treated_on=timezone.localtime(completed_at, zones[placed.lot_id]).date(),
            practitioner=str(session.practitioner),
            session=session,
            threads=placed.count,
        )
    result: dict[int, list[Recipient]] = {lot.pk: [] for lot in lots}
    for (lot_id, _session_id), recipient in by_session.items():
        result[lot_id].append(recipient)
    return result


def usable_stock(location: Location, product_ids: Sequence[int]) -> dict[int, int]:
    """Threads that may be used today per product at the location (its own today): active
    lots (not quarantined or recalled), in date, with some left. One query; products with
    none are absent."""
    today = timezone.localdate(timezone=location.zone)
    return dict(
        StockLot.objects.filter(
            location=location,
            product_id__in=product_ids,
            status=LotStatus.ACTIVE,
            expires_on__gte=today,
            quantity_on_hand__gt=0,
        )
        .values_list("product_id")
        .annotate(total=Sum("quantity_on_hand"))
    )


def check_ins_to_answer(*, user: AnyUser, practitioner: StaffMember) -> list[CheckInReply]:
    """The practitioner's patients who said something is wrong at a check-in and whose answer
    nobody has dealt with yet, newest first (one query)."""
    return list(
        CheckInReply.objects.for_user(user)
        .filter(
            session__practitioner=practitioner,
            answer=CheckInAnswer.SOMETHING_WRONG,
            handled_at__isnull=True,
        )
        .select_related("session__patient", "session__location")
        .order_by("-answered_at", "-pk")
    )
