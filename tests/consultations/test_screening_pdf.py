"""The printed screening summary: what it says, that patient text stays text, and the audit."""

import io
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services
from consultations.models import Screening
from consultations.screening import services as screening_services
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NEGATIVE = {
    "concerned": False,
    "preoccupied": False,
    "distress": 1,
    "social": 1,
    "work": 1,
    "avoidance": 1,
    "interference": False,
}
POSITIVE = {**NEGATIVE, "concerned": True, "preoccupied": True, "distress": 4}
JUSTIFICATION = "Seen by her psychologist, who supports treatment; expectations realistic."
HOSTILE_NAME = '<img src="file:///etc/passwd">'
HOSTILE_DETAILS = '<link rel="stylesheet" href="http://attacker.example/x.css">'


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squeezed(text: str) -> str:
    """Without white space: long lines wrap where the layout likes."""
    return "".join(text.split())


def screened_patient(
    practitioner, *, body_image=NEGATIVE, patient=None, appointment=None, **history
):
    patient = patient or PatientFactory(
        first_name="Mary", last_name="Quant", date_of_birth=date(1980, 3, 1)
    )
    actor = Actor.system(user=practitioner)
    services.submit_medical_history(patient=patient, answers=history, actor=actor)
    consultation = services.start_consultation(
        patient=patient, practitioner=practitioner.staff, appointment=appointment, actor=actor
    )
    services.save_assessment(
        consultation=consultation,
        details={"fitzpatrick": 2, "glogau": 3},
        areas={"jawline": {"concern": "Jowls", "goal": "Lift", "laxity": 3}},
        actor=actor,
    )
    return screening_services.run_screening(
        consultation=consultation, body_image=body_image, actor=actor
    )


def print_summary(client, user, screening):
    client.force_login(user)
    response = client.get(reverse("consultations:screening_pdf", args=[screening.pk]))
    assert response.status_code == 200
    return response


def test_the_summary_lists_the_triggered_rules_and_the_accepted_decision(client, practitioner_user):
    screening = screened_patient(
        practitioner_user,
        anticoagulants=True,
        anticoagulant_details="Apixaban 5 mg",
        smoking="current",
    )
    screening_services.decide_screening(
        screening=screening, decision="accepted", actor=Actor.system(user=practitioner_user)
    )
    response = print_summary(client, practitioner_user, screening)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")

    text = pdf_text(response.content)
    flat = squeezed(text)
    assert "Suitability screening" in text
    assert "Mary Quant" in text
    assert screening.patient.record_number in text
    assert "1 Mar 1980" in text
    assert squeezed("Outcome: Suitable with precautions") in flat
    assert squeezed("Takes anticoagulants or antiplatelets: Apixaban 5 mg") in flat
    assert squeezed("Do not stop anticoagulants without the prescriber's advice") in flat
    assert "Smokes" in text
    assert squeezed("Advise stopping for two weeks before and after") in flat
    assert squeezed("Body-image screen: negative") in flat
    assert "2026.11-1" in text
    assert squeezed(f"Outcome accepted by {practitioner_user.get_full_name()}") in flat
    # Rules that did not trigger are not listed.
    assert "Pregnant or breastfeeding" not in text


def test_an_override_is_printed_with_its_justification(client, practitioner_user, manager_user):
    screening = screened_patient(practitioner_user, body_image=POSITIVE)
    screening_services.decide_screening(
        screening=screening,
        decision="overridden",
        justification=JUSTIFICATION,
        actor=Actor.system(user=practitioner_user),
    )
    # Managers may print it too (they read clinical records).
    flat = squeezed(pdf_text(print_summary(client, manager_user, screening).content))
    assert squeezed("Outcome: Not suitable") in flat
    assert squeezed("Positive body-image screen") in flat
    assert squeezed("do not proceed; discuss or refer") in flat
    assert squeezed("Outcome overridden by the practitioner") in flat
    assert squeezed(JUSTIFICATION) in flat


def test_an_undecided_screening_says_so(client, practitioner_user):
    screening = screened_patient(practitioner_user)
    text = pdf_text(print_summary(client, practitioner_user, screening).content)
    assert squeezed("Outcome: Suitable") in squeezed(text)
    assert "No decision recorded yet." in text


def test_hostile_patient_text_is_printed_as_text_and_fetches_nothing(
    client, practitioner_user, caplog
):
    patient = PatientFactory(first_name="Eve", last_name=HOSTILE_NAME)
    screening = screened_patient(
        practitioner_user,
        patient=patient,
        anticoagulants=True,
        anticoagulant_details=HOSTILE_DETAILS,
    )
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        flat = squeezed(pdf_text(print_summary(client, practitioner_user, screening).content))
    assert squeezed(HOSTILE_NAME) in flat
    assert squeezed(HOSTILE_DETAILS) in flat
    assert "root:x:0:0" not in flat
    # Escaped text is never parsed as markup, so not even a refusal was needed.
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


def test_printing_is_audited(client, practitioner_user):
    screening = screened_patient(practitioner_user)
    print_summary(client, practitioner_user, screening)
    event = AuditEvent.objects.get(action=AuditAction.PRINT)
    assert event.actor == practitioner_user
    assert event.patient_id == screening.patient_id
    assert (event.object_type, event.object_id) == ("consultations.Screening", str(screening.pk))


def test_times_and_paper_follow_the_practitioners_location(client):
    new_york = LocationFactory(
        name="New York clinic", time_zone="America/New_York", country="US", paper_size="Letter"
    )
    user = UserFactory(username="nydoctor", first_name="Ada", last_name="Lovelace")
    StaffMemberFactory(user=user, role=Role.PRACTITIONER, locations=[new_york])
    screening = screened_patient(user)
    # 17:30 in London's winter is 12:30 in New York.
    screened_at = datetime(timezone.now().year - 1, 1, 15, 17, 30, tzinfo=UTC)
    Screening.objects.filter(pk=screening.pk).update(screened_at=screened_at)

    pdf = print_summary(client, user, screening).content
    text = pdf_text(pdf)
    assert squeezed(f"15 Jan {screened_at.year}, 12:30 (America/New_York)") in squeezed(text)
    assert "New York clinic" in text
    assert round(float(PdfReader(io.BytesIO(pdf)).pages[0].mediabox.width)) == 612  # Letter


def test_without_any_location_times_are_in_utc(client, practitioner_user):
    practitioner_user.staff.locations.clear()
    screening = screened_patient(practitioner_user)
    screened_at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    Screening.objects.filter(pk=screening.pk).update(screened_at=screened_at)
    text = pdf_text(print_summary(client, practitioner_user, screening).content)
    assert squeezed(f"{screened_at.astimezone(UTC):%H:%M} (UTC)") in squeezed(text)


def test_a_booked_consultation_prints_in_the_appointments_location(client, practitioner_user):
    new_york = LocationFactory(name="New York clinic", time_zone="America/New_York")
    patient = PatientFactory(first_name="Mary", last_name="Quant", date_of_birth=date(1980, 3, 1))
    starts_at = timezone.now() + timedelta(hours=1)
    # Set up directly: the booking rules have their own tests.
    appointment = AppointmentFactory(
        patient=patient,
        practitioner=practitioner_user.staff,  # who works in London
        location=new_york,
        appointment_type=AppointmentTypeFactory(
            name="Consultation", kind="consultation", duration_minutes=30, needs_room=False
        ),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        blocked_until=starts_at + timedelta(minutes=30),
    )
    screening = screened_patient(practitioner_user, patient=patient, appointment=appointment)
    text = pdf_text(print_summary(client, practitioner_user, screening).content)
    assert "New York clinic" in text
    assert "(America/New_York)" in text
