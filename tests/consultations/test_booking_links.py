"""The booking link in every reminder: the patient confirms, cancels or moves from their phone.

Reminders are queued on django-tasks' database backend and run as the worker would once
due (as in test_reminders); the page is opened through the one public link URL.
"""

import re
from datetime import time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic.actors import Actor
from clinic.models import AuditEvent
from consultations import patient_links
from consultations.booking import services as booking
from consultations.models import AppointmentStatus, LinkPurpose, PatientLink
from tests.factories import AppointmentTypeFactory, PatientFactory, WorkingHoursFactory
from tests.recipes import at, local_day

pytestmark = pytest.mark.django_db

REMINDER = "consultations.booking.reminders.send_appointment_reminder"
LINK = re.compile(r"http://[^\s]+/p/[A-Za-z0-9_-]{43}/")
MOBILE = "+447911123456"


@pytest.fixture(autouse=True)
def queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.REMINDER_HOURS_BEFORE = 24
    settings.PATIENT_CANCEL_NOTICE_HOURS = 24


@pytest.fixture
def doctor(practitioner_user, location):
    staff = practitioner_user.staff
    for weekday in range(7):
        WorkingHoursFactory(
            staff=staff, location=location, weekday=weekday, starts_at=time(9), ends_at=time(17)
        )
    return staff


@pytest.fixture
def consultation(db):
    return AppointmentTypeFactory(
        name="Thread-lift consultation",
        kind="consultation",
        duration_minutes=30,
        needs_room=False,
    )


@pytest.fixture
def ines(db, location):
    return PatientFactory(
        first_name="Inès",
        last_name="Barbosa-Lindqvist",
        email="ines@mail.example",
        phone=MOBILE,
        contact_by_email=True,
        contact_by_sms=True,
        preferred_location=location,
    )


@pytest.fixture
def book(django_capture_on_commit_callbacks, doctor, consultation, ines, location):
    def book(starts_at, patient=ines):
        with django_capture_on_commit_callbacks(execute=True):
            return booking.book_appointment(
                patient=patient,
                practitioner=doctor,
                location=location,
                appointment_type=consultation,
                starts_at=starts_at,
                notes="Worried about jowls",
                actor=Actor.system(user=doctor.user),
            )

    return book


def run_reminders():
    results = DBTaskResult.objects.filter(task_path=REMINDER).order_by("enqueued_at")
    return [r.task.call(*r.args_kwargs["args"], **r.args_kwargs["kwargs"]) for r in results]


def link_for(appointment, patient=None):
    return patient_links.issue_link(
        patient=patient or appointment.patient,
        purpose=LinkPurpose.BOOKING,
        location=appointment.location,
        appointment=appointment,
        actor=Actor.system(),
    )


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def to_confirm(home) -> str:
    """The home page's "Bookings to confirm" list."""
    content = home.content.decode()
    return content.split('data-testid="unconfirmed"', 1)[1].split("</ul>", 1)[0]


def answer(issued, client=None, **data):
    return (client or Client()).post(path_of(issued.url), data)


def test_the_reminder_email_and_text_carry_a_link_that_opens_the_booking(
    book, location, mailoutbox, text_outbox
):
    day = local_day(location, 7)
    book(at(location, day, 10, 30))

    assert run_reminders() == ["sent by email and text"]

    (email,) = mailoutbox
    (text,) = text_outbox
    (url,) = LINK.findall(email.body)
    assert LINK.findall(text.body) == [url]
    assert len(text.body) <= 612
    link = PatientLink.objects.get()
    assert link.purpose == LinkPurpose.BOOKING
    # It works until the appointment starts (to the moment the task ran).
    assert abs(link.expires_at - link.appointment.starts_at) < timedelta(minutes=1)

    page = Client().get(path_of(url))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Hello Inès" in content
    assert "10:30" in content and location.name in content and location.phone in content
    assert "Thread-lift consultation" in content
    assert "I'll be there" in content or "I&#x27;ll be there" in content
    assert "jowls" not in content and "Barbosa" not in content


def test_a_newer_reminder_link_replaces_the_older_one(book, location, mailoutbox):
    appointment = book(at(location, local_day(location, 7), 10))
    older = link_for(appointment)

    run_reminders()

    assert Client().get(path_of(older.url)).status_code == 410


def test_the_patient_confirms_and_the_day_list_and_home_say_so(
    book, location, client, frontdesk_user
):
    appointment = book(at(location, local_day(location, 7), 10))
    issued = link_for(appointment)

    response = answer(issued, answer="confirm")

    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.confirmed_by_patient
    assert AuditEvent.objects.filter(
        patient_id=appointment.patient_id, summary="The patient confirmed they will come"
    ).exists()
    client.force_login(frontdesk_user)
    day_list = client.get(
        reverse("consultations:day_list"), {"date": appointment.local_starts_at.date()}
    )
    assert "Confirmed by the patient" in day_list.content.decode()
    thanks = Client().get(response["Location"])
    assert "Thank you" in thanks.content.decode()


def test_a_booking_the_patient_confirmed_is_no_longer_one_to_confirm_at_the_desk(
    location, doctor, consultation, client, frontdesk_user
):
    # A patient who chose no reminders: the desk would have to call them tomorrow.
    quiet = PatientFactory(contact_by_email=False, contact_by_sms=False)
    tomorrow = booking.book_appointment(
        patient=quiet,
        practitioner=doctor,
        location=location,
        appointment_type=consultation,
        starts_at=at(location, local_day(location, 1), 16),
        send_reminder=False,
        actor=Actor.system(user=doctor.user),
    )
    client.force_login(frontdesk_user)
    assert quiet.full_name in to_confirm(client.get(reverse("home")))

    booking.confirm_attendance(appointment=tomorrow, actor=Actor.system())

    assert quiet.full_name not in to_confirm(client.get(reverse("home")))


def test_the_patient_cancels_with_a_reason_and_the_slot_is_free_again(
    book, location, client, frontdesk_user, doctor, consultation
):
    starts_at = at(location, local_day(location, 7), 10)
    appointment = book(starts_at)
    issued = link_for(appointment)

    response = answer(issued, answer="cancel", reason="A family wedding")

    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_by_patient
    assert "A family wedding" in appointment.cancel_reason
    free = booking.next_free_slots(
        appointment_type=consultation, location=location, practitioner=doctor, after=starts_at
    )
    assert free[0].starts_at == starts_at
    client.force_login(frontdesk_user)
    day_list = client.get(reverse("consultations:day_list"), {"date": starts_at.date()})
    assert "Cancelled by the patient" in day_list.content.decode()
    assert "Cancel my appointment" not in Client().get(path_of(issued.url)).content.decode()


@pytest.mark.parametrize("answer_sent", ["cancel", "move"])
def test_inside_the_notice_period_cancel_and_move_are_refused_with_the_phone_number(
    book, location, answer_sent, settings
):
    settings.PATIENT_CANCEL_NOTICE_HOURS = 24 * 8  # the booking a week ahead is inside it
    appointment = book(at(location, local_day(location, 7), 10))
    issued = link_for(appointment)
    before = (appointment.status, appointment.starts_at)

    page = Client().get(path_of(issued.url)).content.decode()
    response = answer(issued, answer=answer_sent, starts_at=appointment.starts_at.isoformat())

    assert f"please call us on {location.phone}" in page
    assert response.status_code == 400
    assert f"please call us on {location.phone}" in response.content.decode()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.starts_at) == before
    assert not appointment.cancelled_by_patient


def test_inside_the_notice_period_the_patient_may_still_confirm(book, location, settings):
    settings.PATIENT_CANCEL_NOTICE_HOURS = 24 * 8
    appointment = book(at(location, local_day(location, 7), 10))

    assert answer(link_for(appointment), answer="confirm").status_code == 302
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None


def test_the_patient_moves_to_a_free_time_with_the_same_practitioner(
    book, location, doctor, django_capture_on_commit_callbacks
):
    appointment = book(at(location, local_day(location, 7), 10))
    issued = link_for(appointment)
    booking.confirm_attendance(appointment=appointment, actor=Actor.system())

    page = Client().get(path_of(issued.url), {"move": "1"}).content.decode()
    offered = re.findall(r'name="starts_at" id="slot-\d+" value="([^"]+)"', page)
    assert offered
    with django_capture_on_commit_callbacks(execute=True):
        response = answer(issued, answer="move", starts_at=offered[-1])

    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at.isoformat() == offered[-1]
    assert appointment.practitioner == doctor
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.confirmed_at is None, "the confirmation was for the old time"
    reminders = DBTaskResult.objects.filter(task_path=REMINDER)
    assert reminders.count() == 2, "the move queued a reminder for the new time"


def test_a_time_the_page_did_not_offer_is_refused_and_nothing_moves(book, location):
    starts_at = at(location, local_day(location, 7), 10)
    appointment = book(starts_at)

    response = answer(
        link_for(appointment),
        answer="move",
        starts_at=(starts_at + timedelta(hours=12)).isoformat(),  # 22:00, outside the hours
    )

    assert response.status_code == 400
    assert "not free" in response.content.decode()
    assert 'name="starts_at"' in response.content.decode(), "the free times to choose instead"
    appointment.refresh_from_db()
    assert appointment.starts_at == starts_at


def test_the_link_stops_working_once_the_appointment_has_started(book, location, mailoutbox):
    from tests.clock import travel_to

    appointment = book(at(location, local_day(location, 7), 10))
    run_reminders()
    (url,) = LINK.findall(mailoutbox[0].body)

    travel_to(appointment.starts_at + timedelta(minutes=1))

    assert Client().get(path_of(url)).status_code == 410
    assert timezone.now() > appointment.starts_at
