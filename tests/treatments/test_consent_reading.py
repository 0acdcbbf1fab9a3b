"""The consent to read at home: sent from a proposed plan, read on the patient's phone,
noted on the consent signed later in the clinic."""

import io
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations.models import LinkPurpose, PatientLink
from tests.recipes import build_clinic, sign
from treatments.models import ConsentReading
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db

# Planted in the patient's record: none of it may reach the page the link opens.
LAST_NAME = "Quennell-Ashdown"
RECORD_NUMBER = "RN-PLANTED-7731"


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    clinic = build_clinic(location, practitioner_user)
    patient = clinic["patient"]
    patient.first_name = "Marguerite"
    patient.last_name = LAST_NAME
    patient.record_number = RECORD_NUMBER
    patient.email = "marguerite@mail.example"
    patient.contact_by_email = True
    patient.save()
    return clinic


@pytest.fixture
def doctor_client(client, clinic):
    client.force_login(clinic["user"])
    return client


def actor(clinic):
    return Actor.system(user=clinic["doctor"].user)


def set_status(clinic, plan, status):
    return plan_services.set_plan_status(plan=plan, status=status, actor=actor(clinic))


def propose(clinic):
    clinic["plan"] = plan_services.set_plan_status(
        plan=clinic["plan"], status="proposed", actor=actor(clinic)
    )
    return clinic["plan"]


def send_url(plan):
    return reverse("treatments:consent_reading_send", args=[plan.pk])


def sent_link_path() -> str:
    """The patient's link, as the email carried it (the database keeps only its digest)."""
    found = re.search(r"https?://[^/\s]+(/p/[A-Za-z0-9_-]{43}/)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def send(doctor_client, clinic) -> str:
    response = doctor_client.post(send_url(clinic["plan"]))
    assert response.status_code == 302
    return sent_link_path()


def patient_phone() -> Client:
    """The patient's own browser: nobody is signed in."""
    return Client()


# Sending -------------------------------------------------------------------------------


def test_the_practitioner_sends_a_proposed_plans_consent_to_the_patients_email(
    doctor_client, clinic
):
    plan = propose(clinic)

    response = doctor_client.post(send_url(plan), follow=True)

    assert "is on its way to Marguerite (email)" in response.content.decode()
    reading = ConsentReading.objects.get()
    assert reading.plan == plan and reading.link.purpose == LinkPurpose.CONSENT_READING
    wording = consent_services.consent_wording(clinic["template"], plan)
    assert reading.text_digest == wording.digest()
    assert "You will sign it at the clinic" in mail.outbox[0].body
    assert LAST_NAME not in mail.outbox[0].body
    assert AuditEvent.objects.filter(
        patient_id=plan.patient_id, summary__startswith="Sent the consent to plan v1"
    ).exists()


def test_a_draft_plans_consent_is_not_sent_and_the_practitioner_is_told_why(doctor_client, clinic):
    plan = clinic["plan"]  # a draft

    response = doctor_client.post(send_url(plan), follow=True)

    assert "Nothing was sent. Plan version 1 is draft" in response.content.decode()
    assert not PatientLink.objects.exists() and not ConsentReading.objects.exists()
    assert not mail.outbox


def test_a_patient_who_chose_no_way_to_be_reached_is_sent_nothing_and_nothing_is_kept(
    doctor_client, clinic
):
    plan = propose(clinic)
    clinic["patient"].contact_by_email = False
    clinic["patient"].save()

    response = doctor_client.post(send_url(plan), follow=True)

    assert "Nothing was sent." in response.content.decode()
    assert "has not chosen email or text messages" in response.content.decode()
    assert not PatientLink.objects.exists() and not ConsentReading.objects.exists()


def test_the_front_desk_cannot_send_the_consent(client, clinic, frontdesk_user):
    plan = propose(clinic)
    client.force_login(frontdesk_user)

    assert client.post(send_url(plan)).status_code == 403
    assert not ConsentReading.objects.exists()


# The patient's page --------------------------------------------------------------------


def test_the_page_shows_the_consent_text_and_the_plans_areas_and_products(doctor_client, clinic):
    propose(clinic)
    path = send(doctor_client, clinic)

    page = patient_phone().get(path).content.decode()

    assert "I, Marguerite, agree to Thread lift with absorbable threads" in page
    assert "Midface" in page and clinic["cog"].name in page
    assert "Dimpling or puckering of the skin" in page  # a risk to initial at the clinic
    assert "No treatment; fillers" in page  # the alternatives
    assert "What is normal" in page  # the aftercare overview
    assert "I have read this to the end" in page


def test_the_page_names_the_patient_by_first_name_and_the_clinic_only(doctor_client, clinic):
    propose(clinic)
    path = send(doctor_client, clinic)

    page = patient_phone().get(path).content.decode()

    assert "Hello Marguerite" in page and clinic["location"].name in page
    assert LAST_NAME not in page
    assert RECORD_NUMBER not in page
    assert "marguerite@mail.example" not in page


def test_the_page_says_signing_happens_in_the_clinic_and_has_no_signature_pad(
    doctor_client, clinic
):
    propose(clinic)
    path = send(doctor_client, clinic)

    page = patient_phone().get(path).content.decode()

    assert "You do not sign anything here" in page
    assert "signature-pad" not in page.replace("signature-pad.css", "")
    assert "<canvas" not in page


def test_a_cooling_off_period_is_on_the_page(doctor_client, clinic):
    location = clinic["location"]
    location.cooling_off_adult_days = 3
    location.save()
    propose(clinic)
    path = send(doctor_client, clinic)

    page = patient_phone().get(path).content.decode()

    assert "keeps 3 days between signing the consent and the treatment" in page


def test_opening_and_reading_to_the_end_are_recorded_and_audited(doctor_client, clinic):
    propose(clinic)
    path = send(doctor_client, clinic)
    phone = patient_phone()

    phone.get(path)
    reading = ConsentReading.objects.get()
    assert reading.first_opened_at is not None and reading.read_to_end_at is None

    response = phone.post(path, {"read_to_end": "yes"}, follow=True)

    reading.refresh_from_db()
    assert reading.read_to_end_at is not None
    assert "you have read this to the end" in response.content.decode()
    assert "I have read this to the end</button>" not in response.content.decode()
    summaries = list(
        AuditEvent.objects.filter(patient_id=reading.plan.patient_id).values_list(
            "action", "summary"
        )
    )
    assert (AuditAction.VIEW, "The patient opened the consent to plan v1 at home") in summaries
    assert (
        AuditAction.UPDATE,
        "The patient read the consent to plan v1 to the end at home",
    ) in summaries


def test_reading_to_the_end_twice_keeps_the_first_time(doctor_client, clinic):
    propose(clinic)
    path = send(doctor_client, clinic)
    phone = patient_phone()
    phone.post(path, {"read_to_end": "yes"})
    first = ConsentReading.objects.get().read_to_end_at

    phone.post(path, {"read_to_end": "yes"})

    assert ConsentReading.objects.get().read_to_end_at == first


def test_the_practitioner_sees_on_the_plan_that_the_patient_read_to_the_end(doctor_client, clinic):
    plan = propose(clinic)
    path = send(doctor_client, clinic)
    patient_phone().post(path, {"read_to_end": "yes"})

    page = doctor_client.get(reverse("treatments:planner", args=[plan.pk])).content.decode()

    assert "Sent to read at home on" in page and "read to the end" in page
    assert "not read to the end yet" not in page


# A plan changed after sending ----------------------------------------------------------


def test_a_plan_taken_back_to_draft_tells_the_old_link_that_it_changed(doctor_client, clinic):
    plan = propose(clinic)
    path = send(doctor_client, clinic)
    plan_services.set_plan_status(plan=plan, status="draft", actor=actor(clinic))

    page = patient_phone().get(path).content.decode()

    assert "Your treatment plan has changed" in page
    assert "the clinic will send you the new text" in page.lower()
    assert "agree to Thread lift" not in page


def test_a_new_version_proposed_tells_the_old_link_and_reading_it_is_not_recorded(
    doctor_client, clinic
):
    plan = propose(clinic)
    path = send(doctor_client, clinic)
    plan_services.set_plan_status(plan=plan, status="accepted", actor=actor(clinic))
    newer = plan_services.revise_plan(plan=plan, actor=actor(clinic))
    plan_services.set_plan_status(plan=newer, status="proposed", actor=actor(clinic))
    phone = patient_phone()

    phone.post(path, {"read_to_end": "yes"})

    assert "Your treatment plan has changed" in phone.get(path).content.decode()
    assert ConsentReading.objects.get().read_to_end_at is None


def test_a_newer_consent_form_tells_the_old_link_that_the_text_changed(doctor_client, clinic):
    propose(clinic)
    path = send(doctor_client, clinic)
    consent_services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="I, {patient}, agree to a thread lift of the {areas}.",
        risks=["Swelling"],
        alternatives="No treatment.",
        actor=actor(clinic),
    )

    assert "Your treatment plan has changed" in patient_phone().get(path).content.decode()


# The consent signed afterwards ---------------------------------------------------------


def read_then_sign(doctor_client, clinic):
    plan = propose(clinic)
    path = send(doctor_client, clinic)
    phone = patient_phone()
    phone.get(path)
    phone.post(path, {"read_to_end": "yes"})
    clinic["plan"] = set_status(clinic, plan, "accepted")
    return sign(clinic)


def test_the_signed_consent_page_notes_the_reading_and_that_the_text_is_the_same(
    doctor_client, clinic
):
    consent = read_then_sign(doctor_client, clinic)

    page = doctor_client.get(reverse("treatments:consent_detail", args=[consent.pk]))

    text = page.content.decode()
    assert "Sent to read at home on" in text
    assert "opened" in text and "read to the end" in text
    assert "The text read was the same as the text signed." in text


def test_the_signed_consent_pdf_notes_the_reading(doctor_client, clinic):
    consent = read_then_sign(doctor_client, clinic)

    response = doctor_client.get(reverse("treatments:consent_pdf", args=[consent.pk]))

    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )
    assert "Sent to read at home on" in text
    assert "read to the end" in text
    assert "The text read was the same as the text signed." in text


def test_a_plan_edited_after_sending_is_signed_with_a_note_that_the_text_differs(
    doctor_client, clinic
):
    plan = propose(clinic)
    send(doctor_client, clinic)
    plan = plan_services.set_plan_status(plan=plan, status="draft", actor=actor(clinic))
    plan_services.save_plan(
        plan=plan, revision=plan.revision, vectors=[], actor=actor(clinic), notes=""
    )
    # Put the two vectors back, one thread fewer on the right.
    vectors = [
        {
            "area": "midface",
            "side": side,
            "product": clinic["cog"].pk,
            "count": count,
            "view": "front",
            "entry": [x, 0.6],
            "end": [x, 0.2],
            "depth": "subcutaneous",
            "notes": "",
        }
        for side, count, x in (("left", 2, 0.3), ("right", 1, 0.7))
    ]
    plan.refresh_from_db()
    plan_services.save_plan(plan=plan, revision=plan.revision, vectors=vectors, actor=actor(clinic))
    clinic["plan"] = set_status(clinic, plan, "accepted")
    consent = sign(clinic)

    page = doctor_client.get(reverse("treatments:consent_detail", args=[consent.pk]))

    assert "The text signed differs from the text sent to read" in page.content.decode()


def test_a_consent_signed_without_a_reading_says_nothing_about_one(doctor_client, clinic):
    clinic["plan"] = plan_services.set_plan_status(
        plan=clinic["plan"], status="accepted", actor=actor(clinic)
    )
    consent = sign(clinic)

    page = doctor_client.get(reverse("treatments:consent_detail", args=[consent.pk]))

    assert "Sent to read at home" not in page.content.decode()
