"""The demo clinic as `make run` loads it, read by tests that share one load (see
tests/clinic/test_demo_loading.py for loading itself)."""

import io
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from clinic.models import Location, Role, Room, StaffMember
from clinic.site.demo import LOCATIONS
from consultations.demo import DEMO_PATIENT_COUNT
from consultations.forms import PatientForm
from consultations.models import (
    AppointmentKind,
    AppointmentStatus,
    Consultation,
    MedicalHistory,
    Patient,
    PatientPhoto,
    Screening,
)
from treatments.aftercare import aftercare_instructions
from treatments.demo_stories import STORIES
from treatments.models import (
    AdverseEvent,
    LotRecall,
    LotStatus,
    Outcome,
    PlanStatus,
    SignedConsent,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services.plans import summarise_plan
from treatments.services.recalls import recall_patients

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def development(settings):
    settings.DEBUG = True  # the test runner turns DEBUG off; `make run` has it on


@pytest.fixture(scope="module")
def demo_clinic(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo clinic loaded once for the tests that only read it (a load takes seconds),
    in a transaction rolled back after them; each test runs in a savepoint inside it."""
    media = tmp_path_factory.mktemp("demo-media")
    storages = {
        **django_settings.STORAGES,
        "default": {
            **django_settings.STORAGES["default"],
            "OPTIONS": {"location": str(media), "base_url": None},
        },
    }
    printed = io.StringIO()
    with (
        override_settings(DEBUG=True, PRIVATE_MEDIA_ROOT=media, STORAGES=storages),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        call_command("load_demo_data", stdout=printed)
        yield SimpleNamespace(printed=printed.getvalue(), media=media)
        transaction.set_rollback(True)


def test_the_demo_clinic_has_every_role_and_two_time_zones(demo_clinic):
    assert StaffMember.objects.filter(role=Role.PRACTITIONER).count() == 3
    assert StaffMember.objects.filter(role=Role.FRONT_DESK).count() == 2
    assert StaffMember.objects.filter(role=Role.MANAGER).count() == 1
    assert set(Location.objects.values_list("time_zone", flat=True)) == {
        "Europe/London",
        "America/New_York",
    }
    assert set(Location.objects.values_list("paper_size", flat=True)) == {"A4", "Letter"}
    assert dict(Room.objects.values_list("name", "kind")) == {
        "Treatment room 1": "procedure",
        "Treatment room 2": "procedure",
        "Consultation room": "consultation",
        "Procedure room A": "procedure",
        "Consult room B": "consultation",
    }
    for staff in StaffMember.objects.filter(role=Role.PRACTITIONER):
        assert staff.working_hours.exists(), staff
    out = demo_clinic.printed
    for username in ["manager", "practitioner", "frontdesk"]:
        assert f" {username} " in out
    assert "threadline-demo" in out


def test_the_demo_clinic_has_sixty_patients_with_histories_and_some_photos(demo_clinic):
    assert DEMO_PATIENT_COUNT == 60
    assert Patient.objects.count() == DEMO_PATIENT_COUNT + len(STORIES)
    assert Patient.objects.filter(medical_histories__isnull=True).count() == 0
    assert MedicalHistory.objects.filter(version=2).exists()
    assert MedicalHistory.objects.filter(anticoagulants=True).exists()
    with_photos = Patient.objects.filter(photos__isnull=False).distinct()
    assert 1 <= with_photos.count() <= 10
    photo = PatientPhoto.objects.first()
    assert (demo_clinic.media / photo.image.name).is_file()


def test_demo_logins_work_with_the_printed_password(client, demo_clinic):
    response = client.post(
        "/accounts/login/", {"username": "practitioner", "password": "threadline-demo"}
    )
    assert response.status_code == 302


def story_patient(stage):
    story = next(s for s in STORIES if s.stage == stage)
    return Patient.objects.get(first_name=story.first_name, last_name=story.last_name)


def test_the_demo_has_a_patient_at_every_stage_from_booking_to_review(demo_clinic):
    now = timezone.now()

    booked = story_patient("booked")
    consultation = booked.appointments.get()
    assert consultation.appointment_type.kind == AppointmentKind.CONSULTATION
    assert consultation.status == AppointmentStatus.BOOKED and consultation.starts_at > now
    assert not Consultation.objects.filter(patient=booked).exists()

    screened = story_patient("screened")
    assert screened.screenings.get().allows_planning
    assert not TreatmentPlan.objects.filter(patient=screened).exists()

    assert TreatmentPlan.objects.get(patient=story_patient("drafted")).status == PlanStatus.DRAFT
    proposed = TreatmentPlan.objects.get(patient=story_patient("proposed"))
    assert proposed.status == PlanStatus.PROPOSED and proposed.vectors.count() == 6
    assert summarise_plan(proposed).warnings == []

    consented = story_patient("consented")
    consent = SignedConsent.objects.get(patient=consented)
    assert consent.plan.status == PlanStatus.ACCEPTED
    treatment = consented.appointments.get(appointment_type__kind=AppointmentKind.TREATMENT)
    assert treatment.status == AppointmentStatus.BOOKED and treatment.starts_at > now
    assert not TreatmentSession.objects.filter(patient=consented).exists()

    treated = TreatmentSession.objects.get(patient=story_patient("treated"))
    assert treated.is_locked and treated.completed_at < now
    assert treated.appointment.status == AppointmentStatus.COMPLETED
    assert all(placed.lot_id for placed in treated.placed.all()) and treated.placed.count() == 6
    assert aftercare_instructions(treated)
    next_review = treated.patient.appointments.filter(
        appointment_type__kind=AppointmentKind.REVIEW
    ).earliest("starts_at")
    assert next_review.status == AppointmentStatus.BOOKED and next_review.starts_at > now

    outcome = Outcome.objects.get(session__patient=story_patient("reviewed"))
    assert outcome.appointment.status == AppointmentStatus.COMPLETED
    assert outcome.photos.exists() and outcome.session.consent.patient == outcome.session.patient

    event = AdverseEvent.objects.get()
    assert event.session.patient == story_patient("adverse event")
    assert event.lots.get() in {placed.lot for placed in event.session.placed.all()}

    recall = LotRecall.objects.get()
    assert recall.lot.status == LotStatus.RECALLED
    assert recall.lot.status_changes.get().status == LotStatus.RECALLED
    recipients = {p.patient_id for p in recall_patients(recall)}
    assert recipients == {
        story_patient(stage).pk for stage in ("treated", "adverse event", "reviewed")
    }
    assert recall.contacts.get().patient_id in recipients


def test_the_demo_stories_happened_in_order_before_today(demo_clinic):
    now = timezone.now()
    consents = list(SignedConsent.objects.order_by("pk"))
    assert [c.signed_at for c in consents] == sorted(c.signed_at for c in consents)
    assert all(c.signed_at < now for c in consents)
    for session in TreatmentSession.objects.select_related("appointment", "consent"):
        assert session.consent.signed_at <= session.started_at
        assert session.appointment.starts_at <= session.started_at < session.completed_at < now
        for placed in session.placed.select_related("lot"):
            assert placed.lot.received_on <= session.started_at.date()
    for screening in Screening.objects.select_related("medical_history", "consultation"):
        assert screening.medical_history.submitted_at < screening.screened_at
        assert screening.consultation.appointment.starts_at <= screening.screened_at < now


def test_verify_consents_over_the_demo_checks_its_consents_and_finds_them_intact(
    capsys, demo_clinic
):
    call_command("verify_consents", "--require-some")
    out = capsys.readouterr()
    assert out.out.strip() == "All 4 signed consents are intact, and so is their chain."
    assert out.err == ""


@pytest.mark.parametrize("demo", LOCATIONS, ids=[demo["name"] for demo in LOCATIONS])
def test_every_demo_location_number_passes_the_patient_forms_own_check(demo):
    location = Location(
        **{key: demo[key] for key in ("name", "address", "phone", "emergency_phone", "country")}
    )
    location.clean()  # the check a manager's edit of the location goes through
    for number in (demo["phone"], demo["emergency_phone"]):
        form = PatientForm(
            {"first_name": "Ada", "last_name": "Lovelace", "sex": "F", "phone": number},
            location=location,
        )
        form.is_valid()
        assert "phone" not in form.errors, (number, form.errors["phone"])
