"""Reminders by email and text: queued when an appointment is booked or moved, sent when due, if
still wanted.

Reminders are queued with django-tasks' database backend, as in production;
`run_when_due` then does what the worker does once each one falls due.
"""

import socket
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic.actors import Actor
from clinic.models import Role
from consultations.booking import services as booking
from tests.clock import arrive_for
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    WorkingHoursFactory,
)

REMINDER = "consultations.booking.reminders.send_appointment_reminder"
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


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


@pytest.fixture
def queue(settings):
    settings.TASKS = DATABASE_QUEUE
    settings.REMINDER_HOURS_BEFORE = 24
    settings.DEFAULT_FROM_EMAIL = "London clinic <reminders@clinic.example>"


@pytest.fixture
def treatment(db):
    return AppointmentTypeFactory(
        name="Thread lift — jawline", kind="treatment", duration_minutes=60, buffer_minutes=15
    )


@pytest.fixture
def london(db):
    clinic = LocationFactory(
        name="Threadline London",
        address="1 High Street\nLondon W1U 1AA",
        phone="+44 20 7946 0000",
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
def harriet(db):
    return PatientFactory(
        first_name="Harriet",
        last_name="Vane",
        email="harriet@mail.example",
        contact_by_email=True,
    )


@pytest.fixture
def book(django_capture_on_commit_callbacks, doctor, treatment, harriet):
    """Book through the booking service, running what it leaves for after the commit."""

    def book(starts_at, location, patient=harriet, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return booking.book_appointment(
                patient=patient,
                practitioner=doctor,
                location=location,
                appointment_type=treatment,
                starts_at=starts_at,
                actor=Actor.system(user=doctor.user),
                **extra,
            )

    return book


@pytest.fixture
def move(django_capture_on_commit_callbacks, doctor):
    def move(appointment, starts_at):
        with django_capture_on_commit_callbacks(execute=True):
            return booking.reschedule_appointment(
                appointment=appointment, starts_at=starts_at, actor=Actor.system(user=doctor.user)
            )

    return move


def queued() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=REMINDER).order_by("enqueued_at"))


def run_when_due(results: list[DBTaskResult]) -> list[str]:
    """What the worker does once each reminder falls due (here, without the wait)."""
    return [
        result.task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])
        for result in sorted(results, key=lambda r: r.run_after)
    ]


def long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


# What is queued -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("hours", [24, 48])
def test_booking_queues_one_reminder_due_the_set_hours_before_the_start(
    queue, settings, book, london, hours, mailoutbox
):
    settings.REMINDER_HOURS_BEFORE = hours
    appointment = book(local(london, soon(), 10), london)

    (reminder,) = queued()
    assert reminder.run_after == appointment.starts_at - timedelta(hours=hours)
    assert mailoutbox == [], "nothing is sent before it is due"

    assert run_when_due([reminder]) == ["sent by email"]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["harriet@mail.example"]


@pytest.mark.django_db
def test_a_booking_made_without_a_reminder_queues_none_and_sends_nothing(
    queue, book, london, mailoutbox
):
    book(local(london, soon(), 10), london, send_reminder=False)
    assert queued() == []
    assert mailoutbox == []


# What the patient reads ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_reminder_gives_the_time_on_the_london_clock_and_how_to_cancel(
    queue, book, london, mailoutbox
):
    day = soon()
    book(local(london, day, 10, 30), london, notes="Anxious about bruising")
    run_when_due(queued())

    (email,) = mailoutbox
    when = f"{long_date(local(london, day, 10, 30))} at 10:30"
    assert email.subject == f"Your appointment at Threadline London on {when}"
    assert email.from_email == "London clinic <reminders@clinic.example>"
    assert "Dear Harriet," in email.body
    assert "1 High Street\nLondon W1U 1AA" in email.body
    assert "call the clinic on +44 20 7946 0000 to cancel" in email.body
    for private in ["Thread lift", "jawline", "bruising", "Vane"]:
        assert private not in email.subject + email.body
    assert email.alternatives == [], "plain text only"


@pytest.mark.django_db
def test_the_reminder_gives_the_time_on_the_new_york_clock(queue, book, new_york, mailoutbox):
    day = soon()
    starts_at = local(new_york, day, 9, 15)
    book(starts_at, new_york)
    run_when_due(queued())

    (email,) = mailoutbox
    expected = f"{starts_at:%A}, {starts_at:%B} {day.day}, {day.year} at 9:15 AM"
    assert email.subject == f"Your appointment at Threadline New York on {expected}"
    assert f"on {expected} ({starts_at.tzname()}, local time at the clinic)" in email.body
    assert "+1 212 555 0100" in email.body


# When nothing is sent ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("ending", ["cancelled", "no_show"])
def test_an_appointment_that_will_not_happen_gets_no_reminder(
    queue, book, london, doctor, mailoutbox, ending
):
    appointment = book(local(london, soon(), 10), london)
    arrive_for(appointment)  # a no-show is recorded once the appointment has begun
    booking.set_appointment_status(
        appointment=appointment,
        status=ending,
        actor=Actor.system(user=doctor.user),
        reason="Changed plans",
    )
    assert run_when_due(queued()) == [f"not sent: {ending}"]
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_moved_appointment_is_reminded_of_its_new_time_only(
    queue, book, move, london, mailoutbox
):
    appointment = book(local(london, soon(), 10), london)
    new_start = local(london, soon(9), 15, 45)
    move(appointment, new_start)

    first, second = queued()
    assert second.run_after == new_start - timedelta(hours=24)
    assert sorted(run_when_due([first, second])) == ["not sent: moved", "sent by email"]
    (email,) = mailoutbox
    assert f"{long_date(new_start)} at 15:45" in email.subject


@pytest.mark.django_db
def test_an_appointment_moved_away_and_back_is_reminded_once(queue, book, move, london, mailoutbox):
    original = local(london, soon(), 10)
    appointment = book(original, london)
    appointment = move(appointment, local(london, soon(), 14))
    move(appointment, original)

    assert len(queued()) == 3
    assert sorted(run_when_due(queued())) == [
        "not sent: moved",
        "not sent: moved",
        "sent by email",
    ]
    assert len(mailoutbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "wants_email"),
    [("", True), ("peter@mail.example", False)],
    ids=["no email", "opted out"],
)
def test_a_patient_without_email_reminders_gets_none(
    queue, book, london, mailoutbox, email, wants_email
):
    peter = PatientFactory(email=email, contact_by_email=wants_email)
    book(local(london, soon(), 10), london, patient=peter)
    assert run_when_due(queued()) == ["not sent: no reminders chosen"]
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_patient_who_opts_out_after_booking_gets_none(queue, book, london, harriet, mailoutbox):
    book(local(london, soon(), 10), london)
    harriet.contact_by_email = False
    harriet.save()
    run_when_due(queued())
    assert mailoutbox == []


# Reminders by text message ------------------------------------------------------------------


MOBILE = "+447911123456"


@pytest.fixture
def texts_only(db):
    """A patient who chose reminders by text message and not by email."""
    return PatientFactory(
        first_name="Mary",
        last_name="Quant",
        email="mary@mail.example",
        phone=MOBILE,
        contact_by_email=False,
        contact_by_sms=True,
    )


@pytest.mark.django_db
def test_a_patient_who_chose_texts_is_reminded_by_text_on_the_london_clock(
    queue, book, london, texts_only, mailoutbox, text_outbox
):
    day = soon()
    book(local(london, day, 10, 30), london, patient=texts_only, notes="Anxious about bruising")

    assert run_when_due(queued()) == ["sent by text"]
    (text,) = text_outbox
    assert text.to == MOBILE
    when = f"{long_date(local(london, day, 10, 30))} at 10:30"
    assert text.body == (
        f"Mary, a reminder of your appointment at Threadline London on {when}. "
        "To cancel or rebook, please call +44 20 7946 0000."
    )
    for private in ["Thread lift", "jawline", "bruising", "Quant"]:
        assert private not in text.body
    assert mailoutbox == [], "email reminders were not chosen"


@pytest.mark.django_db
def test_the_text_gives_the_time_on_the_new_york_clock(
    queue, book, new_york, texts_only, text_outbox
):
    day = soon()
    starts_at = local(new_york, day, 9, 15)
    book(starts_at, new_york, patient=texts_only)
    run_when_due(queued())

    (text,) = text_outbox
    expected = f"{starts_at:%A}, {starts_at:%B} {day.day}, {day.year} at 9:15 AM"
    assert f"at Threadline New York on {expected}." in text.body
    assert "please call +1 212 555 0100" in text.body


@pytest.mark.django_db
def test_a_patient_who_did_not_choose_texts_gets_none_even_with_a_phone(
    queue, book, london, harriet, mailoutbox, text_outbox
):
    assert harriet.phone and not harriet.contact_by_sms
    book(local(london, soon(), 10), london)
    assert run_when_due(queued()) == ["sent by email"]
    assert len(mailoutbox) == 1
    assert text_outbox == []


@pytest.mark.django_db
def test_a_patient_who_chose_both_gets_an_email_and_a_text(
    queue, book, london, harriet, mailoutbox, text_outbox
):
    harriet.phone, harriet.contact_by_sms = MOBILE, True
    harriet.save()
    book(local(london, soon(), 10), london)
    assert run_when_due(queued()) == ["sent by email and text"]
    assert mailoutbox[0].to == ["harriet@mail.example"]
    assert [text.to for text in text_outbox] == [MOBILE]
    assert text_outbox[0].body.startswith("Harriet, a reminder")


@pytest.mark.django_db
def test_a_patient_who_chose_texts_but_has_no_phone_gets_nothing(
    queue, book, london, mailoutbox, text_outbox
):
    peter = PatientFactory(phone="", contact_by_email=False, contact_by_sms=True)
    book(local(london, soon(), 10), london, patient=peter)
    assert run_when_due(queued()) == ["not sent: no reminders chosen"]
    assert mailoutbox == text_outbox == []


@pytest.mark.django_db
def test_when_the_text_provider_fails_the_email_still_goes_and_the_failure_is_kept(
    queue, settings, book, london, harriet, mailoutbox, caplog, monkeypatch
):
    harriet.phone, harriet.contact_by_sms = MOBILE, True
    harriet.save()
    for proxy in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]:
        monkeypatch.delenv(proxy, raising=False)  # straight to this machine, nowhere else
    nothing_listens = socket.socket()
    nothing_listens.bind(("127.0.0.1", 0))
    port = nothing_listens.getsockname()[1]
    nothing_listens.close()
    settings.TEXT_MESSAGE_BACKEND = "http"
    settings.TEXT_MESSAGE_HTTP_URL = f"http://127.0.0.1:{port}/v1/messages"
    settings.TEXT_MESSAGE_HTTP_TOKEN = "token-not-for-the-log"
    settings.TEXT_MESSAGE_SENDER = "Threadline"
    book(local(london, soon(), 10), london)

    (outcome,) = run_when_due(queued())
    assert outcome.startswith("sent by email; text failed: ")
    assert "could not be reached" in outcome
    assert len(mailoutbox) == 1
    assert "could not be reached" in caplog.text
    assert "token-not-for-the-log" not in caplog.text


@pytest.mark.django_db
def test_when_texts_are_not_configured_a_patient_who_chose_them_is_told_nothing_and_it_is_kept(
    queue, settings, book, london, texts_only, mailoutbox, text_outbox
):
    settings.TEXT_MESSAGE_BACKEND = "disabled"
    book(local(london, soon(), 10), london, patient=texts_only)
    assert run_when_due(queued()) == ["not sent; text messages are not configured"]
    assert mailoutbox == text_outbox == []


# Development and the worker -------------------------------------------------------------------


@pytest.mark.django_db
def test_in_development_the_reminder_is_sent_at_once(settings, book, london, mailoutbox):
    settings.TASKS = IMMEDIATE
    book(local(london, soon(), 10), london)
    assert len(mailoutbox) == 1
    assert not DBTaskResult.objects.exists()


def zone_where_it_is_mid_morning() -> str:
    """A fixed-offset zone whose clock now reads about 10:00, so "today" has time left."""
    offset = 10 - timezone.now().astimezone(UTC).hour
    if offset < -12:
        offset += 24
    if offset > 14:
        offset -= 24
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_the_reminders_that_are_due_and_keeps_the_others(
    queue, doctor, treatment, mailoutbox
):
    here = LocationFactory(name="Here clinic", time_zone=zone_where_it_is_mid_morning())
    RoomFactory(location=here, name="Room 1")
    doctor.locations.add(here)
    works_every_day(doctor, here, time(0), time(23, 45))
    now_here = timezone.localtime(timezone.now(), here.zone)
    in_two_hours = (now_here + timedelta(hours=2)).replace(second=0, microsecond=0)
    in_two_hours = in_two_hours.replace(minute=in_two_hours.minute - in_two_hours.minute % 15)
    today = PatientFactory(email="today@mail.example", contact_by_email=True)
    later = PatientFactory(email="later@mail.example", contact_by_email=True)
    for patient, starts_at in [(today, in_two_hours), (later, in_two_hours + timedelta(days=3))]:
        booking.book_appointment(
            patient=patient,
            practitioner=doctor,
            location=here,
            appointment_type=treatment,
            starts_at=starts_at,
            actor=Actor.system(user=doctor.user),
        )

    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)

    assert [email.to for email in mailoutbox] == [["today@mail.example"]]
    assert DBTaskResult.objects.filter(task_path=REMINDER, status="READY").count() == 1
