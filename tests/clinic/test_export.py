"""A patient's whole record as a ZIP, for a subject access request: what is in it, and who may."""

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services as consultation_services
from tests.recipes import accept, build_clinic, completed_session, sign, start
from treatments import documents as treatment_documents
from treatments.services import outcomes as outcome_services

pytestmark = pytest.mark.django_db

SECTIONS = {
    "patient",
    "patient_changes",
    "medical_histories",
    "photos",
    "appointments",
    "consultations",
    "screenings",
    "treatment_plans",
    "consents",
    "treatment_sessions",
    "outcomes",
    "adverse_events",
    "erasure_requests",
    "photo_uses_allowed",
}


def jpeg(colour=(200, 170, 150)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (500, 500), colour).save(out, format="JPEG")
    return SimpleUploadedFile("face.jpg", out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def journey(location, practitioner_user, private_media):
    """A patient seen from intake to a review, all through the services, as the pages do it."""
    clinic = build_clinic(location, practitioner_user)
    doctor, patient = clinic["doctor"], clinic["patient"]
    plan = accept(clinic)
    consent = sign(clinic, plan)
    session = start(clinic, plan)
    session = completed_session(
        session,
        lot=clinic["lot"],
        by=doctor.user,
        details={
            "anaesthesia": "local",
            "anaesthetic_agent": "Lidocaine 1%",
            "anaesthetic_volume_ml": Decimal("4.0"),
            "immediate_outcome": "Good lift",
        },
    )
    actor = Actor.system(user=doctor.user)
    photos = [
        consultation_services.add_patient_photos(
            patient=patient,
            files=[jpeg(colour)],
            view="frontal",
            stage=stage,
            taken_on=timezone.localdate(),
            actor=actor,
        )[0]
        for stage, colour in (("baseline", (200, 170, 150)), ("2_weeks", (120, 100, 90)))
    ]
    outcome_services.record_outcome(
        session=session,
        gais_practitioner=2,
        gais_patient=1,
        satisfaction=9,
        notes="Pleased with the cheeks",
        photos=photos[1:],  # the two-week photo
        actor=actor,
    )
    outcome_services.report_adverse_event(
        session=session,
        event_type="bruising",
        severity="mild",
        onset_on=timezone.localdate(timezone=location.zone),
        lots=[clinic["lot"]],
        management="Cold packs",
        actor=actor,
    )
    # A later intake, with answers worth finding in the printout.
    consultation_services.submit_medical_history(
        patient=patient,
        answers={"anticoagulants": True, "anticoagulant_details": "Warfarin"},
        previous_treatments=[
            {"kind": "toxin", "treated_on": date(2024, 5, 1), "area": "brow", "details": ""}
        ],
        actor=actor,
    )
    return {**clinic, "consent": consent, "session": session, "photos": photos}


def download(client, user, patient, **data):
    client.force_login(user)
    url = reverse("records:patient_export", args=[patient.pk])
    return client.post(url, {"identity_checked": "on", **data})


def exported(client, user, patient) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(download(client, user, patient).content))


def test_a_manager_downloads_the_record_as_a_zip_that_is_never_cached(
    client, journey, manager_user
):
    response = download(client, manager_user, journey["patient"])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    number = journey["patient"].record_number
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="patient-record-{number}-'
    )
    assert "no-store" in response["Cache-Control"]
    assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None


def test_the_summary_pdf_names_the_patient_and_their_medical_history_answers(
    client, journey, manager_user
):
    archive = zipfile.ZipFile(
        io.BytesIO(download(client, manager_user, journey["patient"]).content)
    )

    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(archive.read("summary.pdf"))).pages
    )

    assert "Marguerite Duras" in text
    assert "Warfarin" in text  # an answer from the latest medical history
    assert "LOT-A" in text  # the lot the threads came from
    assert journey["consent"].fingerprint in text.replace("\n", "")


def test_record_json_holds_every_section_with_iso_dates_and_sorted_keys(
    client, journey, manager_user
):
    archive = zipfile.ZipFile(
        io.BytesIO(download(client, manager_user, journey["patient"]).content)
    )
    raw = archive.read("record.json").decode()
    data = json.loads(raw)

    assert set(data) >= SECTIONS
    assert raw == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    patient = data["patient"]
    assert (patient["first_name"], patient["last_name"]) == ("Marguerite", "Duras")
    assert date.fromisoformat(patient["date_of_birth"]) == journey["patient"].date_of_birth
    datetime.fromisoformat(data["exported_at"])
    assert [h["version"] for h in data["medical_histories"]] == [1, 2]
    latest = data["medical_histories"][1]
    assert latest["anticoagulant_details"] == "Warfarin"
    assert latest["previous_treatments"][0]["kind_label"] == "Botulinum toxin"
    assert len(data["consultations"]) == 1 and data["consultations"][0]["areas"]
    assert data["screenings"][0]["outcome"] == "suitable"
    assert data["screenings"][0]["decision"] == "accepted"
    assert len(data["treatment_plans"][0]["vectors"]) == 2
    assert data["consents"][0]["fingerprint"] == journey["consent"].fingerprint
    assert data["consents"][0]["withdrawal"] is None
    placed = data["treatment_sessions"][0]["placed_threads"]
    assert {p["lot"]["lot_number"] for p in placed} == {"LOT-A"}
    assert data["treatment_sessions"][0]["practitioner"].startswith(
        journey["doctor"].user.get_full_name()
    )
    assert data["outcomes"][0]["satisfaction"] == 9
    assert data["outcomes"][0]["photo_ids"] == [journey["photos"][1].pk]
    assert data["adverse_events"][0]["event_type_label"] == "Bruising"
    # The treatment appointment and the reviews booked after it.
    assert {a["appointment_type"] for a in data["appointments"]} == {"Thread lift", "Review"}
    assert data["photo_uses_allowed"] == {"clinical": True, "teaching": False, "marketing": False}
    datetime.fromisoformat(data["treatment_sessions"][0]["completed_at"])


def test_the_photos_are_the_stored_files_byte_for_byte(client, journey, manager_user):
    archive = zipfile.ZipFile(
        io.BytesIO(download(client, manager_user, journey["patient"]).content)
    )

    for photo in journey["photos"]:
        name = f"photos/frontal-{photo.stage}-{photo.taken_on.isoformat()}-{photo.pk}.jpg"
        with photo.image.open("rb") as stored:
            assert archive.read(name) == stored.read()
    signature = f"signatures/consent-{journey['consent'].pk}-patient.png"
    with journey["consent"].patient_signature.open("rb") as stored:
        assert archive.read(signature) == stored.read()


@pytest.mark.skipif(
    not hasattr(treatment_documents, "ConsentCopy")
    or not hasattr(treatment_documents, "AftercareSheet"),
    reason="the consent-copy and aftercare-sheet layouts are not in treatments.documents yet",
)
def test_the_consent_copies_and_aftercare_sheets_are_included(client, journey, manager_user):
    archive = zipfile.ZipFile(
        io.BytesIO(download(client, manager_user, journey["patient"]).content)
    )

    consent = archive.read(f"consents/consent-{journey['consent'].pk}.pdf")
    aftercare = archive.read(f"aftercare/aftercare-session-{journey['session'].pk}.pdf")
    assert consent.startswith(b"%PDF") and aftercare.startswith(b"%PDF")


def test_the_export_is_audited_with_the_patient_and_who_made_it(client, journey, manager_user):
    download(client, manager_user, journey["patient"])

    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.actor == manager_user
    assert export.patient_id == journey["patient"].pk
    assert export.object_type == "consultations.Patient"
    assert "2 photos" in export.summary


def test_the_page_first_says_what_the_download_holds_and_exports_nothing(
    client, journey, manager_user
):
    client.force_login(manager_user)
    response = client.get(reverse("records:patient_export", args=[journey["patient"].pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "summary.pdf" in body and "record.json" in body and "2 clinical photos" in body
    assert '<label class="form-check-label" for="identity_checked">' in body
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_identity_check_must_be_confirmed_before_anything_is_exported(
    client, journey, manager_user
):
    client.force_login(manager_user)
    url = reverse("records:patient_export", args=[journey["patient"].pk])

    response = client.post(url, {})

    assert response.status_code == 400
    assert "Confirm that you checked who is asking." in response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_managers_may_export_a_record(client, journey, users_by_role, role, method):
    client.force_login(users_by_role[role])
    url = reverse("records:patient_export", args=[journey["patient"].pk])

    response = getattr(client, method)(url, {"identity_checked": "on"})

    assert response.status_code == 403
    assert "This page is for the Clinic manager role." in response.content.decode()
    assert "Warfarin" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=users_by_role[role]).exists()


def test_a_patient_with_nothing_but_their_details_exports_too(client, manager_user):
    from tests.factories import PatientFactory

    patient = PatientFactory(first_name="Nathalie", last_name="Sarraute")
    archive = exported(client, manager_user, patient)

    data = json.loads(archive.read("record.json"))
    assert data["patient"]["first_name"] == "Nathalie"
    assert data["medical_histories"] == [] and data["photos"] == []
    assert data["photo_uses_allowed"] == {"clinical": False, "teaching": False, "marketing": False}
    assert "Sarraute" in PdfReader(io.BytesIO(archive.read("summary.pdf"))).pages[0].extract_text()


def test_hostile_text_in_the_record_is_printed_as_text_and_fetches_nothing(
    client, manager_user, caplog
):
    from tests.factories import PatientFactory

    patient = PatientFactory(
        first_name='<img src="https://evil.example/x.png">', last_name="Hostile"
    )
    archive = exported(client, manager_user, patient)

    text = PdfReader(io.BytesIO(archive.read("summary.pdf"))).pages[0].extract_text()
    assert '<img src="https://evil.example/x.png">' in text
    assert "refused to fetch" not in caplog.text
