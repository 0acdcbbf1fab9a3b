"""Cooling-off when a treatment is booked: counted from the patient's latest consultation."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.actors import Actor
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.models import Appointment
from tests.factories import PatientFactory
from tests.recipes import build_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def sixteen_year_old(clinic):
    today = timezone.localdate(timezone=clinic["location"].zone)
    patient = PatientFactory(date_of_birth=today - timedelta(days=16 * 365 + 30))
    consultation_services.start_consultation(
        patient=patient, practitioner=clinic["doctor"], actor=Actor.system(user=clinic["user"])
    )
    return patient


def book(clinic, patient, days: int):
    zone = clinic["location"].zone
    day = timezone.localdate(timezone=zone) + timedelta(days=days)
    return booking.book_appointment(
        patient=patient,
        practitioner=clinic["doctor"],
        location=clinic["location"],
        appointment_type=clinic["treatment"],
        starts_at=datetime.combine(day, time(14), tzinfo=zone),
        actor=Actor.system(user=clinic["user"]),
    )


def test_a_treatment_for_an_under_18_inside_seven_days_of_the_consultation_is_refused(clinic):
    patient = sixteen_year_old(clinic)
    first = timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=7)
    with pytest.raises(ValidationError) as refused:
        book(clinic, patient, days=2)
    message = " ".join(refused.value.messages)
    assert "Cooling-off: Threadline Test Clinic keeps 7 days between the consultation" in message
    assert "for patients under 18" in message
    assert f"so the treatment can be from {first:%a %d %b %Y} (Europe/London)" in message
    assert not Appointment.objects.filter(patient=patient).exists()


def test_the_first_allowed_day_can_be_booked(clinic):
    patient = sixteen_year_old(clinic)
    assert book(clinic, patient, days=7).patient == patient


def test_adults_have_no_cooling_off_unless_the_location_sets_one(clinic):
    # build_clinic booked the adult's treatment for tomorrow, the day after the consultation.
    assert clinic["appointment"].pk
    location = clinic["location"]
    location.cooling_off_adult_days = 14
    location.save()
    with pytest.raises(ValidationError, match="keeps 14 days between the consultation"):
        book(clinic, clinic["patient"], days=3)
