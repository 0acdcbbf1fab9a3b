from datetime import date

import pytest

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations import selectors, services
from consultations.models import MedicalHistory, Patient

pytestmark = pytest.mark.django_db

DETAILS = {
    "first_name": "Zoë",
    "last_name": "Ångström",
    "date_of_birth": date(1980, 4, 5),
    "sex": "female",
    "phone": "+447911123456",
    "email": "zoe@mail.example",
}


def test_each_registration_gets_the_next_record_number(frontdesk_user):
    first = services.register_patient(details=DETAILS, actor=Actor.system(user=frontdesk_user))
    second = services.register_patient(
        details={**DETAILS, "first_name": "Ann", "email": "ann@mail.example", "phone": ""},
        actor=Actor.system(user=frontdesk_user),
    )
    assert first.record_number == "TL000001"
    assert second.record_number == "TL000002"


def test_record_numbers_are_not_reused_after_archiving(frontdesk_user, manager_user):
    first = services.register_patient(details=DETAILS, actor=Actor.system(user=frontdesk_user))
    services.archive_patient(
        patient=first, reason="duplicate", actor=Actor.system(user=manager_user)
    )
    second = services.register_patient(
        details={**DETAILS, "email": "other@mail.example", "phone": ""},
        actor=Actor.system(user=frontdesk_user),
    )
    assert second.record_number != first.record_number
    assert Patient.objects.filter(record_number=first.record_number).exists()


def test_registering_is_audited_with_the_patient(frontdesk_user):
    patient = services.register_patient(details=DETAILS, actor=Actor.system(user=frontdesk_user))
    event = AuditEvent.objects.get(action=AuditAction.CREATE, patient_id=patient.pk)
    assert event.actor == frontdesk_user
    assert patient.record_number in event.summary


def test_archiving_keeps_the_record_but_hides_it_from_search(frontdesk_user, manager_user):
    patient = services.register_patient(details=DETAILS, actor=Actor.system(user=frontdesk_user))
    services.archive_patient(
        patient=patient, reason="Moved abroad", actor=Actor.system(user=manager_user)
    )
    assert selectors.search_patients(query="zoe") == []
    assert selectors.search_patients(query="zoe", include_archived=True) == [patient]
    assert AuditEvent.objects.filter(action=AuditAction.ARCHIVE, patient_id=patient.pk).exists()


def test_updating_details_reports_and_audits_what_changed(frontdesk_user):
    patient = services.register_patient(details=DETAILS, actor=Actor.system(user=frontdesk_user))
    changed = services.update_patient_details(
        patient=patient,
        details={**DETAILS, "email": "new@mail.example"},
        actor=Actor.system(user=frontdesk_user),
    )
    assert changed == ["email"]
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, summary="Changed email").exists()
    assert patient.history.count() == 2


def test_a_new_medical_history_is_a_new_version_and_the_old_one_stays(practitioner_user):
    actor = Actor.system(user=practitioner_user)
    patient = services.register_patient(details=DETAILS, actor=actor)
    first = services.submit_medical_history(
        patient=patient, answers={"smoking": "current"}, actor=actor
    )
    second = services.submit_medical_history(
        patient=patient,
        answers={"smoking": "former", "anticoagulants": True, "anticoagulant_details": "warfarin"},
        previous_treatments=[{"kind": "toxin", "treated_on": date(2026, 6, 1), "area": "brow"}],
        actor=actor,
    )
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert first.smoking == "current"
    assert not first.anticoagulants
    changes = second.changes_since(first)
    assert "smoking" in changes
    assert "takes blood thinners (anticoagulants or antiplatelets)" in changes
    assert "previous treatments" in changes
    assert MedicalHistory.objects.filter(patient=patient).count() == 2
