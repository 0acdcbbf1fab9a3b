"""`manage.py setup_clinic`: a real clinic's first day, on an empty database with DEBUG off.

Runs on both databases (the PostgreSQL run of the suite is the empty PostgreSQL
database of the issue). After the set-up, the clinic books, screens, plans,
consents, treats and prints through the same services the pages use, with the
content setup_clinic installed and nothing from the demo loader.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from clinic.actors import Actor
from clinic.models import AuditEvent, Location, Organisation, Role, StaffMember
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.models import Appointment, AppointmentType, Patient
from tests.factories import (
    RoomFactory,
    StaffMemberFactory,
    ThreadProductFactory,
    UserFactory,
    WorkingHoursFactory,
)
from tests.recipes import (
    LOCAL_LIDOCAINE,
    accepted_plan,
    receive,
    screened_patient,
    signed_consent,
    start_session,
    two_vector_plan,
)
from treatments import default_content
from treatments.documents import AftercareSheet
from treatments.models import AftercareTemplate, ConsentTemplate, ProtocolPreset
from treatments.services import sessions as session_services

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 42"
FLAGS = [
    "--no-input",
    "--clinic-name=Harbour Aesthetics",
    "--location-name=Harbour Aesthetics Leith",
    "--time-zone=Europe/London",
    "--address=4 Shore\\nEdinburgh EH6 6QW",
    "--phone=+44 131 496 0000",
    "--emergency-phone=+44 131 496 0999",
    "--country=GB",
    "--manager-username=ailsa",
    "--manager-email=ailsa@harbour.example",
]


@pytest.fixture(autouse=True)
def production(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("SETUP_MANAGER_PASSWORD", PASSWORD)


def setup(*flags: str) -> str:
    out = io.StringIO()
    call_command("setup_clinic", *(flags or FLAGS), stdout=out)
    return out.getvalue()


def every_row() -> dict[str, int]:
    """How many rows every model holds (the whole database, history tables included)."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def test_setup_clinic_creates_the_clinic_its_manager_and_the_default_content_and_no_demo():
    assert not Location.objects.exists() and not Patient.objects.exists()
    out = setup()
    assert Organisation.objects.get().name == "Harbour Aesthetics"
    location = Location.objects.get()
    assert (location.name, location.time_zone, location.country) == (
        "Harbour Aesthetics Leith",
        "Europe/London",
        "GB",
    )
    assert location.address == "4 Shore\nEdinburgh EH6 6QW"
    manager = StaffMember.objects.get()
    assert manager.role == Role.MANAGER and list(manager.locations.all()) == [location]
    assert manager.user.check_password(PASSWORD) and manager.user.email == "ailsa@harbour.example"
    assert manager.user.has_perm("clinic.view_reports")
    consent = ConsentTemplate.objects.get(is_current=True)
    assert consent.risks and "Dermal fillers" in consent.alternatives
    assert AftercareTemplate.objects.count() == len(default_content.AFTERCARE)
    # A thread lift needs a procedure room; the others sit in a consultation room first.
    assert dict(AppointmentType.objects.values_list("name", "room_kind")) == {
        "Consultation": "consultation",
        "Thread lift": "procedure",
        "2-week review": "consultation",
        "3-month review": "consultation",
        "6-month review": "consultation",
    }
    # No products yet: the presets wait for one, and say so.
    assert not ProtocolPreset.objects.exists()
    assert "Waiting: the preset Midface lift, 4 cogs per side" in out
    # Nothing from the demo: one account, no patients, no bookings.
    assert get_user_model().objects.count() == 1
    assert not Patient.objects.exists() and not Appointment.objects.exists()
    assert AuditEvent.objects.filter(summary="Set up the location Harbour Aesthetics Leith")


def test_the_location_takes_its_countrys_currency_unless_one_is_given():
    setup()
    assert Location.objects.get().currency == "GBP"
    Location.objects.all().delete()
    setup(*FLAGS, "--location-name=Harbour Aesthetics Dublin", "--currency=eur")
    assert Location.objects.get().currency == "EUR"


def test_setup_clinic_twice_changes_nothing():
    setup()
    before = every_row()
    out = setup()
    assert "already set up: nothing changed" in out
    assert every_row() == before


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--time-zone=Europe/Londn", "“Europe/Londn” is not a time zone"),
        ("--time-zone=../../etc/passwd", "is not a time zone"),
        ("--manager-email=not-an-address", "is not an email address for the manager"),
        ("--country=GBR", "two-letter code"),
        ("--location-name=", "The location name is missing."),
        (
            "--emergency-phone=+44 7700 900456",
            "The out-of-hours emergency phone “+44 7700 900456” is not valid: "
            "Enter a UK phone number such as 0121 234 5678 or +44 121 234 5678.",
        ),
        ("--phone=0131 496", "Enter a UK phone number such as"),
        ("--country=JP", "Give the currency prices are shown in (--currency"),
        ("--currency=pounds", "The currency is a three-letter ISO 4217 code"),
    ],
)
def test_a_bad_flag_gives_one_clear_line_and_creates_nothing(flag, message):
    name = flag.split("=")[0]
    flags = [f for f in FLAGS if not f.startswith(name + "=")] + [flag]
    before = every_row()
    with pytest.raises(CommandError) as refused:
        setup(*flags)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert every_row() == before


@pytest.mark.parametrize("password", ["password123", "short", "ailsa-harbour", ""])
def test_a_weak_or_missing_password_gives_one_clear_line_and_creates_nothing(monkeypatch, password):
    monkeypatch.setenv("SETUP_MANAGER_PASSWORD", password)
    before = every_row()
    with pytest.raises(CommandError) as refused:
        setup()
    message = str(refused.value)
    assert "password" in message and "\n" not in message
    assert every_row() == before


def walk_in_start(location, minutes: int):
    """A walk-in start that began just now and ends today, whatever the clock says."""
    now = timezone.localtime(timezone.now(), location.zone)
    back = timedelta(minutes=minutes - 1) if now.time() >= time(2) else timedelta(minutes=1)
    return now - back


def test_a_clinic_set_up_this_way_can_book_screen_plan_consent_treat_and_print(
    client, private_media
):
    setup()
    location = Location.objects.get()
    manager = StaffMember.objects.get(role=Role.MANAGER)
    # What a manager then adds in Clinic settings (rows no service writes) and on the Stock page.
    doctor = StaffMemberFactory(
        user=UserFactory(first_name="Mairi", last_name="Campbell"),
        role=Role.PRACTITIONER,
        locations=[location],
        registration_number="GMC 7654321",
    )
    for weekday in range(7):
        WorkingHoursFactory(
            staff=doctor,
            location=location,
            weekday=weekday,
            starts_at=time(0),
            ends_at=time(23, 59, 59),
        )
    RoomFactory(location=location, name="Treatment room")
    product = ThreadProductFactory()
    lot = receive(product, location, "LEITH-1", quantity=20, by=manager.user)
    # With a product of its kind in stock, setup_clinic now installs the presets.
    assert "2 protocol presets" in setup()
    assert ProtocolPreset.objects.count() == 2

    types = {t.name: t for t in AppointmentType.objects.all()}
    patient = consultation_services.register_patient(
        details={
            "first_name": "Isla",
            "last_name": "Fraser",
            "date_of_birth": timezone.localdate() - timedelta(days=44 * 365),
            "sex": "female",
            "phone": "+447911123456",
            "email": "isla@mail.example",
        },
        actor=Actor.system(user=manager.user),
    )
    tomorrow = timezone.localdate(timezone=location.zone) + timedelta(days=1)
    consultation = booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=types["Consultation"],
        starts_at=datetime.combine(tomorrow, time(10), tzinfo=location.zone),
        actor=Actor.system(user=manager.user),
    )
    assert consultation.appointment_type.name == "Consultation"

    screened_patient(doctor, patient=patient)
    plan = two_vector_plan(patient=patient, doctor=doctor, location=location, product=product)
    plan = accepted_plan(plan, doctor.user)
    template = ConsentTemplate.objects.get(is_current=True)
    consent = signed_consent(plan=plan, template=template, doctor=doctor)

    treatment = booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=types["Thread lift"],
        starts_at=walk_in_start(location, types["Thread lift"].duration_minutes),
        actor=Actor.system(user=manager.user),
        walk_in=True,
    )
    session = start_session(appointment=treatment, plan=plan, by=doctor.user)
    session = session_services.complete_session(
        session=session,
        placements=[
            {"vector": vector.pk, "lot": lot.pk, "count": vector.count, "deviation": ""}
            for vector in plan.vectors.all()
        ],
        details=LOCAL_LIDOCAINE,
        actor=Actor.system(user=doctor.user),
    )
    reviews = Appointment.objects.filter(patient=patient, appointment_type__kind="review")
    assert sorted(reviews.values_list("appointment_type__name", flat=True)) == [
        "2-week review",
        "3-month review",
        "6-month review",
    ]

    client.force_login(doctor.user)
    aftercare = client.get(reverse("treatments:aftercare_pdf", args=[session.pk]))
    assert aftercare.status_code == 200
    text = pdf_text(aftercare.content)
    assert "Hold a cold pack" in text  # an installed instruction
    assert "Swelling in front of the ear" in text  # the parotid warning sign
    assert "2-week review" in text and "6-month review" in text
    assert "PDO threads dissolve gradually" in text
    sheet = AftercareSheet(session).render()
    assert sheet.startswith(b"%PDF-")

    printed = client.get(reverse("treatments:consent_pdf", args=[consent.pk]))
    assert printed.status_code == 200
    consent_text = pdf_text(printed.content)
    assert "Isla Fraser" in consent_text
    assert template.risks[0] in consent_text
    assert "Dermal fillers" in consent_text
