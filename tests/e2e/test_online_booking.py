"""A patient books a consultation online on their phone (390x844), with no account."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from clinic.actors import Actor
from consultations.booking import online
from consultations.booking import services as booking
from consultations.models import Appointment, AppointmentStatus, AppointmentType
from tests.e2e.test_pages_fit_and_are_accessible import fits_and_passes_axe
from tests.recipes import appointment_type, practitioner_at


@pytest.fixture
def clinic(location):
    location.online_booking = True
    location.save()
    practitioner_at(location, "Ada", "Okafor")
    appointment_type("Thread-lift consultation", minutes=30)
    return location


def answer_no_to_everything(page):
    for group in page.get_by_test_id("eligibility-form").get_by_role("group").all():
        group.get_by_role("radio", name="No").check()


def test_a_patient_books_a_consultation_online_on_a_phone(phone, clinic):
    phone.goto(reverse("online_booking:start", args=[clinic.pk]))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Book a consultation")
    assert fits_and_passes_axe(phone) == []
    answer_no_to_everything(phone)
    phone.get_by_role("button", name="Continue").click()

    expect(phone.get_by_role("heading", level=1)).to_have_text("Choose a time")
    assert fits_and_passes_axe(phone) == []
    phone.get_by_test_id("slot").first.click()

    expect(phone.get_by_role("heading", level=1)).to_have_text("Your details")
    expect(phone.get_by_test_id("held-slot")).to_contain_text("We keep this time for you until")
    assert fits_and_passes_axe(phone) == []
    phone.get_by_label("First name").fill("Imogen")
    phone.get_by_label("Last name").fill("Okafor-Hale")
    phone.get_by_label("Date of birth").fill("1984-06-02")
    phone.get_by_label("Sex").select_option("female")
    phone.get_by_label("Email", exact=True).fill("imogen.okafor@mail.example")
    phone.get_by_label("Phone", exact=True).fill("07911 123456")
    phone.get_by_label("Send me a reminder by email the day before").check()
    phone.get_by_role("button", name="Book this consultation").click()

    expect(phone.get_by_test_id("booked")).to_contain_text("Thread-lift consultation")
    assert fits_and_passes_axe(phone) == []
    appointment = Appointment.objects.get()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.patient.last_name == "Okafor-Hale"


def test_an_ineligible_answer_stops_the_booking_on_a_phone(phone, clinic):
    phone.goto(reverse("online_booking:start", args=[clinic.pk]))
    answer_no_to_everything(phone)
    phone.get_by_role("group", name="Are you pregnant or breastfeeding?").get_by_role(
        "radio", name="Yes"
    ).check()
    phone.get_by_role("button", name="Continue").click()

    expect(phone.get_by_test_id("not-eligible")).to_contain_text("Pregnant or breastfeeding")
    expect(phone.get_by_test_id("clinic-phone")).to_have_text(clinic.phone)
    assert fits_and_passes_axe(phone) == []
    assert not Appointment.objects.exists()


def test_a_patient_cancels_from_the_link_in_their_confirmation(phone, clinic):
    consultation = AppointmentType.objects.get()
    slot = booking.next_free_slots(
        appointment_type=consultation,
        location=clinic,
        after=timezone.now() + timedelta(days=3),
        limit=1,
    )[0]
    held = booking.hold_slot(
        location=clinic,
        appointment_type=consultation,
        practitioner=slot.practitioner,
        starts_at=slot.starts_at,
        actor=Actor(user=None),
    )
    details = {
        "first_name": "Imogen",
        "last_name": "Okafor-Hale",
        "date_of_birth": date(1984, 6, 2),
        "sex": "female",
        "email": "imogen.okafor@mail.example",
        "phone": "",
        "contact_by_email": True,
        "contact_by_sms": False,
    }
    online.submit_online_booking(hold=held, details=details, actor=Actor(user=None))
    [confirmation] = [message for message in mail.outbox if message.attachments]
    link = re.search(r"/p/[A-Za-z0-9_-]{43}/", confirmation.body).group(0)

    phone.goto(link)
    expect(phone.get_by_test_id("booking")).to_contain_text("Thread-lift consultation")
    assert fits_and_passes_axe(phone) == []
    phone.get_by_role("button", name="Cancel my appointment").click()
    expect(phone.get_by_role("status")).to_contain_text("Your appointment is cancelled")
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED
