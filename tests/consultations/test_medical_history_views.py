from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations import services
from consultations.models import MedicalHistory, PreviousTreatment
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

MANAGEMENT = {
    "treatments-TOTAL_FORMS": "3",
    "treatments-INITIAL_FORMS": "0",
    "treatments-MIN_NUM_FORMS": "0",
    "treatments-MAX_NUM_FORMS": "30",
}
ANSWERS = {
    **MANAGEMENT,
    "diabetes": "none",
    "smoking": "never",
    "anticoagulants": "on",
    "anticoagulant_details": "Apixaban 5 mg",
    "treatments-0-kind": "gold_threads",
    "treatments-0-treated_on": "2019-03-01",
    "treatments-0-area": "midface",
}


@pytest.fixture
def patient():
    return PatientFactory(first_name="Peter", last_name="Wimsey")


def intake_url(patient):
    return reverse("consultations:intake_form", args=[patient.pk])


def test_the_front_desk_hands_over_a_blank_form_even_when_answers_exist(
    client, frontdesk_user, practitioner_user, patient
):
    services.submit_medical_history(
        patient=patient,
        answers={"other_allergies": "Latex", "smoking": "current"},
        actor=Actor.system(user=practitioner_user),
    )
    client.force_login(frontdesk_user)
    body = client.get(intake_url(patient)).content.decode()
    assert "Latex" not in body
    assert "Main navigation" not in body  # the tablet shows no way into other records


def test_a_patient_submission_is_saved_and_shows_no_answers_back(client, frontdesk_user, patient):
    client.force_login(frontdesk_user)
    response = client.post(intake_url(patient), ANSWERS, follow=True)
    body = response.content.decode()
    assert "Please hand the tablet back to reception" in body
    assert "Apixaban" not in body
    history = MedicalHistory.objects.get(patient=patient)
    assert history.completed_by_patient
    assert history.anticoagulant_details == "Apixaban 5 mg"
    treatment = history.previous_treatments.get()
    assert (treatment.kind, treatment.area) == ("gold_threads", "midface")
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, patient_id=patient.pk).exists()


def test_a_practitioner_starts_from_the_latest_answers_and_saves_a_new_version(
    client, practitioner_user, patient
):
    client.force_login(practitioner_user)
    client.post(intake_url(patient), ANSWERS)
    form_page = client.get(intake_url(patient)).content.decode()
    assert "Apixaban 5 mg" in form_page
    client.post(intake_url(patient), {**ANSWERS, "smoking": "current"})
    versions = list(MedicalHistory.objects.filter(patient=patient).order_by("version"))
    assert [(h.version, h.smoking) for h in versions] == [(1, "never"), (2, "current")]
    assert not versions[1].completed_by_patient


def test_earlier_versions_stay_readable_with_who_and_when(
    client, practitioner_user, frontdesk_user, patient
):
    client.force_login(frontdesk_user)
    client.post(intake_url(patient), ANSWERS)
    client.force_login(practitioner_user)
    client.post(intake_url(patient), {**ANSWERS, "smoking": "current"})
    listing = client.get(
        reverse("consultations:medical_history_list", args=[patient.pk])
    ).content.decode()
    assert "Version 1" in listing
    assert "Version 2" in listing
    assert "The patient (handed over by" in listing
    first = MedicalHistory.objects.get(patient=patient, version=1)
    detail = client.get(
        reverse("consultations:medical_history_detail", args=[first.pk])
    ).content.decode()
    assert "Never" in detail
    second = MedicalHistory.objects.get(patient=patient, version=2)
    changed = client.get(
        reverse("consultations:medical_history_detail", args=[second.pk])
    ).content.decode()
    assert "Changed since version 1" in changed
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, object_id=str(first.pk)).exists()


def past(days):
    return (timezone.localdate() - timedelta(days=days)).isoformat()


def future(days):
    return (timezone.localdate() + timedelta(days=days)).isoformat()


BAD_ANSWERS = [
    ({"anticoagulant_details": ""}, "anticoagulant_details", "Say which blood thinners."),
    ({"autoimmune_disease": "on"}, "autoimmune_details", "Say which condition."),
    (
        {"important_event_on": past(3), "important_event": "Wedding"},
        "important_event_on",
        "This date has passed",
    ),
    ({"planned_dental_work_on": past(1)}, "planned_dental_work_on", "This date has passed"),
    ({"important_event_on": future(10)}, "important_event", "Say what the event is."),
    ({"diabetes": "sometimes"}, "diabetes", "Select a valid choice"),
    ({"planned_dental_work_on": "soon"}, "planned_dental_work_on", "Enter a valid date"),
    ({"other_allergies": "x" * 301}, "other_allergies", "at most 300 characters"),
    ({"notes": "bad\x00byte"}, "notes", "Null characters are not allowed"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_ANSWERS)
def test_bad_answers_get_a_clear_error_and_save_nothing(
    client, frontdesk_user, patient, change, field, message
):
    client.force_login(frontdesk_user)
    response = client.post(intake_url(patient), {**ANSWERS, **change})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert MedicalHistory.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"treatments-0-treated_on": future(5)}, "This date is in the future."),
        ({"treatments-0-kind": "magic"}, "Select a valid choice"),
        ({"treatments-0-area": ""}, "This field is required"),
    ],
)
def test_a_bad_previous_treatment_saves_nothing(client, frontdesk_user, patient, change, message):
    client.force_login(frontdesk_user)
    response = client.post(intake_url(patient), {**ANSWERS, **change})
    assert response.status_code == 400
    assert message in str(response.context["treatments"].errors)
    assert MedicalHistory.objects.count() == 0
    assert PreviousTreatment.objects.count() == 0


def test_too_many_previous_treatment_rows_are_refused(client, frontdesk_user, patient):
    client.force_login(frontdesk_user)
    response = client.post(intake_url(patient), {**ANSWERS, "treatments-TOTAL_FORMS": "5000"})
    assert response.status_code == 400
    assert MedicalHistory.objects.count() == 0


def test_an_archived_patient_gets_no_new_intake(client, frontdesk_user, patient):
    patient.is_archived = True
    patient.save()
    client.force_login(frontdesk_user)
    assert client.post(intake_url(patient), ANSWERS).status_code == 404
    assert MedicalHistory.objects.count() == 0
