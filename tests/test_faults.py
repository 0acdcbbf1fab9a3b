"""A failure in the middle of a multi-step write leaves nothing half-written.

The failure is forced by making one step raise (the audit write, the file
storage): the point is what the rest of the stack does about it.
"""

import errno

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations import services as consultation_services
from consultations.demo_photos import demo_photo_jpeg
from consultations.models import Appointment, PatientPhoto
from tests.recipes import (
    LOCAL_LIDOCAINE,
    accept,
    build_clinic,
    photography_consent,
    placements,
    sign,
    start,
)
from treatments.documents import ConsentCopy
from treatments.models import PlacedThreads, SignedConsent, StockLot, TreatmentSession
from treatments.services import consent as consent_services
from treatments.services import sessions as session_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


class Outage(Exception):
    """Stands for the database or the disk failing half-way."""


def fail_on_audit(monkeypatch, service_module, action: str):
    real = service_module.record_event

    def failing(**kwargs):
        if kwargs["action"] == action:
            raise Outage("the write failed half-way")
        return real(**kwargs)

    monkeypatch.setattr(service_module, "record_event", failing)


def test_a_failure_while_completing_a_session_leaves_stock_session_and_booking_as_they_were(
    clinic,
    monkeypatch,
):
    plan = accept(clinic)
    sign(clinic, plan)
    session = start(clinic, plan)
    status_before = Appointment.objects.get(pk=clinic["appointment"].pk).status
    appointments_before = Appointment.objects.count()
    # The audit entry is written after stock, placements and the appointment change.
    fail_on_audit(monkeypatch, session_services, "update")
    with pytest.raises(Outage):
        session_services.complete_session(
            session=session,
            placements=placements(clinic, session),
            details={**LOCAL_LIDOCAINE},
            actor=Actor.system(user=clinic["doctor"].user),
        )
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == 10
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked
    assert PlacedThreads.objects.count() == 0
    assert Appointment.objects.get(pk=clinic["appointment"].pk).status == status_before
    assert Appointment.objects.count() == appointments_before  # no reviews booked


def test_a_failure_while_signing_a_consent_leaves_no_record_and_no_signature_files(
    clinic,
    monkeypatch,
    private_media,
):
    plan = accept(clinic)
    fail_on_audit(monkeypatch, consent_services, "sign")
    with pytest.raises(Outage):
        sign(clinic, plan)
    assert SignedConsent.objects.count() == 0
    for folder in (private_media / "signatures", private_media / "consents"):
        assert not folder.exists() or not list(folder.iterdir())


def test_a_patient_copy_that_cannot_be_rendered_at_signing_leaves_no_consent_and_no_files(
    clinic, monkeypatch, private_media, caplog
):
    plan = accept(clinic)
    monkeypatch.setattr(ConsentCopy, "template_name", "pdf/no-such-layout.html")
    with pytest.raises(ValidationError, match="could not be made, so nothing was signed"):
        sign(clinic, plan)
    assert SignedConsent.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.SIGN).exists()
    for folder in (private_media / "signatures", private_media / "consents"):
        assert not folder.exists() or not list(folder.iterdir())
    assert [r for r in caplog.records if "Could not render the copy" in r.getMessage()]
    monkeypatch.undo()
    assert consent_services.verify_consent(sign(clinic, plan))  # signing again just works


def test_a_full_disk_during_a_photo_upload_leaves_no_row_pointing_at_a_missing_file(
    clinic,
    monkeypatch,
    private_media,
):
    real_save = FileSystemStorage._save
    calls = {"n": 0}

    def disk_fills_up(self, name, content):
        calls["n"] += 1
        if calls["n"] > 2:  # the first photo and its thumbnail fit, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", disk_fills_up)
    files = [
        SimpleUploadedFile(f"{n}.jpg", demo_photo_jpeg(seed=n, view="frontal", stage="baseline"))
        for n in range(2)
    ]
    photography_consent(clinic["patient"], None)
    with pytest.raises(OSError, match="No space left"):
        consultation_services.add_patient_photos(
            patient=clinic["patient"],
            files=files,
            view="frontal",
            stage="baseline",
            taken_on=timezone.localdate(),
            actor=Actor.system(user=clinic["doctor"].user),
        )
    assert PatientPhoto.objects.count() == 0
    photos_dir = private_media / "photos"
    assert not photos_dir.exists() or not list(photos_dir.iterdir())
