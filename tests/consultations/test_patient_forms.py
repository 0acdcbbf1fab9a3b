"""Forms before the visit: the patient answers the medical history and the body-image
questions from a link on their phone; the practitioner reviews what comes back; the desk
sends both forms the way the patient chose."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations import patient_links
from consultations import services as consultation_services
from consultations.models import (
    BodyImageAnswers,
    HistorySource,
    LinkPurpose,
    MedicalHistory,
    PatientLink,
    Screening,
)
from tests import recipes
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

FIRST_NAME = "Maren"
LAST_NAME = "Oyelaran-Quist"
RECORD_NUMBER = "TL-PLANTED-4471"
CLINIC_NOTE = "Planted-clinic-history-note"
WORRIED = {
    "concerned": "yes",
    "preoccupied": "yes",
    "distress": "4",
    "social": "3",
    "work": "2",
    "avoidance": "1",
    "interference": "no",
}


@pytest.fixture
def patient(location, practitioner_user):
    patient = PatientFactory(
        first_name=FIRST_NAME,
        last_name=LAST_NAME,
        record_number=RECORD_NUMBER,
        email="maren@example.com",
        contact_by_email=True,
        preferred_location=location,
        date_of_birth=timezone.localdate() - timedelta(days=40 * 365),
    )
    consultation_services.submit_medical_history(
        patient=patient,
        answers={"notes": CLINIC_NOTE, "current_medications": "Apixaban"},
        actor=Actor.system(user=practitioner_user),
    )
    return patient


@pytest.fixture
def desk(frontdesk_user):
    return Actor(user=frontdesk_user)


def link_for(patient, location, desk, purpose=LinkPurpose.MEDICAL_HISTORY):
    return patient_links.issue_link(patient=patient, purpose=purpose, location=location, actor=desk)


def page(issued) -> str:
    return reverse("consultations:patient_link", args=[issued.token])


def history_answers(**extra) -> dict:
    return {
        "diabetes": "none",
        "smoking": "never",
        "aspirin": "on",
        "notes": "Sent from my phone",
        "treatments-TOTAL_FORMS": "1",
        "treatments-INITIAL_FORMS": "0",
        "treatments-0-kind": "",
        "treatments-0-treated_on": "",
        "treatments-0-area": "",
        "treatments-0-details": "",
        **extra,
    }


def patient_phone() -> Client:
    return Client(raise_request_exception=False)


# The medical history ------------------------------------------------------------------


def test_a_patient_fills_the_history_from_a_link_and_the_practitioner_sees_it_to_review(
    patient, location, desk, client, practitioner_user
):
    issued = link_for(patient, location, desk)

    response = patient_phone().post(page(issued), history_answers())

    assert response.status_code == 200
    assert "Thank you, Maren" in response.content.decode()
    history = patient.medical_histories.order_by("-version").first()
    assert history.version == 2 and history.aspirin and history.notes == "Sent from my phone"
    assert history.source == HistorySource.PATIENT_LINK
    assert history.submitted_by is None and history.completed_by_patient
    client.force_login(practitioner_user)
    detail = client.get(reverse("consultations:medical_history_detail", args=[history.pk]))
    assert "Submitted by the patient from a link on" in detail.content.decode()
    assert "to review" in detail.content.decode()
    home = client.get(reverse("home")).content.decode()
    assert "Histories sent by patients to review" in home
    assert f"{patient.full_name}, medical history version 2" in home


def test_the_practitioner_marks_a_history_reviewed_and_it_leaves_the_list(
    patient, location, desk, client, practitioner_user
):
    issued = link_for(patient, location, desk)
    patient_phone().post(page(issued), history_answers())
    history = patient.medical_histories.order_by("-version").first()
    client.force_login(practitioner_user)

    response = client.post(reverse("consultations:history_review", args=[history.pk]), follow=True)

    assert "marked reviewed" in response.content.decode()
    history.refresh_from_db()
    assert history.reviewed_by == practitioner_user and history.reviewed_at is not None
    assert AuditEvent.objects.filter(
        summary__startswith="Reviewed medical history version 2", actor=practitioner_user
    ).exists()
    home = client.get(reverse("home")).content.decode()
    assert f"{patient.full_name}, medical history version 2" not in home


def test_the_front_desk_cannot_mark_a_history_reviewed(
    patient, location, desk, client, frontdesk_user
):
    issued = link_for(patient, location, desk)
    patient_phone().post(page(issued), history_answers())
    history = patient.medical_histories.order_by("-version").first()
    client.force_login(frontdesk_user)

    response = client.post(reverse("consultations:history_review", args=[history.pk]))

    assert response.status_code == 403
    history.refresh_from_db()
    assert history.reviewed_at is None


def test_a_second_submission_of_the_same_link_is_refused_and_saves_nothing(patient, location, desk):
    issued = link_for(patient, location, desk)
    phone = patient_phone()
    phone.post(page(issued), history_answers())

    again = phone.post(page(issued), history_answers(notes="Second try"))

    assert again.status_code == 410
    assert "already been sent" in again.content.decode()
    assert patient.medical_histories.count() == 2
    assert not MedicalHistory.objects.filter(notes="Second try").exists()


def test_a_draft_survives_reopening_the_link(patient, location, desk):
    issued = link_for(patient, location, desk)
    phone = patient_phone()

    saved = phone.post(
        page(issued),
        history_answers(
            action="save",
            notes="Half-way through",
            **{"treatments-0-kind": "toxin", "treatments-0-details": "Frown lines"},
        ),
    )
    reopened = patient_phone().get(page(issued)).content.decode()

    assert saved.status_code == 200
    assert "Your answers are saved" in saved.content.decode()
    assert "Half-way through" in reopened and "Frown lines" in reopened
    assert 'value="toxin" selected' in reopened
    assert "Welcome back" in reopened
    assert patient.medical_histories.count() == 1  # a draft is not a history


def test_the_page_script_saves_a_draft_and_gets_a_short_answer(patient, location, desk):
    issued = link_for(patient, location, desk, purpose=LinkPurpose.BODY_IMAGE)

    response = patient_phone().post(
        page(issued),
        {"action": "save", "concerned": "yes"},
        headers={"X-Requested-With": "threadline-draft"},
    )

    assert response.json() == {"saved": True}
    assert PatientLink.objects.get(pk=issued.link.pk).draft == {"concerned": "yes"}


def test_the_page_shows_the_first_name_and_the_clinic_and_nothing_else_of_the_record(
    patient, location, desk
):
    issued = link_for(patient, location, desk)

    body = patient_phone().get(page(issued)).content.decode()

    assert "Hello Maren" in body and location.name in body
    for secret in (LAST_NAME, RECORD_NUMBER, CLINIC_NOTE, "Apixaban", patient.email):
        assert secret not in body, secret


def test_an_answer_that_needs_another_look_is_shown_on_the_page_and_nothing_is_saved(
    patient, location, desk
):
    issued = link_for(patient, location, desk)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    response = patient_phone().post(
        page(issued), history_answers(vaccinated_on=tomorrow, anticoagulants="on")
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "This date is in the future" in body and "Say which blood thinners." in body
    assert patient.medical_histories.count() == 1
    assert PatientLink.objects.get(pk=issued.link.pk).state == "open"


@pytest.mark.parametrize(
    "text", ["<script>alert(1)</script>", "file:///etc/passwd"], ids=["script", "file-url"]
)
def test_what_the_patient_types_is_kept_as_text_and_shown_escaped(
    patient, location, desk, client, practitioner_user, text
):
    issued = link_for(patient, location, desk)
    draft_page = patient_phone().post(page(issued), history_answers(action="save", notes=text))
    patient_phone().post(page(issued), history_answers(notes=text))
    history = patient.medical_histories.order_by("-version").first()
    client.force_login(practitioner_user)

    detail = client.get(reverse("consultations:medical_history_detail", args=[history.pk]))

    assert history.notes == text
    assert "<script>alert(1)" not in draft_page.content.decode()
    assert "<script>alert(1)" not in detail.content.decode()
    assert text.replace("<", "&lt;").replace(">", "&gt;") in detail.content.decode()


# The body-image questions -------------------------------------------------------------


def test_body_image_answers_from_home_start_the_next_screening(
    location, desk, client, practitioner_user
):
    patient = recipes.screened_patient(practitioner_user.staff, first_name="Maren")
    consultation = patient.consultations.get()
    issued = link_for(patient, location, desk, purpose=LinkPurpose.BODY_IMAGE)

    sent = patient_phone().post(page(issued), WORRIED)
    client.force_login(practitioner_user)
    screening_page = client.get(reverse("consultations:screening_new", args=[consultation.pk]))
    client.post(reverse("consultations:screening_new", args=[consultation.pk]), WORRIED)

    assert sent.status_code == 200
    assert BodyImageAnswers.objects.get().answers["distress"] == 4
    body = screening_page.content.decode()
    assert "the patient sent from a link on" in body
    checked = re.findall(r'name="(\w+)" value="(\w+)"[^>]*checked', body)
    assert sorted(checked) == sorted(WORRIED.items())
    screening = Screening.objects.order_by("-screened_at", "-pk").first()
    assert screening.body_image_answers["distress"] == 4
    assert screening.body_image_positive


def test_answers_a_screening_already_ran_on_are_not_offered_again(
    location, desk, client, practitioner_user
):
    patient = PatientFactory(first_name="Maren")
    issued = link_for(patient, location, desk, purpose=LinkPurpose.BODY_IMAGE)
    patient_phone().post(page(issued), WORRIED)
    recipes.screened_patient(practitioner_user.staff, patient=patient)
    client.force_login(practitioner_user)

    body = client.get(
        reverse("consultations:screening_new", args=[patient.consultations.get().pk])
    ).content.decode()

    assert "the patient sent from a link" not in body


def test_body_image_questions_left_unanswered_are_shown_and_nothing_is_kept(
    patient, location, desk
):
    issued = link_for(patient, location, desk, purpose=LinkPurpose.BODY_IMAGE)

    response = patient_phone().post(page(issued), {"concerned": "yes"})

    assert response.status_code == 400
    assert "Answer this question." in response.content.decode()
    assert not BodyImageAnswers.objects.exists()


def test_the_screening_page_names_histories_the_patient_sent_that_wait_for_review(
    location, desk, client, practitioner_user
):
    patient = recipes.screened_patient(practitioner_user.staff, first_name="Maren")
    issued = link_for(patient, location, desk)
    patient_phone().post(page(issued), history_answers())
    client.force_login(practitioner_user)

    body = client.get(
        reverse("consultations:screening_new", args=[patient.consultations.get().pk])
    ).content.decode()

    assert "not reviewed yet" in body and "Medical history version 2" in body


# Sending -------------------------------------------------------------------------------


def send(client, patient, **data):
    return client.post(
        reverse("consultations:send_visit_forms", args=[patient.pk]), data, follow=True
    )


def test_the_desk_sends_both_forms_by_email_for_the_booked_visit(
    patient, location, client, frontdesk_user
):
    appointment = recipes.book_treatment(
        patient=patient,
        doctor=recipes.practitioner_at(location),
        location=location,
        appointment_type=recipes.appointment_type(kind="consultation"),
        on=recipes.local_day(location, 3),
    )
    client.force_login(frontdesk_user)

    response = send(client, patient, appointment=appointment.pk)

    assert "Sent the medical-history and body-image forms" in response.content.decode()
    assert len(mail.outbox) == 2
    assert {m.to[0] for m in mail.outbox} == {"maren@example.com"}
    links = PatientLink.objects.filter(patient=patient)
    assert {link.purpose for link in links} == {"medical_history", "body_image"}
    assert all(link.appointment == appointment and link.sent_by == "email" for link in links)


def test_a_patient_who_chose_texts_gets_both_forms_by_text(
    location, client, frontdesk_user, text_outbox
):
    patient = PatientFactory(
        first_name="Maren", phone="+447911123456", contact_by_sms=True, email=""
    )
    client.force_login(frontdesk_user)

    response = send(client, patient)

    assert "by text" in response.content.decode()
    assert len(text_outbox) == 2 and not mail.outbox


def test_the_desk_is_told_clearly_when_the_patient_chose_neither_and_nothing_is_made(
    location, client, frontdesk_user, text_outbox
):
    patient = PatientFactory(email="x@example.com", contact_by_email=False, contact_by_sms=False)
    client.force_login(frontdesk_user)

    response = send(client, patient)

    assert "has not chosen email or text messages" in response.content.decode()
    assert not PatientLink.objects.exists()
    assert not mail.outbox and not text_outbox


def test_sending_again_replaces_the_links_sent_before(patient, location, client, frontdesk_user):
    client.force_login(frontdesk_user)
    send(client, patient)

    send(client, patient)

    assert PatientLink.objects.live().count() == 2
    assert PatientLink.objects.filter(revoked_at__isnull=False).count() == 2


def test_the_chart_offers_to_send_the_forms(patient, client, frontdesk_user):
    client.force_login(frontdesk_user)

    chart = client.get(reverse("consultations:patient_chart", args=[patient.pk]))

    assert "Send the medical-history and body-image forms" in chart.content.decode()


def test_opening_and_sending_are_on_the_patients_audit_trail(patient, location, desk):
    issued = link_for(patient, location, desk)

    patient_phone().post(page(issued), history_answers())

    summaries = list(
        AuditEvent.objects.filter(patient_id=patient.pk, actor__isnull=True).values_list(
            "action", "summary"
        )
    )
    assert (
        AuditAction.UPDATE,
        f"The patient sent a form: Medical-history questionnaire (link {issued.link.pk})",
    ) in summaries
    assert any("sent by the patient from a link" in summary for _action, summary in summaries)


# A link for another purpose --------------------------------------------------------------


def test_answers_for_another_form_sent_to_a_link_save_nothing_of_either(patient, location, desk):
    """A history link takes a history, and a body-image link body-image answers: the
    token decides the page, whatever the request carries."""
    history_link = link_for(patient, location, desk)
    body_image_link = link_for(patient, location, desk, purpose=LinkPurpose.BODY_IMAGE)
    versions = patient.medical_histories.count()

    to_history = patient_phone().post(page(history_link), WORRIED)
    to_body_image = patient_phone().post(page(body_image_link), history_answers())

    assert (to_history.status_code, to_body_image.status_code) == (400, 400)
    assert patient.medical_histories.count() == versions
    assert not BodyImageAnswers.objects.exists()
    assert not PatientLink.objects.filter(used_at__isnull=False).exists()
