"""The calendar's read side: columns, rows, cells and where each appointment sits."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from consultations.booking import schedule
from consultations.booking import services as booking
from consultations.models import Appointment, AppointmentKind, AppointmentStatus
from tests.clock import next_clock_change
from tests.factories import (
    AppointmentFactory,
    LocationFactory,
    PatientFactory,
    RoomFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)
from tests.recipes import appointment_type, at, local_day, practitioner_at

pytestmark = pytest.mark.django_db

NINE_TO_FIVE = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 15, 30, 45)]


# -- set-up helpers -----------------------------------------------------------------------


def book(*, patient, practitioner, location, kind, starts_at, room=None, by=None):
    return booking.book_appointment(
        patient=patient,
        practitioner=practitioner,
        location=location,
        appointment_type=kind,
        starts_at=starts_at,
        room=room,
        actor=Actor.system(user=by),
    )


def place(*, patient, practitioner, location, kind, starts_at, room=None):
    """An appointment at `starts_at`: booked through the service when that is still ahead.

    The service rightly refuses a time that has passed, so for days already in
    the past the row is written as the service would have written it.
    """
    if starts_at > timezone.now():
        return book(
            patient=patient,
            practitioner=practitioner,
            location=location,
            kind=kind,
            starts_at=starts_at,
            room=room,
        )
    ends_at = starts_at + timedelta(minutes=kind.duration_minutes)
    return AppointmentFactory(
        patient=patient,
        practitioner=practitioner,
        location=location,
        room=room,
        appointment_type=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        blocked_until=ends_at + timedelta(minutes=kind.buffer_minutes),
    )


def block_of(day_schedule, appointment):
    return next(b for b in day_schedule.blocks if b.appointment.pk == appointment.pk)


def cell_at(day_schedule, column_label, hhmm):
    return next(
        c for c in day_schedule.cells if c.column.label == column_label and c.row.label == hhmm
    )


@pytest.fixture
def clinic(location):
    return {
        "location": location,
        "okafor": practitioner_at(location, "Ada", "Okafor"),
        "price": practitioner_at(location, "Ben", "Price"),
        "consultation": appointment_type(),
    }


# -- the day -------------------------------------------------------------------------------


def test_each_appointment_sits_in_its_practitioners_column_on_the_rows_of_its_time(clinic):
    location, okafor, price = clinic["location"], clinic["okafor"], clinic["price"]
    day = local_day(location, 3)
    treatment = appointment_type("Thread lift", minutes=45, kind=AppointmentKind.TREATMENT)
    first = book(
        patient=PatientFactory(first_name="Iris"),
        practitioner=okafor,
        location=location,
        kind=clinic["consultation"],
        starts_at=at(location, day, 10),
    )
    second = book(
        patient=PatientFactory(first_name="June"),
        practitioner=price,
        location=location,
        kind=treatment,
        starts_at=at(location, day, 11, 15),
    )

    day_schedule = schedule.day_schedule(location=location, day=day)

    assert [c.label for c in day_schedule.columns] == ["Ada Okafor", "Ben Price"]
    assert [r.label for r in day_schedule.rows] == NINE_TO_FIVE
    iris, june = block_of(day_schedule, first), block_of(day_schedule, second)
    assert iris.column.label == "Ada Okafor"
    assert day_schedule.rows[iris.first_row].label == "10:00"
    assert iris.end_row - iris.first_row == 2  # 30 minutes: two rows
    assert iris.time_label == "10:00–10:30"
    assert june.column.label == "Ben Price"
    assert day_schedule.rows[june.first_row].label == "11:15"
    assert june.end_row - june.first_row == 3
    # The cells under an appointment are not offered for booking; the ones beside it are.
    assert cell_at(day_schedule, "Ada Okafor", "10:15").state == schedule.CellState.BUSY
    assert cell_at(day_schedule, "Ada Okafor", "10:30").is_free
    assert cell_at(day_schedule, "Ben Price", "10:00").is_free


def test_the_day_by_room_has_a_column_per_room_and_offers_a_free_practitioner(clinic):
    location, okafor = clinic["location"], clinic["okafor"]
    day = local_day(location, 3)
    blue, green = (
        RoomFactory(location=location, name="Blue"),
        RoomFactory(location=location, name="Green"),
    )
    RoomFactory(location=LocationFactory(name="Elsewhere"), name="Far away")
    appointment = book(
        patient=PatientFactory(),
        practitioner=okafor,
        location=location,
        kind=clinic["consultation"],
        starts_at=at(location, day, 9, 30),
        room=green,
    )

    by_room = schedule.day_schedule(location=location, day=day, by="room")

    assert [c.label for c in by_room.columns] == ["Blue", "Green"]
    assert block_of(by_room, appointment).column.room == green
    assert cell_at(by_room, "Green", "09:30").state == schedule.CellState.BUSY
    # Okafor is busy at 09:30, so a booking in Blue then is offered with Price.
    free = cell_at(by_room, "Blue", "09:30")
    assert free.is_free
    assert free.practitioner == clinic["price"]
    assert free.label == "Book Blue with Ben Price at 09:30"
    assert f"room={blue.pk}" in free.booking_query


def test_hours_off_duty_time_off_and_buffers_are_shaded_not_offered(location):
    morning = practitioner_at(location, "Ada", "Okafor", hours=(time(9), time(13)))
    practitioner_at(location, "Ben", "Price", hours=(time(12), time(18)))
    day = local_day(location, 4)
    TimeOffFactory(staff=morning, starts_at=at(location, day, 10), ends_at=at(location, day, 11))
    with_buffer = appointment_type("Review", minutes=30, buffer=15, kind=AppointmentKind.REVIEW)
    book(
        patient=PatientFactory(),
        practitioner=morning,
        location=location,
        kind=with_buffer,
        starts_at=at(location, day, 11),
    )

    day_schedule = schedule.day_schedule(location=location, day=day)

    labels = [r.label for r in day_schedule.rows]
    assert labels[0] == "09:00"
    assert labels[-1] == "17:45"  # the latest closing is 18:00
    state = schedule.CellState
    assert cell_at(day_schedule, "Ada Okafor", "09:45").state == state.FREE
    assert cell_at(day_schedule, "Ada Okafor", "10:00").state == state.AWAY
    assert cell_at(day_schedule, "Ada Okafor", "10:45").state == state.AWAY
    assert cell_at(day_schedule, "Ada Okafor", "11:15").state == state.BUSY
    assert cell_at(day_schedule, "Ada Okafor", "11:30").state == state.BUFFER
    assert cell_at(day_schedule, "Ada Okafor", "11:45").state == state.FREE
    assert cell_at(day_schedule, "Ada Okafor", "13:00").state == state.CLOSED
    assert cell_at(day_schedule, "Ben Price", "11:45").state == state.CLOSED
    assert cell_at(day_schedule, "Ben Price", "12:00").state == state.FREE


def test_a_booking_at_another_location_shades_the_practitioners_time_here(clinic):
    location, okafor = clinic["location"], clinic["okafor"]
    other = LocationFactory(name="Second site")
    okafor.locations.add(other)
    WorkingHoursFactory(
        staff=okafor, location=other, weekday=local_day(location, 5).weekday(),
        starts_at=time(7), ends_at=time(9, 30),
    )  # fmt: skip
    day = local_day(location, 5)
    book(
        patient=PatientFactory(),
        practitioner=okafor,
        location=other,
        kind=clinic["consultation"],
        starts_at=at(other, day, 9),
    )

    day_schedule = schedule.day_schedule(location=location, day=day)

    assert day_schedule.blocks == []  # not an appointment here
    assert cell_at(day_schedule, "Ada Okafor", "09:00").state == schedule.CellState.ELSEWHERE
    assert cell_at(day_schedule, "Ada Okafor", "09:30").is_free


def test_cancelled_and_no_show_appointments_are_listed_apart_and_free_their_slot(clinic):
    location, okafor = clinic["location"], clinic["okafor"]
    day = local_day(location, 3)
    cancelled = book(
        patient=PatientFactory(last_name="Gone"),
        practitioner=okafor,
        location=location,
        kind=clinic["consultation"],
        starts_at=at(location, day, 14),
    )
    booking.cancel_appointment(appointment=cancelled, reason="Poorly", actor=Actor.system())

    day_schedule = schedule.day_schedule(location=location, day=day)

    assert day_schedule.blocks == []
    assert [entry.appointment.pk for entry in day_schedule.ended] == [cancelled.pk]
    assert day_schedule.ended[0].time_label == "14:00–14:30"
    assert cell_at(day_schedule, "Ada Okafor", "14:00").is_free


def test_the_times_that_have_passed_today_are_not_offered(clinic):
    location = clinic["location"]
    zone = location.zone
    now = datetime.combine(local_day(location, 0), time(12, 5), tzinfo=zone)

    day_schedule = schedule.day_schedule(location=location, day=now.date(), now=now)

    assert cell_at(day_schedule, "Ada Okafor", "12:00").state == schedule.CellState.PAST
    assert cell_at(day_schedule, "Ada Okafor", "12:15").is_free
    assert [c.day for c in day_schedule.today_columns] == [now.date(), now.date()]


def test_nobody_working_still_draws_a_quiet_day_with_no_columns(location):
    day_schedule = schedule.day_schedule(location=location, day=local_day(location, 1))
    assert day_schedule.columns == []
    assert [r.label for r in day_schedule.rows] == NINE_TO_FIVE


# The days the clocks change in 2026 (now past: rows as the service wrote them) and in 2027
# (ahead: booked through the service).
DST_DAYS = [
    ("Europe/London", date(2026, 3, 29)),  # spring forward
    ("Europe/London", date(2026, 10, 25)),  # fall back
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/London", date(2027, 3, 28)),
    ("Europe/London", date(2027, 10, 31)),
    ("America/New_York", date(2027, 3, 14)),
    ("America/New_York", date(2027, 11, 7)),
]


@pytest.mark.parametrize(("zone", "day"), DST_DAYS, ids=lambda v: str(v))
def test_on_the_days_the_clocks_change_a_ten_oclock_booking_shows_at_ten_and_no_hour_is_lost(
    zone, day
):
    location = LocationFactory(name=f"Clinic in {zone}", time_zone=zone)
    okafor = practitioner_at(location, "Ada", "Okafor")
    start = at(location, day, 10)
    appointment = place(
        patient=PatientFactory(),
        practitioner=okafor,
        location=location,
        kind=appointment_type(),
        starts_at=start,
    )
    day_start, day_end = booking.day_bounds(day, location)
    assert (day_end - day_start) != timedelta(hours=24)  # it really is a clock-change day

    day_schedule = schedule.day_schedule(location=location, day=day)

    block = block_of(day_schedule, appointment)
    assert day_schedule.rows[block.first_row].label == "10:00"
    assert block.local_start.hour == 10 and block.local_start.minute == 0
    assert block.end_row - block.first_row == 2
    # Opening hours 09:00–17:00: 32 quarter hours, none lost, none doubled.
    assert [r.label for r in day_schedule.rows] == NINE_TO_FIVE
    instants = [c.starts_at.astimezone(UTC) for c in day_schedule.cells]
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(instants))
    assert instants[4] == start.astimezone(UTC)


def test_the_hour_the_clocks_skip_is_drawn_closed(location):
    location.time_zone = "Europe/London"
    location.save()
    night_owl = practitioner_at(location, "Nia", "Owl", hours=(time(0), time(4)))
    spring = next_clock_change("Europe/London", forward=True)
    day_schedule = schedule.day_schedule(location=location, day=spring)
    assert [r.label for r in day_schedule.rows][:8] == [
        "00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30", "01:45",
    ]  # fmt: skip
    assert cell_at(day_schedule, str(night_owl), "00:45").is_free
    assert cell_at(day_schedule, str(night_owl), "01:00").state == schedule.CellState.CLOSED
    assert cell_at(day_schedule, str(night_owl), "02:00").is_free


# -- the week ------------------------------------------------------------------------------


def test_a_week_has_seven_day_columns_from_monday_with_each_booking_on_its_day(clinic):
    location, okafor = clinic["location"], clinic["okafor"]
    day = local_day(location, 10)
    appointment = book(
        patient=PatientFactory(),
        practitioner=okafor,
        location=location,
        kind=clinic["consultation"],
        starts_at=at(location, day, 15, 30),
    )

    week = schedule.week_schedule(location=location, practitioner=okafor, day=day)

    monday = day - timedelta(days=day.weekday())
    assert [c.day for c in week.columns] == [monday + timedelta(days=i) for i in range(7)]
    assert week.columns[0].label.startswith("Mon")
    block = block_of(week, appointment)
    assert block.column.day == day
    assert week.rows[block.first_row].label == "15:30"
    cell = cell_at(week, week.columns[day.weekday()].label, "16:00")
    assert cell.is_free
    assert cell.label == f"Book with Ada Okafor on {day:%a} {day.day} {day:%b} at 16:00"


# -- a fixed number of queries ----------------------------------------------------------------


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_day_view_runs_as_many_queries_for_150_appointments_as_for_15(
    client, frontdesk_user, location
):
    day = local_day(location, 7)
    kind = appointment_type(colour="#8b1f6f")
    staff = [practitioner_at(location, f"P{i}", f"Practitioner {i:02d}") for i in range(10)]
    rooms = [RoomFactory(location=location, name=f"Room {i}") for i in range(10)]
    patients = [PatientFactory() for _ in range(10)]
    # 15 a practitioner, 150 in all; the first 15 already draw every kind of entry.
    first = [(slot, slot % 10) for slot in range(15)]
    rest = [(slot, i) for slot in range(15) for i in range(10) if (slot, i) not in first]

    def book_plan(entries):
        for slot, i in entries:
            appointment = book(
                patient=patients[i],
                practitioner=staff[i],
                location=location,
                kind=kind,
                starts_at=at(location, day, 9) + timedelta(minutes=30 * slot),
                room=rooms[i],
                by=frontdesk_user,
            )
            if slot % 4 == 3:  # some are cancelled: listed apart, with their own links
                booking.cancel_appointment(
                    appointment=appointment, reason="Rebooked", actor=Actor.system()
                )

    client.force_login(frontdesk_user)
    by_person = reverse("consultations:calendar_day") + f"?date={day.isoformat()}"
    by_room = by_person + "&by=room"
    book_plan(first)
    assert Appointment.objects.count() == 15
    few = (_count_queries(client, by_person), _count_queries(client, by_room))

    book_plan(rest)
    assert Appointment.objects.count() == 150
    standing = Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).count()
    response = client.get(by_person)
    assert response.content.decode().count('data-testid="appointment"') == standing
    many = (_count_queries(client, by_person), _count_queries(client, by_room))

    assert many == few
