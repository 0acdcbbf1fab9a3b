"""The desk's re-treatment recall list (treatments.views.recall)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditEvent, Role
from consultations.booking import services as booking
from consultations.default_content import install_appointment_types
from consultations.models import AppointmentType
from tests.factories import LocationFactory, PatientFactory
from tests.recipes import accept, build_clinic, completed_session, sign, start
from treatments.models import TreatmentSession
from treatments.selectors import months_before

pytestmark = pytest.mark.django_db

RECALL = "treatments:retreatment_recall"


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    built = build_clinic(location, practitioner_user)
    install_appointment_types()
    sign(built, accept(built))
    built["session"] = completed_session(start(built), lot=built["lot"], by=built["user"])
    # Reviews booked by the completion are not treatments or consultations: they stay.
    return built


def last_treated(session, months_ago: int, days: int = 0):
    """Move the completed session back to `months_ago` months (and `days` days) ago."""
    today = timezone.localdate(timezone=session.location.zone)
    day = months_before(today, months_ago) - timedelta(days=days)
    moment = datetime.combine(day, time(12), tzinfo=session.location.zone)
    TreatmentSession.objects.filter(pk=session.pk).update(started_at=moment, completed_at=moment)


def listed(client, user) -> set[int]:
    client.force_login(user)
    response = client.get(reverse(RECALL))
    assert response.status_code == 200
    return {row.patient.pk for row in response.context["rows"]}


@pytest.mark.parametrize(
    ("months", "days", "expected"),
    [(8, 0, False), (9, 1, True), (10, 0, True), (12, -1, True), (12, 2, False), (14, 0, False)],
)
def test_patients_last_treated_9_to_12_months_ago_are_listed(
    client, frontdesk_user, clinic, months, days, expected
):
    last_treated(clinic["session"], months, days)
    assert (clinic["patient"].pk in listed(client, frontdesk_user)) is expected


def test_the_list_shows_contact_details_and_a_link_to_book_a_consultation(
    client, frontdesk_user, clinic
):
    last_treated(clinic["session"], 10)
    client.force_login(frontdesk_user)
    html = client.get(reverse(RECALL)).content.decode()
    patient = clinic["patient"]
    assert patient.email in html and patient.phone.as_international in html
    consultation = AppointmentType.objects.get(name="Consultation")
    assert f"?patient={patient.pk}&amp;type={consultation.pk}" in html
    assert "Book a consultation" in html
    assert AuditEvent.objects.filter(summary__startswith="Re-treatment recall list").exists()


@pytest.mark.parametrize("kind", ["Consultation", "Thread lift"])
def test_a_patient_with_a_consultation_or_treatment_booked_is_not_listed(
    client, frontdesk_user, clinic, kind
):
    last_treated(clinic["session"], 10)
    day = timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=3)
    booking.book_appointment(
        patient=clinic["patient"],
        practitioner=clinic["doctor"],
        location=clinic["location"],
        appointment_type=AppointmentType.objects.get(name=kind),
        starts_at=datetime.combine(day, time(9), tzinfo=clinic["location"].zone),
        actor=Actor.system(user=frontdesk_user),
    )
    assert clinic["patient"].pk not in listed(client, frontdesk_user)


def test_a_patient_last_treated_at_another_location_is_listed_there_not_here(
    client, frontdesk_user, clinic
):
    last_treated(clinic["session"], 10)
    leeds = LocationFactory(name="Threadline Leeds")
    TreatmentSession.objects.filter(pk=clinic["session"].pk).update(location=leeds)
    assert clinic["patient"].pk not in listed(client, frontdesk_user)


def test_an_archived_patient_is_not_listed(client, frontdesk_user, clinic):
    last_treated(clinic["session"], 10)
    type(clinic["patient"]).objects.filter(pk=clinic["patient"].pk).update(is_archived=True)
    assert not listed(client, frontdesk_user)


def test_the_list_reads_a_fixed_number_of_queries_however_many_patients(
    client, frontdesk_user, clinic
):
    last_treated(clinic["session"], 10)
    client.force_login(frontdesk_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(RECALL)).status_code == 200
        return len(captured)

    queries()
    before = queries()
    for n in range(3):
        other = PatientFactory(first_name=f"Recall{n}")
        TreatmentSession.objects.filter(pk=clinic["session"].pk).update(patient=other)
    assert queries() == before


@pytest.mark.parametrize(("role", "status"), [(Role.FRONT_DESK, 200), (Role.MANAGER, 200)])
def test_front_desk_and_managers_open_the_list(client, users_by_role, clinic, role, status):
    client.force_login(users_by_role[role])
    assert client.get(reverse(RECALL)).status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client, clinic):
    response = client.get(reverse(RECALL))
    assert response.status_code == 302 and "login" in response["Location"]
