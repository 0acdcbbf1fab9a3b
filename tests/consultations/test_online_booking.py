"""The public online booking page: a patient with no account books a consultation."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import Role
from consultations.booking import online
from consultations.booking import services as booking
from consultations.booking.services import next_free_slots
from consultations.models import Appointment, AppointmentStatus, OnlineBookingRequest, Patient
from consultations.screening.rules import ONLINE_QUESTIONS
from consultations.views.patient_links import REQUESTS_PER_ADDRESS
from tests.consultations.test_booking import at, next_weekday, works_every_day
from tests.factories import AppointmentTypeFactory, PatientFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

NO_TO_EVERYTHING = {key: "no" for key, _question, _rules in ONLINE_QUESTIONS}


@pytest.fixture
def clinic(location):
    location.online_booking = True
    location.phone = "+44 20 7946 0000"
    location.save()
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])
    works_every_day(doctor, location)
    consultation = AppointmentTypeFactory(
        name="Thread-lift consultation", kind="consultation", duration_minutes=30, needs_room=False
    )
    AppointmentTypeFactory(name="Thread lift", kind="treatment", needs_room=False)
    return {"location": location, "doctor": doctor, "consultation": consultation}


@pytest.fixture
def patient_browser():
    return Client(raise_request_exception=False)


def url(name, clinic, *args):
    return reverse(f"online_booking:{name}", args=[clinic["location"].pk, *args])


def eligible(browser, clinic) -> str:
    """Answer no to every question; the eligibility pass the page hands on."""
    response = browser.post(url("start", clinic), NO_TO_EVERYTHING)
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["go"][0]


def first_slot(clinic):
    return next_free_slots(
        appointment_type=clinic["consultation"], location=clinic["location"], limit=1
    )[0]


def hold_data(clinic, go, slot=None, **overrides):
    slot = slot or first_slot(clinic)
    return {
        "go": go,
        "appointment_type": clinic["consultation"].pk,
        "practitioner": slot.practitioner.pk,
        "starts_at": slot.starts_at.isoformat(),
        "website": "",
        **overrides,
    }


def hold_through_the_page(browser, clinic, slot=None) -> str:
    """Hold a slot as the page does; the details page's address."""
    response = browser.post(url("hold", clinic), hold_data(clinic, eligible(browser, clinic), slot))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def details_data(**overrides):
    return {
        "first_name": "Imogen",
        "last_name": "Okafor-Hale",
        "date_of_birth": (timezone.localdate() - timedelta(days=365 * 40)).isoformat(),
        "sex": "female",
        "email": "imogen.okafor@mail.example",
        "phone": "07911 123456",
        "contact_by_email": "on",
        "website": "",
        **overrides,
    }


def test_a_patient_books_a_consultation_from_questions_to_confirmation(
    clinic, patient_browser, django_capture_on_commit_callbacks
):
    assert patient_browser.get(url("start", clinic)).status_code == 200
    go = eligible(patient_browser, clinic)
    listing = patient_browser.get(url("times", clinic), {"go": go})
    assert listing.status_code == 200
    slot = first_slot(clinic)
    assert slot.starts_at.isoformat().encode() in listing.content
    details_page = hold_through_the_page(patient_browser, clinic, slot)
    held = Appointment.objects.get()
    assert held.status == AppointmentStatus.HELD and held.patient is None
    page = patient_browser.get(details_page)
    assert b"We keep this time for you until" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = patient_browser.post(details_page, details_data())
    assert response.status_code == 302
    done = patient_browser.get(response["Location"])
    assert b"Your consultation is booked" in done.content
    held.refresh_from_db()
    assert held.status == AppointmentStatus.BOOKED
    assert held.patient.email == "imogen.okafor@mail.example"
    assert any(message.attachments for message in mail.outbox)


def test_a_patient_who_gave_a_phone_alone_and_chose_texts_is_confirmed_by_text(
    clinic, patient_browser, django_capture_on_commit_callbacks, text_outbox
):
    details_page = hold_through_the_page(patient_browser, clinic)
    with django_capture_on_commit_callbacks(execute=True):
        response = patient_browser.post(
            details_page,
            details_data(email="", contact_by_email="", contact_by_sms="on"),
        )

    assert response.status_code == 302
    assert not mail.outbox
    (text,) = [text for text in text_outbox if "is booked for" in text.body]
    assert text.to == "+447911123456"
    assert re.search(r"/p/[A-Za-z0-9_-]{43}/", text.body)


def test_the_page_does_not_exist_where_online_booking_is_off(clinic, patient_browser):
    clinic["location"].online_booking = False
    clinic["location"].save()
    assert patient_browser.get(url("start", clinic)).status_code == 404
    assert patient_browser.post(url("start", clinic), NO_TO_EVERYTHING).status_code == 404


@pytest.mark.parametrize("question", [key for key, _question, _rules in ONLINE_QUESTIONS])
def test_a_yes_stops_the_booking_before_any_slot_is_held_and_gives_the_phone(
    clinic, patient_browser, question
):
    response = patient_browser.post(url("start", clinic), {**NO_TO_EVERYTHING, question: "yes"})
    assert response.status_code == 200
    assert b'data-testid="not-eligible"' in response.content
    assert clinic["location"].phone.encode() in response.content
    assert not Appointment.objects.exists()


def test_the_times_cannot_be_reached_without_answering_the_questions(clinic, patient_browser):
    response = patient_browser.get(url("times", clinic), {"go": "forged"})
    assert response.status_code == 400
    response = patient_browser.post(url("hold", clinic), hold_data(clinic, "forged"))
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_date_of_birth_under_18_stops_the_booking_and_frees_the_slot(clinic, patient_browser):
    details_page = hold_through_the_page(patient_browser, clinic)
    sixteen = (timezone.localdate() - timedelta(days=365 * 16)).isoformat()
    response = patient_browser.post(details_page, details_data(date_of_birth=sixteen))
    assert b'data-testid="not-eligible"' in response.content
    assert not Patient.objects.exists()
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED


def test_the_honeypot_filled_saves_nothing(clinic, patient_browser):
    go = eligible(patient_browser, clinic)
    response = patient_browser.post(url("hold", clinic), hold_data(clinic, go, website="spam"))
    assert response.status_code == 400
    assert not Appointment.objects.exists()
    details_page = hold_through_the_page(patient_browser, clinic)
    response = patient_browser.post(details_page, details_data(website="http://spam.example"))
    assert response.status_code == 400
    assert not Patient.objects.exists()


def test_an_address_may_hold_ten_slots_an_hour_and_no_more(clinic, patient_browser):
    go = eligible(patient_browser, clinic)
    for _ in range(online.HOLDS_PER_ADDRESS):
        assert online.hold_allowed("127.0.0.1")
    response = patient_browser.post(url("hold", clinic), hold_data(clinic, go))
    assert response.status_code == 429
    assert b"Too many bookings" in response.content
    assert not Appointment.objects.exists()


def test_one_email_address_books_three_times_a_day_and_no_more(clinic, patient_browser):
    details_page = hold_through_the_page(patient_browser, clinic)
    for _ in range(online.BOOKINGS_PER_CONTACT):
        assert online.booking_allowed(email="Imogen.Okafor@mail.example", phone="")
    response = patient_browser.post(details_page, details_data())
    assert response.status_code == 429
    assert not Patient.objects.exists()
    assert Appointment.objects.get().status == AppointmentStatus.HELD


def test_five_hundred_requests_from_one_address_are_turned_away_cleanly(clinic, patient_browser):
    statuses = [patient_browser.get(url("start", clinic)).status_code for _ in range(500)]
    assert set(statuses) == {200, 429}
    assert statuses.index(429) == REQUESTS_PER_ADDRESS
    assert not Appointment.objects.exists()


def test_a_future_date_of_birth_is_refused_and_nothing_is_saved(clinic, patient_browser):
    details_page = hold_through_the_page(patient_browser, clinic)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = patient_browser.post(details_page, details_data(date_of_birth=tomorrow))
    assert response.status_code == 400
    assert b"The date of birth is in the future." in response.content
    assert not Patient.objects.exists()


def test_script_and_file_urls_in_every_field_never_break_the_page(clinic, patient_browser):
    details_page = hold_through_the_page(patient_browser, clinic)
    hostile = "<script>alert(1)</script> file:///etc/passwd"
    response = patient_browser.post(
        details_page, dict.fromkeys(details_data(), hostile) | {"website": ""}
    )
    assert response.status_code == 400
    assert b"<script>alert(1)</script>" not in response.content
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    "tampered",
    [
        {"starts_at": "not a time"},
        {"starts_at": "2026-01-01T03:00:00"},  # no time zone
        {"appointment_type": "2147483647"},
        {"practitioner": "2147483647"},
    ],
)
def test_a_tampered_slot_is_refused_and_holds_nothing(clinic, patient_browser, tampered):
    go = eligible(patient_browser, clinic)
    response = patient_browser.post(url("hold", clinic), hold_data(clinic, go, **tampered))
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_time_outside_the_hours_or_a_treatment_cannot_be_held(clinic, patient_browser):
    go = eligible(patient_browser, clinic)
    night = at(next_weekday(1), 23)
    response = patient_browser.post(
        url("hold", clinic), hold_data(clinic, go, starts_at=night.isoformat())
    )
    assert response.status_code == 400
    treatment = AppointmentTypeFactory(kind="treatment", needs_room=False)
    response = patient_browser.post(
        url("hold", clinic), hold_data(clinic, go, appointment_type=treatment.pk)
    )
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_tampered_hold_reference_or_another_location_is_not_found(clinic, patient_browser):
    details_page = hold_through_the_page(patient_browser, clinic)
    assert patient_browser.get(details_page + "x/").status_code == 404
    assert patient_browser.get(details_page.replace(":", "-")).status_code == 404


def test_a_slot_taken_while_the_form_was_open_shows_the_next_times_and_saves_nothing(
    clinic, patient_browser
):
    slot = first_slot(clinic)
    details_page = hold_through_the_page(patient_browser, clinic, slot)
    Appointment.objects.update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    booking.book_appointment(
        patient=PatientFactory(),
        practitioner=slot.practitioner,
        location=clinic["location"],
        appointment_type=clinic["consultation"],
        starts_at=slot.starts_at,
        actor=Actor.system(),
    )
    patients = Patient.objects.count()
    response = patient_browser.post(details_page, details_data())
    assert response.status_code == 409
    assert b'data-testid="taken"' in response.content
    assert b'data-testid="slot"' in response.content
    assert Patient.objects.count() == patients


def test_details_sent_after_the_hold_expired_still_book_the_time_if_it_is_free(
    clinic, patient_browser
):
    details_page = hold_through_the_page(patient_browser, clinic)
    Appointment.objects.update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    booking.release_expired_holds()
    page = patient_browser.get(details_page)
    assert b"if it is still free when you send your details" in page.content
    response = patient_browser.post(details_page, details_data())
    assert response.status_code == 302
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_a_held_slot_is_not_offered_to_another_patient(clinic, patient_browser):
    slot = first_slot(clinic)
    hold_through_the_page(patient_browser, clinic, slot)
    other = Client()
    go = eligible(other, clinic)
    listing = other.get(url("times", clinic), {"go": go})
    assert slot.starts_at.isoformat().encode() not in listing.content
    response = other.post(url("hold", clinic), hold_data(clinic, go, slot))
    assert response.status_code == 409
    assert Appointment.objects.count() == 1


def test_a_likely_existing_patient_goes_to_the_desk_who_confirms_the_match(
    clinic, patient_browser, frontdesk_user
):
    existing = PatientFactory(email="imogen.okafor@mail.example")
    details_page = hold_through_the_page(patient_browser, clinic)
    response = patient_browser.post(details_page, details_data())
    done = patient_browser.get(response["Location"])
    assert b'data-testid="awaiting-desk"' in done.content
    assert existing.last_name.encode() not in done.content
    request = OnlineBookingRequest.objects.get()

    desk = Client()
    desk.force_login(frontdesk_user)
    home = desk.get(reverse("home"))
    assert b"Online bookings to confirm" in home.content
    page = desk.get(reverse("consultations:online_request", args=[request.pk]))
    assert existing.record_number.encode() in page.content
    response = desk.post(
        reverse("consultations:online_request", args=[request.pk]),
        {"decision": "link", "patient": existing.pk},
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.patient == existing
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_calendar_shows_a_hold_without_a_patient(clinic, patient_browser, frontdesk_user):
    slot = first_slot(clinic)
    hold_through_the_page(patient_browser, clinic, slot)
    desk = Client()
    desk.force_login(frontdesk_user)
    day = timezone.localtime(slot.starts_at, clinic["location"].zone).date()
    response = desk.get(reverse("consultations:calendar_day"), {"date": day.isoformat()})
    assert response.status_code == 200
    assert b"Held for an online booking until" in response.content
    day_list = desk.get(reverse("consultations:day_list"), {"date": day.isoformat()})
    assert day_list.status_code == 200


def test_the_public_pages_carry_no_staff_navigation_and_the_strict_csp(clinic, patient_browser):
    response = patient_browser.get(url("start", clinic))
    assert b"Main navigation" not in response.content
    assert b"<script" not in response.content
    assert "script-src 'self'" in response["Content-Security-Policy"]


# Managing the booking from the confirmation's link ---------------------------------------

LINK = re.compile(r"/p/[A-Za-z0-9_-]{43}/")


def book_online(browser, clinic, capture) -> Appointment:
    """Book online, a few days ahead (outside the notice period)."""
    slot = next_free_slots(
        appointment_type=clinic["consultation"],
        location=clinic["location"],
        after=timezone.now() + timedelta(days=3),
        limit=1,
    )[0]
    details_page = hold_through_the_page(browser, clinic, slot)
    with capture(execute=True):
        browser.post(details_page, details_data())
    return Appointment.objects.get(status=AppointmentStatus.BOOKED)


def manage_link() -> str:
    [confirmation] = [message for message in mail.outbox if message.attachments]
    return LINK.search(confirmation.body).group(0)


def test_the_confirmation_carries_the_booking_link_where_the_patient_cancels(
    clinic, patient_browser, django_capture_on_commit_callbacks
):
    appointment = book_online(patient_browser, clinic, django_capture_on_commit_callbacks)
    link = manage_link()
    page = patient_browser.get(link)
    assert page.status_code == 200
    assert b'data-testid="booking"' in page.content
    assert b"Okafor-Hale" not in page.content  # the first name only
    response = patient_browser.post(link, {"answer": "cancel"}, follow=True)
    assert b"Your appointment is cancelled" in response.content
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


def test_inside_the_notice_period_the_link_asks_the_patient_to_call(
    clinic, patient_browser, django_capture_on_commit_callbacks, settings
):
    appointment = book_online(patient_browser, clinic, django_capture_on_commit_callbacks)
    settings.PATIENT_CANCEL_NOTICE_HOURS = 24 * 14  # the booking is now "too close"
    link = manage_link()
    page = patient_browser.get(link)
    assert b'data-testid="notice"' in page.content
    assert clinic["location"].phone.encode() in page.content
    response = patient_browser.post(link, {"answer": "cancel"})
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_behind_the_clinics_proxy_each_patients_own_address_is_limited(
    clinic, patient_browser, settings
):
    settings.PROXY_COUNT = 1
    for _ in range(online.HOLDS_PER_ADDRESS):
        assert online.hold_allowed("198.51.100.20")
    go = eligible(patient_browser, clinic)
    refused = patient_browser.post(
        url("hold", clinic), hold_data(clinic, go), HTTP_X_FORWARDED_FOR="198.51.100.20"
    )
    assert refused.status_code == 429
    another_patient = patient_browser.post(
        url("hold", clinic), hold_data(clinic, go), HTTP_X_FORWARDED_FOR="198.51.100.21"
    )
    assert another_patient.status_code == 302
