import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic.models import AuditEvent, Location, Role, Room, StaffMember, WorkingHours
from consultations.demo import DEMO_PATIENT_COUNT
from consultations.models import (
    Appointment,
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
    RecallContact,
    SignedConsent,
    StockLot,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services.plans import summarise_plan
from treatments.services.recalls import recall_patients

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def development(settings):
    settings.DEBUG = True  # the test runner turns DEBUG off; `make run` has it on


MODELS = (
    get_user_model(),
    Location,
    Room,
    StaffMember,
    WorkingHours,
    Patient,
    MedicalHistory,
    PatientPhoto,
    Appointment,
    Consultation,
    Screening,
    TreatmentPlan,
    SignedConsent,
    TreatmentSession,
    Outcome,
    AdverseEvent,
    StockLot,
    LotRecall,
    RecallContact,
    AuditEvent,
)


def counts():
    return [m.objects.count() for m in MODELS]


def test_the_demo_clinic_has_every_role_and_two_time_zones(capsys, private_media):
    call_command("load_demo_data")
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
    out = capsys.readouterr().out
    for username in ["manager", "practitioner", "frontdesk"]:
        assert f" {username} " in out
    assert "threadline-demo" in out


def test_the_demo_clinic_has_sixty_patients_with_histories_and_some_photos(private_media):
    call_command("load_demo_data")
    assert DEMO_PATIENT_COUNT == 60
    assert Patient.objects.count() == DEMO_PATIENT_COUNT + len(STORIES)
    assert Patient.objects.filter(medical_histories__isnull=True).count() == 0
    assert MedicalHistory.objects.filter(version=2).exists()
    assert MedicalHistory.objects.filter(anticoagulants=True).exists()
    with_photos = Patient.objects.filter(photos__isnull=False).distinct()
    assert 1 <= with_photos.count() <= 10
    photo = PatientPhoto.objects.first()
    assert (private_media / photo.image.name).is_file()


def test_loading_the_demo_twice_changes_nothing(capsys, private_media):
    call_command("load_demo_data")
    first = counts()
    call_command("load_demo_data")
    assert counts() == first
    assert "already present" in capsys.readouterr().out


def test_demo_logins_work_with_the_printed_password(client, private_media):
    call_command("load_demo_data")
    response = client.post(
        "/accounts/login/", {"username": "practitioner", "password": "threadline-demo"}
    )
    assert response.status_code == 302


def test_demo_data_is_refused_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refusing with DEBUG off"):
        call_command("load_demo_data")
    assert Location.objects.count() == 0


def story_patient(stage):
    story = next(s for s in STORIES if s.stage == stage)
    return Patient.objects.get(first_name=story.first_name, last_name=story.last_name)


def test_the_demo_has_a_patient_at_every_stage_from_booking_to_review(private_media):
    call_command("load_demo_data")
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


def test_the_demo_stories_happened_in_order_before_today(private_media):
    call_command("load_demo_data")
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
    capsys, private_media
):
    call_command("load_demo_data")
    capsys.readouterr()
    call_command("verify_consents", "--require-some")
    out = capsys.readouterr()
    assert out.out.strip() == "All 4 signed consents are intact, and so is their chain."
    assert out.err == ""


def test_loading_the_demo_sends_nothing_and_queues_no_reminder(
    django_capture_on_commit_callbacks, private_media
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo_data")
    assert Appointment.objects.filter(starts_at__gt=timezone.now()).count() > 40
    assert mail.outbox == []
    assert not DBTaskResult.objects.exists()
