"""Calendar files: the downloaded .ics of one appointment and a practitioner's private feed."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations.booking import services as booking
from consultations.booking.calendar_files import CalendarEvent, build_calendar
from consultations.models import CalendarFeed
from tests.clock import arrive_for
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db


# Setting up bookings -----------------------------------------------------------


def works_every_day(staff, location, start=time(7), end=time(21)):
    for weekday in range(7):
        WorkingHoursFactory(
            staff=staff, location=location, weekday=weekday, starts_at=start, ends_at=end
        )


def local(location, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=location.zone)


def soon(days: int = 7) -> date:
    return timezone.localdate() + timedelta(days=days)


def book(patient, practitioner, location, kind, starts_at, by, **extra):
    return booking.book_appointment(
        patient=patient,
        practitioner=practitioner,
        location=location,
        appointment_type=kind,
        starts_at=starts_at,
        actor=Actor.system(user=by),
        **extra,
    )


@pytest.fixture
def consultation(db):
    return AppointmentTypeFactory(
        name="Consultation", kind="consultation", duration_minutes=30, buffer_minutes=0
    )


@pytest.fixture
def london(db):
    clinic = LocationFactory(
        name="Threadline London",
        address="1 High Street, Marylebone\nLondon W1U 1AA",
        time_zone="Europe/London",
    )
    RoomFactory(location=clinic, name="Treatment room 1")
    return clinic


@pytest.fixture
def new_york(db):
    clinic = LocationFactory(
        name="Threadline New York",
        address="350 Fifth Avenue\nNew York, NY 10118",
        phone="+1 212 555 0100",
        time_zone="America/New_York",
        country="US",
    )
    RoomFactory(location=clinic, name="Suite A")
    return clinic


@pytest.fixture
def doctor(london, new_york):
    staff = StaffMemberFactory(role=Role.PRACTITIONER, locations=[london, new_york])
    works_every_day(staff, london)
    works_every_day(staff, new_york)
    return staff


@pytest.fixture
def desk(london):
    return StaffMemberFactory(role=Role.FRONT_DESK, locations=[london]).user


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Harriet", last_name="Vane", record_number="TL000123")


def physical_lines(body: bytes) -> list[bytes]:
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    assert not any(b"\n" in line or b"\r" in line for line in lines), "bare LF or CR"
    return lines


def unfolded(body: bytes) -> list[str]:
    """Content lines with the folding undone (RFC 5545 §3.1)."""
    return body.decode().replace("\r\n ", "").split("\r\n")[:-1]


def field(body: bytes, name: str) -> list[str]:
    return [line.split(":", 1)[1] for line in unfolded(body) if line.split(":", 1)[0] == name]


# The file itself -------------------------------------------------------------------


def test_a_downloaded_appointment_is_a_well_formed_calendar_file(
    client, desk, doctor, london, consultation, patient
):
    appointment = book(patient, doctor, london, consultation, local(london, soon(), 10), desk)
    client.force_login(desk)
    response = client.get(reverse("consultations:appointment_ics", args=[appointment.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="appointment-{appointment.pk}.ics"'
    )
    body = response.content
    lines = physical_lines(body)
    assert all(len(line) <= 75 for line in lines)
    content = unfolded(body)
    assert content[0] == "BEGIN:VCALENDAR" and content[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in content
    assert content.count("BEGIN:VEVENT") == content.count("END:VEVENT") == 1
    assert field(body, "UID") == [f"appointment-{appointment.pk}@threadline"]
    assert field(body, "SUMMARY") == ["Consultation: Harriet Vane"]
    # The address's commas are escaped; its lines are joined with commas.
    assert field(body, "LOCATION") == [
        "Threadline London\\, 1 High Street\\, Marylebone\\, London W1U 1AA"
    ]
    assert field(body, "STATUS") == ["CONFIRMED"]
    (stamp,) = field(body, "DTSTAMP")
    assert stamp.endswith("Z") and len(stamp) == 16


def test_the_same_appointment_keeps_its_uid_when_it_is_moved(
    client, desk, doctor, london, consultation, patient
):
    appointment = book(patient, doctor, london, consultation, local(london, soon(), 10), desk)
    client.force_login(desk)
    url = reverse("consultations:appointment_ics", args=[appointment.pk])
    before = field(client.get(url).content, "UID")
    booking.reschedule_appointment(
        appointment=appointment, starts_at=local(london, soon(), 14), actor=Actor.system(user=desk)
    )
    after = client.get(url).content
    assert field(after, "UID") == before
    assert field(after, "DTSTART") == [f"{soon():%Y%m%d}T{14 - utc_offset_hours(london):02d}0000Z"]


def utc_offset_hours(location) -> int:
    return int(local(location, soon(), 12).utcoffset().total_seconds() // 3600)


def test_text_is_escaped_and_long_lines_are_folded_between_characters():
    summary = "Back\\slash; semi, comma\nnew line — “Zoë” " + "é" * 80
    text = build_calendar(
        [
            CalendarEvent(
                uid="appointment-1@threadline",
                starts_at=datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("UTC")),
                ends_at=datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("UTC")),
                summary=summary,
            )
        ]
    )
    body = text.encode()
    lines = physical_lines(body)
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode()  # never cut inside a UTF-8 character
    assert any(line.startswith(b" ") for line in lines), "the long summary is folded"
    assert field(body, "SUMMARY") == [
        "Back\\\\slash\\; semi\\, comma\\nnew line — “Zoë” " + "é" * 80
    ]
    assert field(body, "DTSTART") == ["20260105T093000Z"]
    assert field(body, "DTEND") == ["20260105T100000Z"]


def next_clock_change(zone_name: str) -> date:
    zone = ZoneInfo(zone_name)
    day = timezone.localdate() + timedelta(days=2)
    for _ in range(400):
        midnight = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        noon = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
        if midnight != noon:
            return day
        day += timedelta(days=1)
    raise AssertionError(f"no clock change in {zone_name} within a year")


# The UTC offset before and after each change, as the law sets it (not computed).
CLOCK_CHANGES = {
    ("Europe/London", 3): (0, 1),
    ("Europe/London", 10): (1, 0),
    ("America/New_York", 3): (-5, -4),
    ("America/New_York", 11): (-4, -5),
}


@pytest.mark.parametrize("which", ["london", "new_york"])
def test_times_are_in_utc_on_the_days_either_side_of_a_clock_change(
    client, request, desk, doctor, consultation, patient, which
):
    location = request.getfixturevalue(which)
    change = next_clock_change(location.time_zone)
    before_offset, after_offset = CLOCK_CHANGES[(location.time_zone, change.month)]
    eve = change - timedelta(days=1)
    first = book(patient, doctor, location, consultation, local(location, eve, 10), desk)
    second = book(patient, doctor, location, consultation, local(location, change, 10), desk)
    client.force_login(doctor.user)
    for appointment, day, offset in [(first, eve, before_offset), (second, change, after_offset)]:
        body = client.get(reverse("consultations:appointment_ics", args=[appointment.pk])).content
        assert field(body, "DTSTART") == [f"{day:%Y%m%d}T{10 - offset:02d}0000Z"]
        assert field(body, "DTEND") == [f"{day:%Y%m%d}T{10 - offset:02d}3000Z"]


def test_a_cancelled_appointment_downloads_as_cancelled(
    client, desk, doctor, london, consultation, patient
):
    appointment = book(patient, doctor, london, consultation, local(london, soon(), 10), desk)
    booking.cancel_appointment(
        appointment=appointment, reason="Unwell", actor=Actor.system(user=desk)
    )
    client.force_login(desk)
    body = client.get(reverse("consultations:appointment_ics", args=[appointment.pk])).content
    assert field(body, "STATUS") == ["CANCELLED"]


def test_the_download_is_written_to_the_audit_trail(
    client, desk, doctor, london, consultation, patient
):
    appointment = book(patient, doctor, london, consultation, local(london, soon(), 10), desk)
    client.force_login(desk)
    client.get(reverse("consultations:appointment_ics", args=[appointment.pk]))
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == desk
    assert event.patient_id == patient.pk
    assert event.object_id == str(appointment.pk)


def test_an_appointment_at_another_location_cannot_be_downloaded(
    client, desk, doctor, new_york, consultation, patient
):
    appointment = book(patient, doctor, new_york, consultation, local(new_york, soon(), 10), desk)
    client.force_login(desk)  # works in London only
    response = client.get(reverse("consultations:appointment_ics", args=[appointment.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


# The practitioner's feed -------------------------------------------------------------


def feed_url(client, staff) -> str:
    client.force_login(staff.user)
    response = client.get(reverse("consultations:calendar_feed_settings"))
    assert response.status_code == 200
    url = response.context["feed_url"]
    client.logout()
    return url


def test_the_feed_lists_a_practitioners_appointments_without_saying_who_the_patient_is(
    client, desk, doctor, london, new_york, consultation, patient
):
    other_doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[london])
    works_every_day(other_doctor, london)
    mine = [
        book(
            patient, doctor, london, consultation, local(london, soon(), 10), desk, notes="Keloids"
        ),
        book(patient, doctor, new_york, consultation, local(new_york, soon(8), 9), desk),
    ]
    someone = PatientFactory(first_name="Peter", last_name="Wimsey")
    theirs = book(someone, other_doctor, london, consultation, local(london, soon(), 11), desk)

    url = feed_url(client, doctor)
    assert url.startswith("http://testserver/calendar/feed/")
    response = client.get(url)  # a calendar app: nobody signed in

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "no-store, private"
    body = response.content
    assert all(len(line) <= 75 for line in physical_lines(body))
    assert sorted(field(body, "UID")) == sorted(f"appointment-{a.pk}@threadline" for a in mine)
    assert f"appointment-{theirs.pk}@threadline" not in body.decode()
    assert sorted(field(body, "SUMMARY")) == [
        "Consultation · Suite A",
        "Consultation · Treatment room 1",
    ]
    text = body.decode().replace("\r\n ", "")
    for secret in ["Harriet", "Vane", "TL000123", patient.record_number, "Keloids", "Wimsey"]:
        assert secret not in text


def test_cancelled_and_no_show_appointments_are_not_in_the_feed(
    client, desk, doctor, london, consultation, patient
):
    kept = book(patient, doctor, london, consultation, local(london, soon(), 9), desk)
    cancelled = book(patient, doctor, london, consultation, local(london, soon(), 10), desk)
    missed = book(patient, doctor, london, consultation, local(london, soon(), 11), desk)
    booking.cancel_appointment(
        appointment=cancelled, reason="Moved away", actor=Actor.system(user=desk)
    )
    arrive_for(missed)  # a no-show is recorded once the appointment has begun
    booking.set_appointment_status(
        appointment=missed, status="no_show", actor=Actor.system(user=desk)
    )
    body = client.get(feed_url(client, doctor)).content
    assert field(body, "UID") == [f"appointment-{kept.pk}@threadline"]


def test_a_replaced_feed_address_stops_working_at_once(
    client, desk, doctor, london, consultation, patient
):
    book(patient, doctor, london, consultation, local(london, soon(), 10), desk)
    old_url = feed_url(client, doctor)
    assert client.get(old_url).status_code == 200

    client.force_login(doctor.user)
    response = client.post(reverse("consultations:calendar_feed_settings"), {"revoke": "1"})
    assert response.status_code == 302
    new_url = client.get(reverse("consultations:calendar_feed_settings")).context["feed_url"]
    client.logout()

    assert new_url != old_url
    gone = client.get(old_url)
    assert gone.status_code == 404
    assert b"Consultation" not in gone.content and b"VCALENDAR" not in gone.content
    assert client.get(new_url).status_code == 200
    actions = list(
        AuditEvent.objects.filter(object_type="consultations.CalendarFeed").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == sorted([AuditAction.CREATE, AuditAction.UPDATE])


@pytest.mark.parametrize(
    "token", ["x" * 43, "sample", "k" * 42, "k" * 44, "a" * 200, "' OR 1=1 --", "k%00"]
)
def test_an_unknown_feed_address_is_not_found(client, doctor, token):
    CalendarFeed.objects.create(staff=doctor, token="k" * 43)
    response = client.get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store, private"
    assert b"VCALENDAR" not in response.content


def test_the_feed_of_a_practitioner_who_left_stops_working(client, doctor):
    url = feed_url(client, doctor)
    doctor.user.is_active = False
    doctor.user.save()
    assert client.get(url).status_code == 404


def test_opening_the_feed_page_twice_keeps_the_same_address(client, doctor):
    assert feed_url(client, doctor) == feed_url(client, doctor)
    assert CalendarFeed.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.CREATE).count() == 1


def test_the_feed_takes_the_same_number_of_queries_however_many_appointments(
    client, desk, doctor, london, consultation
):
    url = feed_url(client, doctor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    book(PatientFactory(), doctor, london, consultation, local(london, soon(), 8), desk)
    one = queries()
    for hour in range(9, 15):
        book(PatientFactory(), doctor, london, consultation, local(london, soon(), hour), desk)
    assert queries() == one


def test_the_feed_covers_thirty_days_back_and_a_hundred_and_eighty_ahead(
    client, desk, doctor, london, consultation, patient
):
    near = book(patient, doctor, london, consultation, local(london, soon(170), 10), desk)
    far = book(patient, doctor, london, consultation, local(london, soon(200), 10), desk)
    body = client.get(feed_url(client, doctor)).content
    uids = field(body, "UID")
    assert f"appointment-{near.pk}@threadline" in uids
    assert f"appointment-{far.pk}@threadline" not in uids
