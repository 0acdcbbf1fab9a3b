"""Erasure requests and photo-use permission: optional uses end, clinical records stay."""

import pytest
from django.urls import reverse

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from clinic.site.privacy import RETENTION_REASON, photo_use_allowed, record_erasure_request
from consultations import services as consultation_services
from consultations.models import (
    Appointment,
    Consultation,
    ErasureRequest,
    MedicalHistory,
    Patient,
    Screening,
)
from tests.factories import PatientFactory
from tests.recipes import accept, build_clinic, signature_png
from treatments.models import SignedConsent, TreatmentPlan
from treatments.services import consent as consent_services

pytestmark = pytest.mark.django_db

EVERY_USE = {"clinical": True, "teaching": True, "marketing": True}


def sign_with(clinic, photo_consents: dict[str, bool]) -> SignedConsent:
    plan = TreatmentPlan.objects.get(pk=clinic["plan"].pk)
    return consent_services.sign_consent(
        plan=plan,
        template=clinic["template"],
        risks_initialled=list(clinic["template"].risks),
        photo_consents=photo_consents,
        patient_signature=signature_png(),
        practitioner_signature=signature_png(2),
        practitioner=clinic["doctor"],
        actor=Actor.system(user=clinic["doctor"].user),
    )


@pytest.fixture
def clinic(location, practitioner_user, private_media):
    """A screened patient who wants news and offers and whose plan is accepted."""
    clinic = build_clinic(location, practitioner_user)
    consultation_services.update_patient_details(
        patient=clinic["patient"], details={"marketing_consent": True}, actor=Actor.system()
    )
    accept(clinic)
    return clinic


def clinical_counts(patient: Patient) -> dict[str, int]:
    return {
        "histories": MedicalHistory.objects.filter(patient=patient).count(),
        "consultations": Consultation.objects.filter(patient=patient).count(),
        "screenings": Screening.objects.filter(patient=patient).count(),
        "plans": TreatmentPlan.objects.filter(patient=patient).count(),
        "consents": SignedConsent.objects.filter(patient=patient).count(),
        "appointments": Appointment.objects.filter(patient=patient).count(),
    }


def erasure_url(patient: Patient) -> str:
    return reverse("records:patient_erasure", args=[patient.pk])


# Which photo uses are allowed ------------------------------------------------------------


def test_without_a_signed_consent_no_photo_use_is_allowed(db):
    patient = PatientFactory()
    assert not any(photo_use_allowed(patient, use) for use in EVERY_USE)


def test_the_latest_consent_that_is_not_withdrawn_decides(clinic):
    patient = clinic["patient"]
    first = sign_with(clinic, {"clinical": True, "teaching": True, "marketing": False})
    assert photo_use_allowed(patient, "teaching")
    assert not photo_use_allowed(patient, "marketing")

    consent_services.withdraw_consent(
        consent=first, reason="Changed her mind", actor=Actor.system()
    )

    assert not photo_use_allowed(patient, "teaching")


def test_an_unknown_photo_use_is_a_programming_error(db):
    with pytest.raises(ValueError, match="Unknown photo use"):
        photo_use_allowed(PatientFactory(), "billboards")


# The erasure request -----------------------------------------------------------------------


def test_an_erasure_request_ends_marketing_and_teaching_photo_use_but_keeps_clinical_records(
    client, clinic, manager_user
):
    patient = clinic["patient"]
    sign_with(clinic, EVERY_USE)
    before = clinical_counts(patient)
    assert photo_use_allowed(patient, "teaching") and photo_use_allowed(patient, "marketing")
    client.force_login(manager_user)

    response = client.post(erasure_url(patient), {"identity_checked": "on"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Erasure request recorded" in body
    assert RETENTION_REASON in body
    assert "Marketing consent withdrawn" in body
    patient.refresh_from_db()
    assert patient.marketing_consent is False
    assert not photo_use_allowed(patient, "teaching")
    assert not photo_use_allowed(patient, "marketing")
    assert photo_use_allowed(patient, "clinical")  # the clinical record keeps its photos
    assert clinical_counts(patient) == before
    assert Patient.objects.filter(pk=patient.pk, is_archived=False).exists()
    # The signed consent is untouched: the withdrawal lives on the request.
    consent = SignedConsent.objects.get(patient=patient)
    assert consent.photo_consents == EVERY_USE and consent_services.verify_consent(consent)


def test_the_request_is_stored_with_its_retained_reason_and_who_handled_it(
    client, clinic, manager_user
):
    client.force_login(manager_user)
    client.post(erasure_url(clinic["patient"]), {"identity_checked": "on"})

    erasure = ErasureRequest.objects.get(patient=clinic["patient"])
    assert erasure.retained_reason == RETENTION_REASON
    assert erasure.photo_uses_withdrawn == ["teaching", "marketing"]
    assert erasure.received_by == manager_user and erasure.completed_by == manager_user
    assert erasure.completed_at is not None
    assert "Kept: the clinical record" in erasure.outcome
    assert "8 years after the last recorded care" in erasure.outcome


def test_the_erasure_request_is_audited(client, clinic, manager_user):
    client.force_login(manager_user)
    client.post(erasure_url(clinic["patient"]), {"identity_checked": "on"})

    patient_id = clinic["patient"].pk
    recorded = AuditEvent.objects.get(object_type="consultations.ErasureRequest")
    assert recorded.action == AuditAction.CREATE
    assert recorded.actor == manager_user and recorded.patient_id == patient_id
    marketing = AuditEvent.objects.get(
        action=AuditAction.UPDATE,
        object_type="consultations.Patient",
        patient_id=patient_id,
        actor=manager_user,
    )
    assert "marketing_consent" in marketing.summary
    # The patient's change history keeps the earlier answer and who changed it.
    latest = Patient.history.filter(id=patient_id).order_by("-history_date").first()
    assert latest.marketing_consent is False and latest.history_user == manager_user


def test_the_exported_record_shows_the_erasure_request(client, clinic, manager_user):
    import io
    import json
    import zipfile

    record_erasure_request(patient=clinic["patient"], actor=Actor.system(user=manager_user))
    client.force_login(manager_user)

    response = client.post(
        reverse("records:patient_export", args=[clinic["patient"].pk]),
        {"identity_checked": "on"},
    )

    data = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("record.json"))
    assert data["erasure_requests"][0]["retained_reason"] == RETENTION_REASON
    assert data["photo_uses_allowed"]["marketing"] is False


def test_the_page_first_says_what_will_and_will_not_happen_and_changes_nothing(
    client, clinic, manager_user
):
    client.force_login(manager_user)

    response = client.get(erasure_url(clinic["patient"]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "What will happen" in body and "What will not happen" in body
    assert RETENTION_REASON in body
    assert not ErasureRequest.objects.exists()
    assert Patient.objects.get(pk=clinic["patient"].pk).marketing_consent is True


def test_nothing_changes_until_the_identity_check_is_confirmed(client, clinic, manager_user):
    client.force_login(manager_user)

    response = client.post(erasure_url(clinic["patient"]), {})

    assert response.status_code == 400
    assert "Confirm that you checked who is asking." in response.content.decode()
    assert not ErasureRequest.objects.exists()
    assert Patient.objects.get(pk=clinic["patient"].pk).marketing_consent is True


def test_a_second_request_is_recorded_too_and_says_marketing_was_already_off(clinic, manager_user):
    record_erasure_request(patient=clinic["patient"], actor=Actor.system(user=manager_user))
    again = record_erasure_request(patient=clinic["patient"], actor=Actor.system(user=manager_user))

    assert ErasureRequest.objects.filter(patient=clinic["patient"]).count() == 2
    assert "Marketing consent was already off" in again.outcome


def test_a_patient_without_clinical_records_is_told_none_are_held(manager_user):
    erasure = record_erasure_request(
        patient=PatientFactory(), actor=Actor.system(user=manager_user)
    )
    assert erasure.outcome.startswith("No clinical record is held")


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_managers_handle_erasure_requests(client, clinic, users_by_role, role, method):
    client.force_login(users_by_role[role])

    response = getattr(client, method)(erasure_url(clinic["patient"]), {"identity_checked": "on"})

    assert response.status_code == 403
    assert "This page is for the Clinic manager role." in response.content.decode()
    assert not ErasureRequest.objects.exists()
    assert Patient.objects.get(pk=clinic["patient"].pk).marketing_consent is True
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=users_by_role[role]).exists()
