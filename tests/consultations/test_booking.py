import importlib
import json
import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role, RoomKind, WorkingHours
from consultations.booking import services as booking
from consultations.booking.services import SlotUnavailable, book_appointment, next_free_slots
from consultations.models import LONGEST_BLOCK, Appointment, AppointmentStatus
from tests.clock import arrive_for, next_clock_change
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the rooms' exclusion constraint is PostgreSQL's"
)


def next_weekday(weekday: int, zone=LONDON) -> date:
    """The next given weekday (0 = Monday) at least two days ahead, in `zone`."""
    day = timezone.localdate(timezone=zone) + timedelta(days=2)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def at(day: date, hour: int, minute: int = 0, zone=LONDON) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def works_every_day(staff, location, start=time(9), end=time(17)):
    for weekday in range(7):
        WorkingHoursFactory(
            staff=staff, location=location, weekday=weekday, starts_at=start, ends_at=end
        )


@pytest.fixture
def clinic():
    location = LocationFactory(name="London clinic", time_zone="Europe/London", country="GB")
    room = RoomFactory(location=location, name="Treatment room 1")
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])
    works_every_day(doctor, location)
    consultation = AppointmentTypeFactory(
        name="Consultation",
        kind="consultation",
        duration_minutes=30,
        buffer_minutes=0,
        needs_room=False,
    )
    treatment = AppointmentTypeFactory(
        name="Thread lift",
        kind="treatment",
        duration_minutes=90,
        buffer_minutes=15,
        needs_room=True,
    )
    return {
        "location": location,
        "room": room,
        "doctor": doctor,
        "consultation": consultation,
        "treatment": treatment,
    }


def book(clinic, start, *, patient=None, type_key="consultation", **overrides):
    arguments = {
        "patient": patient or PatientFactory(),
        "practitioner": clinic["doctor"],
        "location": clinic["location"],
        "appointment_type": clinic[type_key],
        "starts_at": start,
        "actor": Actor.system(user=clinic["doctor"].user),
    }
    return book_appointment(**{**arguments, **overrides})


def test_a_booking_is_stored_in_utc_with_its_end_buffer_and_audit(clinic):
    day = next_weekday(1)
    appointment = book(clinic, at(day, 10), type_key="treatment")
    assert appointment.starts_at == at(day, 10).astimezone(UTC)
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=90)
    assert appointment.blocked_until - appointment.ends_at == timedelta(minutes=15)
    assert appointment.room == clinic["room"]  # the free room was picked
    assert appointment.status_changes.get().to_status == AppointmentStatus.BOOKED
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_id=str(appointment.pk)
    ).exists()


def test_the_practitioner_cannot_be_booked_twice_for_overlapping_time(clinic):
    day = next_weekday(1)
    book(clinic, at(day, 10))
    with pytest.raises(SlotUnavailable) as taken:
        book(clinic, at(day, 10, 15))
    assert "already booked" in taken.value.message
    assert taken.value.next_slots[0].local_start(clinic["location"]) == at(day, 10, 30)
    assert Appointment.objects.count() == 1


def test_the_buffer_after_an_appointment_is_kept_free(clinic):
    day = next_weekday(1)
    book(clinic, at(day, 10), type_key="treatment")  # 10:00–11:30, buffer to 11:45
    with pytest.raises(SlotUnavailable):
        book(clinic, at(day, 11, 30))
    assert book(clinic, at(day, 11, 45)).starts_at == at(day, 11, 45).astimezone(UTC)


def test_the_room_cannot_be_booked_twice_even_with_another_practitioner(clinic):
    day = next_weekday(1)
    other = StaffMemberFactory(role=Role.PRACTITIONER, locations=[clinic["location"]])
    works_every_day(other, clinic["location"])
    book(clinic, at(day, 10), type_key="treatment", room=clinic["room"])
    with pytest.raises(SlotUnavailable) as taken:
        book(clinic, at(day, 10), type_key="treatment", practitioner=other, room=clinic["room"])
    assert "Treatment room 1 is already booked" in taken.value.message
    # With no room named and the only room busy, no room is free either.
    with pytest.raises(SlotUnavailable, match="No procedure room is free"):
        book(clinic, at(day, 10), type_key="treatment", practitioner=other)


def test_a_patient_cannot_hold_two_overlapping_appointments(clinic):
    day = next_weekday(1)
    patient = PatientFactory()
    other = StaffMemberFactory(role=Role.PRACTITIONER, locations=[clinic["location"]])
    works_every_day(other, clinic["location"])
    book(clinic, at(day, 10), patient=patient)
    with pytest.raises(SlotUnavailable, match="patient already has an appointment"):
        book(clinic, at(day, 10, 15), patient=patient, practitioner=other)


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
def test_cancelled_and_no_show_appointments_free_the_slot(clinic, status):
    day = next_weekday(1)
    first = book(clinic, at(day, 10))
    arrive_for(first)  # a no-show is recorded once the appointment has begun
    booking.set_appointment_status(
        appointment=first,
        status=status,
        actor=Actor.system(user=clinic["doctor"].user),
        reason="Unwell",
    )
    second = book(clinic, at(day, 10), walk_in=True)  # the time has come: a walk-in takes it
    assert second.status == AppointmentStatus.ARRIVED
    assert Appointment.objects.exclude(status__in=booking.FREEING_STATUSES).count() == 1


@pytest.mark.parametrize(
    ("hour", "minute", "message"),
    [(8, 30, "does not work"), (16, 45, "does not work"), (17, 0, "does not work")],
)
def test_a_booking_must_fit_inside_working_hours(clinic, hour, minute, message):
    with pytest.raises(ValidationError, match=message):
        book(clinic, at(next_weekday(1), hour, minute))
    assert Appointment.objects.count() == 0


def test_a_booking_is_refused_in_the_practitioners_time_off(clinic):
    day = next_weekday(2)
    TimeOffFactory(
        staff=clinic["doctor"], starts_at=at(day, 12), ends_at=at(day, 14), reason="Course"
    )
    with pytest.raises(ValidationError, match="away"):
        book(clinic, at(day, 13))
    assert book(clinic, at(day, 14)).pk


def test_a_booking_in_the_past_is_refused_but_a_started_walk_in_is_recorded(clinic):
    location = clinic["location"]
    StaffMemberFactory(role=Role.PRACTITIONER)
    past = timezone.now() - timedelta(days=1)
    with pytest.raises(ValidationError, match="has passed"):
        book(clinic, past)
    WorkingHours.objects.filter(staff=clinic["doctor"]).update(
        starts_at=time(0), ends_at=time(23, 59)
    )
    started = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    if timezone.localtime(started, location.zone).date() != timezone.localdate(
        timezone=location.zone
    ):
        pytest.skip("too close to midnight for a same-day walk-in")
    walk_in = book(clinic, started, walk_in=True)
    assert walk_in.status == AppointmentStatus.ARRIVED


def test_a_booking_more_than_two_years_ahead_is_refused(clinic):
    with pytest.raises(ValidationError, match="more than two years ahead"):
        book(clinic, timezone.now() + timedelta(days=800))


def test_a_room_from_another_location_or_a_practitioner_working_elsewhere_is_refused(clinic):
    elsewhere = LocationFactory(name="Elsewhere")
    far_room = RoomFactory(location=elsewhere, name="Far room")
    stranger = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere])
    day = next_weekday(1)
    with pytest.raises(ValidationError) as error:
        book(clinic, at(day, 10), room=far_room, practitioner=stranger)
    assert "is at another location" in str(error.value)
    assert "does not work at London clinic" in str(error.value)
    assert Appointment.objects.count() == 0


def test_only_practitioners_can_be_booked(clinic):
    desk = StaffMemberFactory(role=Role.FRONT_DESK, locations=[clinic["location"]])
    with pytest.raises(ValidationError, match="Only practitioners"):
        book(clinic, at(next_weekday(1), 10), practitioner=desk)


def test_an_archived_patient_or_a_retired_type_cannot_be_booked(clinic):
    patient = PatientFactory(is_archived=True)
    clinic["consultation"].is_active = False
    clinic["consultation"].save()
    with pytest.raises(ValidationError) as error:
        book(clinic, at(next_weekday(1), 10), patient=patient)
    assert "archived" in str(error.value)
    assert "retired" in str(error.value)


def test_rescheduling_checks_the_same_rules_and_ignores_its_own_old_slot(clinic):
    day = next_weekday(1)
    appointment = book(clinic, at(day, 10))
    moved = booking.reschedule_appointment(
        appointment=appointment,
        starts_at=at(day, 10, 15),
        actor=Actor.system(user=clinic["doctor"].user),
    )
    assert moved.starts_at == at(day, 10, 15).astimezone(UTC)
    book(clinic, at(day, 11))
    with pytest.raises(SlotUnavailable):
        booking.reschedule_appointment(
            appointment=moved, starts_at=at(day, 11), actor=Actor.system(user=clinic["doctor"].user)
        )
    moved.refresh_from_db()
    assert moved.starts_at == at(day, 10, 15).astimezone(UTC)


def test_status_changes_follow_the_allowed_order_and_keep_who_and_when(clinic):
    appointment = book(clinic, at(next_weekday(1), 10))
    user = clinic["doctor"].user
    for status in ("arrived", "in_progress", "completed"):
        appointment = booking.set_appointment_status(
            appointment=appointment, status=status, actor=Actor.system(user=user)
        )
    assert [c.to_status for c in appointment.status_changes.all()] == [
        "booked",
        "arrived",
        "in_progress",
        "completed",
    ]
    assert all(c.changed_by == user for c in appointment.status_changes.all())
    with pytest.raises(ValidationError, match="cannot become"):
        booking.set_appointment_status(
            appointment=appointment, status="booked", actor=Actor.system(user=user)
        )
    appointment.patient.refresh_from_db()
    assert appointment.patient.last_visit_at is not None


def test_cancelling_needs_a_reason(clinic):
    appointment = book(clinic, at(next_weekday(1), 10))
    with pytest.raises(ValidationError, match="Say why"):
        booking.cancel_appointment(
            appointment=appointment, reason="  ", actor=Actor.system(user=clinic["doctor"].user)
        )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_next_free_slots_skip_bookings_buffers_and_time_off(clinic):
    day = next_weekday(3)
    book(clinic, at(day, 9), type_key="treatment")  # 09:00–10:30 + 15 min buffer
    TimeOffFactory(staff=clinic["doctor"], starts_at=at(day, 11, 15), ends_at=at(day, 12))
    slots = next_free_slots(
        appointment_type=clinic["consultation"],
        location=clinic["location"],
        after=at(day, 8).astimezone(UTC),
        limit=4,
    )
    starts = [slot.local_start(clinic["location"]).time() for slot in slots]
    assert starts == [time(10, 45), time(12), time(12, 15), time(12, 30)]


def test_a_long_time_off_keeps_blocking_past_shorter_ones_inside_it(clinic):
    day = next_weekday(3)
    TimeOffFactory(staff=clinic["doctor"], starts_at=at(day, 9), ends_at=at(day, 13))
    TimeOffFactory(staff=clinic["doctor"], starts_at=at(day, 10), ends_at=at(day, 10, 30))
    TimeOffFactory(staff=clinic["doctor"], starts_at=at(day, 11), ends_at=at(day, 11, 15))
    slots = next_free_slots(
        appointment_type=clinic["consultation"],
        location=clinic["location"],
        after=at(day, 8).astimezone(UTC),
        limit=2,
    )
    starts = [slot.local_start(clinic["location"]).time() for slot in slots]
    assert starts == [time(13), time(13, 15)]


def test_next_free_slots_take_a_fixed_number_of_queries(clinic, django_assert_max_num_queries):
    day = next_weekday(1)
    for hour in (9, 10, 11, 12, 13):
        book(clinic, at(day, hour))
    with django_assert_max_num_queries(6):
        slots = next_free_slots(
            appointment_type=clinic["treatment"], location=clinic["location"], days=30, limit=50
        )
    assert len(slots) == 50


# Days when the clocks change (the next ones), and the wall-clock hour that does not exist.
DST_DAYS = [
    ("Europe/London", "GB", True, 1),  # 01:00 -> 02:00
    ("Europe/London", "GB", False, None),  # 01:00-02:00 twice
    ("America/New_York", "US", True, 2),  # 02:00 -> 03:00
    ("America/New_York", "US", False, None),  # 01:00-02:00 twice
]


@pytest.mark.parametrize(("zone_name", "country", "forward", "missing_hour"), DST_DAYS)
def test_slots_on_clock_change_days_are_what_the_wall_clock_shows(
    zone_name, country, forward, missing_hour
):
    day = next_clock_change(zone_name, forward=forward)
    zone = ZoneInfo(zone_name)
    location = LocationFactory(name=f"Clinic {zone_name}", time_zone=zone_name, country=country)
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])
    works_every_day(doctor, location, start=time(0), end=time(4))
    hour_type = AppointmentTypeFactory(
        name=f"Hour {zone_name}", kind="consultation", duration_minutes=60, needs_room=False
    )
    slots = next_free_slots(
        appointment_type=hour_type,
        location=location,
        after=datetime.combine(day, time(0), tzinfo=zone),
        days=0,
        limit=50,
    )
    wall_clock = [slot.local_start(location).strftime("%H:%M") for slot in slots]
    expected = [f"{h:02d}:{m:02d}" for h in range(4) for m in (0, 15, 30, 45) if h != missing_hour][
        : 13 - (4 if missing_hour is not None else 0)
    ]
    # Every quarter hour the wall clock shows from 00:00 to 03:00, each once:
    # the skipped hour offers nothing and the repeated hour is not doubled.
    assert wall_clock == expected
    assert len({slot.starts_at for slot in slots}) == len(slots)

    appointment = book_appointment(
        patient=PatientFactory(),
        practitioner=doctor,
        location=location,
        appointment_type=hour_type,
        starts_at=datetime.combine(day, time(3), tzinfo=zone),
        actor=Actor.system(user=doctor.user),
    )
    assert appointment.local_starts_at.strftime("%Y-%m-%d %H:%M") == f"{day} 03:00"


def test_a_day_on_a_clock_change_is_23_or_25_hours_long():
    london = LocationFactory(name="London DST", time_zone="Europe/London")
    spring = booking.day_bounds(next_clock_change("Europe/London", forward=True), london)
    autumn = booking.day_bounds(next_clock_change("Europe/London", forward=False), london)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


# -- rooms by kind ----------------------------------------------------------------------------


@pytest.fixture
def rooms(clinic):
    """The clinic's procedure room ("Treatment room 1"), a consultation room, a second
    practitioner and a consultation type that takes a room."""
    clinic["consult_room"] = RoomFactory(
        location=clinic["location"], name="Consultation room", kind=RoomKind.CONSULTATION
    )
    clinic["colleague"] = StaffMemberFactory(role=Role.PRACTITIONER, locations=[clinic["location"]])
    works_every_day(clinic["colleague"], clinic["location"])
    clinic["seated"] = AppointmentTypeFactory(
        name="Consultation in a room", kind="consultation", duration_minutes=30, needs_room=True
    )
    return clinic


def test_the_migration_gives_existing_treatment_types_a_procedure_room_and_others_any_room():
    lift = AppointmentTypeFactory(name="Lift", kind="treatment", room_kind="consultation")
    review = AppointmentTypeFactory(name="Review", kind="review")
    migration = importlib.import_module("consultations.migrations.0013_appointment_type_room_kind")
    migration.procedures_need_procedure_rooms(django_apps, None)
    lift.refresh_from_db()
    review.refresh_from_db()
    assert (lift.room_kind, review.room_kind) == (RoomKind.PROCEDURE, RoomKind.CONSULTATION)


def test_a_procedure_goes_to_a_procedure_room_and_a_consultation_to_a_consultation_room(rooms):
    day = next_weekday(1)
    assert rooms["treatment"].room_kind == RoomKind.PROCEDURE
    # "Consultation room" comes first by name: the kind decides, not the alphabet.
    procedure = book(rooms, at(day, 10), type_key="treatment")
    consultation = book(rooms, at(day, 10), type_key="seated", practitioner=rooms["colleague"])
    assert procedure.room == rooms["room"]
    assert consultation.room == rooms["consult_room"]


def test_with_the_procedure_room_busy_a_procedure_is_refused_but_a_consultation_still_fits(rooms):
    day = next_weekday(1)
    book(rooms, at(day, 10), type_key="treatment")

    with pytest.raises(SlotUnavailable) as taken:
        book(rooms, at(day, 10), type_key="treatment", practitioner=rooms["colleague"])
    assert taken.value.message == "No procedure room is free at that time."
    # The next times offered have the procedure room free again: after 10:00 + 90 + 15 minutes.
    first = taken.value.next_slots[0]
    assert (first.local_start(rooms["location"]), first.room) == (at(day, 11, 45), rooms["room"])

    consultation = book(rooms, at(day, 10), type_key="seated", practitioner=rooms["colleague"])
    assert consultation.room == rooms["consult_room"]
    assert Appointment.objects.count() == 2


def test_a_consultation_takes_the_procedure_room_when_no_consultation_room_is_free(rooms):
    day = next_weekday(1)
    first = book(rooms, at(day, 14), type_key="seated")
    second = book(rooms, at(day, 14), type_key="seated", practitioner=rooms["colleague"])
    assert (first.room, second.room) == (rooms["consult_room"], rooms["room"])


def test_a_room_of_the_wrong_kind_is_refused_and_nothing_is_saved(rooms):
    day = next_weekday(1)
    with pytest.raises(ValidationError) as refused:
        book(rooms, at(day, 10), type_key="treatment", room=rooms["consult_room"])
    assert refused.value.message_dict == {
        "room": ["Thread lift needs a procedure room; Consultation room is a consultation room."]
    }
    assert not Appointment.objects.exists()

    procedure = book(rooms, at(day, 10), type_key="treatment")
    with pytest.raises(ValidationError, match="needs a procedure room"):
        booking.reschedule_appointment(
            appointment=procedure,
            starts_at=at(day, 13),
            room=rooms["consult_room"],
            actor=Actor.system(),
        )
    procedure.refresh_from_db()
    assert (procedure.starts_at, procedure.room) == (at(day, 10), rooms["room"])


def test_a_room_chosen_by_hand_is_kept_or_refused_never_swapped(rooms):
    day = next_weekday(1)
    book(rooms, at(day, 10), type_key="seated", room=rooms["room"])
    with pytest.raises(SlotUnavailable, match="Treatment room 1 is already booked"):
        book(
            rooms,
            at(day, 10),
            type_key="seated",
            room=rooms["room"],
            practitioner=rooms["colleague"],
        )


def test_next_free_slots_for_a_procedure_wait_for_a_free_procedure_room(rooms):
    day = next_weekday(1)
    book(rooms, at(day, 9), type_key="treatment")  # the procedure room until 10:45
    slots = next_free_slots(
        appointment_type=rooms["treatment"],
        location=rooms["location"],
        practitioner=rooms["colleague"],
        after=at(day, 8).astimezone(UTC),
        limit=2,
    )
    assert [(s.local_start(rooms["location"]), s.room) for s in slots] == [
        (at(day, 10, 45), rooms["room"]),
        (at(day, 11), rooms["room"]),
    ]
    seated = next_free_slots(
        appointment_type=rooms["seated"],
        location=rooms["location"],
        practitioner=rooms["colleague"],
        after=at(day, 8).astimezone(UTC),
        limit=1,
    )
    assert [(s.local_start(rooms["location"]), s.room) for s in seated] == [
        (at(day, 9), rooms["consult_room"])
    ]


def test_booking_into_any_free_room_takes_no_more_queries_than_naming_the_room(
    rooms, django_assert_max_num_queries
):
    """The bench measures booking: picking a room by kind costs no extra round trip."""
    day = next_weekday(1)
    book(rooms, at(day, 9), type_key="seated")  # caches warm, as in a running clinic
    with CaptureQueriesContext(connection) as named:
        book(rooms, at(day, 10), type_key="treatment", room=rooms["room"])
    with django_assert_max_num_queries(len(named.captured_queries)):
        book(rooms, at(day, 13), type_key="treatment")


# Twenty desks pressing "Book" on the same slot at once.
RACERS = 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sqlite_on_disk")
@pytest.mark.parametrize("shared", ["practitioner", "room"])
def test_concurrent_bookings_of_one_slot_let_exactly_one_win(shared):
    location = LocationFactory(name="Race clinic")
    room = RoomFactory(location=location, name="Only room")
    treatment = AppointmentTypeFactory(
        name="Race treatment", kind="treatment", duration_minutes=60, needs_room=True
    )
    doctors = [
        StaffMemberFactory(role=Role.PRACTITIONER, locations=[location]) for _ in range(RACERS)
    ]
    for doctor in doctors:
        works_every_day(doctor, location)
    patients = [PatientFactory() for _ in range(RACERS)]
    start = at(next_weekday(2), 10)
    barrier = threading.Barrier(RACERS)
    outcomes = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            book_appointment(
                patient=patients[n],
                practitioner=doctors[0] if shared == "practitioner" else doctors[n],
                location=location,
                appointment_type=treatment,
                starts_at=start,
                room=room,
                actor=Actor.system(),
            )
            outcomes.append("booked")
        except SlotUnavailable as taken:
            outcomes.append(("taken", taken.message, len(taken.next_slots)))
        except Exception as error:  # an unexpected failure must fail the test, not vanish
            outcomes.append(("error", repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("booked") == 1, outcomes
    refusals = [o for o in outcomes if o != "booked"]
    assert len(refusals) == RACERS - 1
    assert all(kind == "taken" and slots > 0 for kind, _message, slots in refusals), refusals
    assert Appointment.objects.filter(starts_at=start).count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="exclusion constraints are PostgreSQL's"
)
@pytest.mark.parametrize("clash", ["practitioner", "room", "patient"])
def test_postgresql_refuses_overlapping_rows_even_when_the_service_is_bypassed(clinic, clash):
    from django.db import IntegrityError, transaction

    day = next_weekday(1)
    first = book(clinic, at(day, 10), type_key="treatment", room=clinic["room"])
    other_doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[clinic["location"]])
    other_room = RoomFactory(location=clinic["location"], name="Room 2")
    copy = {
        "patient": first.patient if clash == "patient" else PatientFactory(),
        "practitioner": first.practitioner if clash == "practitioner" else other_doctor,
        "room": first.room if clash == "room" else other_room,
        "location": first.location,
        "appointment_type": first.appointment_type,
        "starts_at": first.starts_at + timedelta(minutes=30),
        "ends_at": first.ends_at + timedelta(minutes=30),
        "blocked_until": first.blocked_until + timedelta(minutes=30),
    }
    with (
        pytest.raises(IntegrityError, match=f"appointment_no_{clash}_overlap"),
        transaction.atomic(),
    ):
        Appointment.objects.create(**copy)
    booking.cancel_appointment(appointment=first, reason="Moved away", actor=Actor.system())
    assert Appointment.objects.create(**copy).pk


def test_the_next_slots_offered_after_a_patient_clash_are_free_for_that_patient(clinic):
    day = next_weekday(1)
    patient = PatientFactory()
    other = StaffMemberFactory(role=Role.PRACTITIONER, locations=[clinic["location"]])
    works_every_day(other, clinic["location"])
    book(clinic, at(day, 10), patient=patient)
    with pytest.raises(SlotUnavailable) as taken:
        book(clinic, at(day, 10), patient=patient, practitioner=other)
    first = taken.value.next_slots[0]
    assert first.local_start(clinic["location"]) == at(day, 10, 30)


def test_moving_keeps_the_room_and_suggestions_ignore_the_appointment_being_moved(clinic):
    day = next_weekday(1)
    appointment = book(clinic, at(day, 10), room=clinic["room"])  # a consultation in a room
    moved = booking.reschedule_appointment(
        appointment=appointment,
        starts_at=at(day, 11),
        actor=Actor.system(user=clinic["doctor"].user),
    )
    assert moved.room == clinic["room"]
    book(clinic, at(day, 9))
    with pytest.raises(SlotUnavailable) as taken:
        booking.reschedule_appointment(
            appointment=moved, starts_at=at(day, 9), actor=Actor.system(user=clinic["doctor"].user)
        )
    assert taken.value.next_slots[0].local_start(clinic["location"]) == at(day, 9, 30)


def test_a_status_change_is_recorded_once_as_a_status_change(clinic):
    appointment = book(clinic, at(next_weekday(1), 10))
    audit_entries, history_rows = AuditEvent.objects.count(), appointment.history.count()

    booking.set_appointment_status(
        appointment=appointment, status="arrived", actor=Actor.system(user=clinic["doctor"].user)
    )

    assert [c.to_status for c in appointment.status_changes.all()] == ["booked", "arrived"]
    assert AuditEvent.objects.count() == audit_entries
    assert appointment.history.count() == history_rows


# -- the race for rooms (PostgreSQL: the exclusion constraint is what two bookings meet) --------


def race(bookings: list[dict]) -> list:
    """Book all at once from threads; each outcome is the room's name or ("taken", message)."""
    barrier = threading.Barrier(len(bookings))
    outcomes: list = [None] * len(bookings)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = book_appointment(**bookings[n], actor=Actor.system()).room.name
        except SlotUnavailable as taken:
            outcomes[n] = ("taken", taken.message, len(taken.next_slots))
        except Exception as error:  # an unexpected failure must fail the test, not vanish
            outcomes[n] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(bookings))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def race_clinic(practitioners: int, procedure_rooms: int):
    location = LocationFactory(name="Race clinic")
    rooms = [
        RoomFactory(location=location, name=f"Procedure room {n}", kind=RoomKind.PROCEDURE)
        for n in range(1, procedure_rooms + 1)
    ]
    # First by name, and never right for a procedure.
    RoomFactory(location=location, name="A consultation room", kind=RoomKind.CONSULTATION)
    treatment = AppointmentTypeFactory(
        name="Race treatment", kind="treatment", duration_minutes=60, needs_room=True
    )
    doctors = [
        StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])
        for _ in range(practitioners)
    ]
    for doctor in doctors:
        works_every_day(doctor, location)
    return location, rooms, treatment, doctors


def any_room(location, treatment, doctors, start) -> list[dict]:
    return [
        {
            "patient": PatientFactory(),
            "practitioner": doctor,
            "location": location,
            "appointment_type": treatment,
            "starts_at": start,
        }
        for doctor in doctors
    ]


@pytest.mark.postgres
@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_any_room_bookings_take_the_two_free_procedure_rooms_every_time():
    location, _rooms, treatment, doctors = race_clinic(practitioners=2, procedure_rooms=2)
    day = next_weekday(2)
    for trial, hour in enumerate(range(9, 15)):  # six trials, an hour apart
        outcomes = race(any_room(location, treatment, doctors, at(day, hour)))
        assert sorted(outcomes) == ["Procedure room 1", "Procedure room 2"], (trial, outcomes)
    assert Appointment.objects.count() == 12


@pytest.mark.postgres
@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("practitioners", "procedure_rooms"), [(3, 2), (4, 3)])
def test_simultaneous_bookings_fill_every_free_procedure_room_then_refuse_cleanly(
    practitioners, procedure_rooms
):
    location, rooms, treatment, doctors = race_clinic(practitioners, procedure_rooms)
    start = at(next_weekday(2), 10)

    outcomes = race(any_room(location, treatment, doctors, start))

    booked = [o for o in outcomes if isinstance(o, str)]
    assert sorted(booked) == sorted(room.name for room in rooms), outcomes
    refusals = [o for o in outcomes if not isinstance(o, str)]
    assert len(refusals) == practitioners - procedure_rooms
    for kind, message, slots in refusals:
        assert (kind, message) == ("taken", "No procedure room is free at that time.")
        assert slots > 0
    assert Appointment.objects.filter(starts_at=start).count() == procedure_rooms


# -- range queries read only the span asked about -------------------------------------------


def earlier_history(clinic, *, days: int) -> None:
    """A practitioner's past: one consultation a day for `days` days, in one insert."""
    patient = PatientFactory()
    first = at(timezone.localdate(timezone=LONDON) - timedelta(days=days), 10)
    Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            practitioner=clinic["doctor"],
            location=clinic["location"],
            room=clinic["room"],
            appointment_type=clinic["consultation"],
            starts_at=first + timedelta(days=n),
            ends_at=first + timedelta(days=n, minutes=30),
            blocked_until=first + timedelta(days=n, minutes=30),
        )
        for n in range(days)
    )


def test_no_booking_may_block_longer_than_the_longest_type_with_its_buffer(clinic):
    appointment = book(clinic, at(next_weekday(1), 10))
    stretched = Appointment.objects.filter(pk=appointment.pk)
    stretched.update(blocked_until=appointment.starts_at + LONGEST_BLOCK)  # the longest allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        stretched.update(blocked_until=appointment.starts_at + LONGEST_BLOCK + timedelta(minutes=1))


def test_booking_takes_as_many_queries_after_years_of_history_as_on_the_first_day(
    clinic, django_assert_max_num_queries
):
    day = next_weekday(1)
    book(clinic, at(day, 9), type_key="treatment")  # caches warm, as in a running clinic
    with CaptureQueriesContext(connection) as first_day:
        book(clinic, at(day, 11), type_key="treatment")
    earlier_history(clinic, days=400)
    with django_assert_max_num_queries(len(first_day.captured_queries)):
        book(clinic, at(day, 13), type_key="treatment")


def index_reads(plan: dict) -> list[tuple[str, int]]:
    """(index name, rows read through it) for every index scan in an EXPLAIN (ANALYZE, FORMAT
    JSON) plan: what the index handed over, including rows the scan then filtered out."""
    found = []
    if "Index Name" in plan:
        rows = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        found.append((plan["Index Name"], rows * plan["Actual Loops"]))
    for child in plan.get("Plans", []):
        found += index_reads(child)
    return found


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's query plans")
def test_the_conflict_check_reads_the_span_from_an_index_not_the_earlier_history(clinic):
    earlier_history(clinic, days=400)
    start = at(next_weekday(1), 10).astimezone(UTC)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE consultations_appointment")  # as autovacuum would have
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be read whole
    for who in ({"practitioner": clinic["doctor"]}, {"room": clinic["room"]}):
        taken = booking.overlapping(
            booking.active(Appointment.objects.filter(**who)), start, start + timedelta(hours=1)
        )
        plan = json.loads(taken.explain(format="json", analyze=True))[0]["Plan"]
        reads = index_reads(plan)
        assert reads, plan
        # 400 earlier bookings exist; the index hands over none of them.
        assert all(rows == 0 for _, rows in reads), reads
