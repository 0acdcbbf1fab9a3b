"""The consultation and screening pages: who may use them, the assessment, the screening,
the decision and the audit trail."""

import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations import services
from consultations.demo_photos import demo_photo_jpeg
from consultations.models import (
    CONSULTATION_AREAS,
    AppointmentType,
    Consultation,
    PhotoStage,
    PhotoView,
    Screening,
)
from consultations.screening import services as screening_services
from consultations.screening.rules import RULES_VERSION
from tests.factories import AppointmentFactory, PatientFactory
from tests.recipes import photography_consent

pytestmark = pytest.mark.django_db

NEGATIVE_BODY_IMAGE = {
    "concerned": "no",
    "preoccupied": "no",
    "distress": "1",
    "social": "1",
    "work": "1",
    "avoidance": "1",
    "interference": "no",
}
POSITIVE_BODY_IMAGE = {**NEGATIVE_BODY_IMAGE, "concerned": "yes", "preoccupied": "yes", "work": "3"}
JUSTIFICATION = "Discussed at length; her GP confirms no body dysmorphic disorder."


def today():
    return timezone.localdate()


def assessment_data(**overrides) -> dict:
    data = {
        "expectations": "A fresher jawline for her daughter's wedding.",
        "wanted_by": "",
        "fitzpatrick": "3",
        "glogau": "2",
        "skin_thickness": "normal",
        "skin_quality": "Good elasticity",
        "asymmetry_notes": "",
    }
    for area in CONSULTATION_AREAS:
        data.update(
            {f"area-{area}-concern": "", f"area-{area}-goal": "", f"area-{area}-laxity": ""}
        )
    data.update(
        {
            "area-jawline-concern": "Heavy jowls",
            "area-jawline-goal": "A cleaner jawline",
            "area-jawline-laxity": "2",
        }
    )
    data.update(overrides)
    return data


def text_of(response) -> str:
    """The page's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    text = re.sub(r"<[^>]*>", "", response.content.decode())
    return " ".join(unescape(text).split())


@pytest.fixture
def patient():
    born = today().replace(year=today().year - 40, day=1)
    return PatientFactory(first_name="Harriet", last_name="Vane", date_of_birth=born)


def take_history(patient, user, **answers):
    return services.submit_medical_history(
        patient=patient, answers=answers, actor=Actor.system(user=user)
    )


def open_consultation(patient, user):
    return services.start_consultation(
        patient=patient, practitioner=user.staff, actor=Actor.system(user=user)
    )


def assess(consultation, user, **details):
    return services.save_assessment(
        consultation=consultation,
        details={"fitzpatrick": 3, "glogau": 2, **details},
        areas={"jawline": {"concern": "Jowls", "goal": "Lift", "laxity": 2}},
        actor=Actor.system(user=user),
    )


@pytest.fixture
def consultation(patient, practitioner_user):
    return open_consultation(patient, practitioner_user)


@pytest.fixture
def anticoagulated(patient, practitioner_user, consultation):
    """A patient on blood thinners, assessed and ready to screen."""
    take_history(
        patient, practitioner_user, anticoagulants=True, anticoagulant_details="Apixaban 5 mg"
    )
    assess(consultation, practitioner_user)
    return consultation


def screen(consultation, user, answers=NEGATIVE_BODY_IMAGE):
    body_image = {
        key: (value == "yes") if value in ("yes", "no") else int(value)
        for key, value in answers.items()
    }
    return screening_services.run_screening(
        consultation=consultation, body_image=body_image, actor=Actor.system(user=user)
    )


def consultation_appointment(patient, practitioner_user, location, kind="consultation"):
    appointment_type, _ = AppointmentType.objects.get_or_create(
        name=f"First {kind}", kind=kind, duration_minutes=30, needs_room=False
    )
    starts_at = timezone.now() + timedelta(hours=1)
    # Set up directly (booking rules have their own tests).
    return AppointmentFactory(
        patient=patient,
        practitioner=practitioner_user.staff,
        location=location,
        appointment_type=appointment_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        blocked_until=starts_at + timedelta(minutes=30),
    )


# Who may do what -----------------------------------------------------------------------


@pytest.fixture
def world(patient, practitioner_user, location, anticoagulated):
    return {
        "patient": patient,
        "appointment": consultation_appointment(patient, practitioner_user, location),
        "consultation": anticoagulated,
        "screening": screen(anticoagulated, practitioner_user),
    }


# (url name, method, the object in the URL, whether it records clinical work, POST data)
ROUTES = [
    ("consultation_start", "post", "patient", True, {}),
    ("consultation_for_appointment", "post", "appointment", True, {}),
    ("consultation_detail", "get", "consultation", False, None),
    ("consultation_detail", "post", "consultation", True, assessment_data(fitzpatrick="5")),
    ("screening_new", "get", "consultation", True, None),
    ("screening_new", "post", "consultation", True, NEGATIVE_BODY_IMAGE),
    ("screening_detail", "get", "screening", False, None),
    ("screening_decide", "post", "screening", True, {"decision": "accepted"}),
    ("screening_pdf", "get", "screening", False, None),
]
ROUTE_IDS = [f"{method} {name}" for name, method, *_ in ROUTES]


def call(client, world, route):
    name, method, target, _writes, data = route
    url = reverse(f"consultations:{name}", args=[world[target].pk])
    return client.post(url, data) if method == "post" else client.get(url)


def clinical_state():
    """Everything a refused request must leave as it was."""
    return (
        Consultation.objects.count(),
        Screening.objects.count(),
        list(Consultation.objects.values_list("fitzpatrick", "assessed_at")),
        list(Screening.objects.values_list("decision", flat=True)),
    )


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_visitors_are_sent_to_sign_in(client, world, route):
    response = call(client, world, route)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_the_front_desk_is_refused_sees_no_clinical_data_and_changes_nothing(
    client, world, frontdesk_user, route
):
    before = clinical_state()
    client.force_login(frontdesk_user)
    response = call(client, world, route)
    assert response.status_code == 403
    body = response.content.decode()
    # The patient's whole name: a generated staff name ("Vanessa") may hold "Vane".
    assert "Harriet Vane" not in body and "Vane, Harriet" not in body
    assert "Apixaban" not in body
    assert "anticoagulants" not in body
    assert clinical_state() == before


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_practitioners_may_read_and_record(client, world, practitioner_user, route):
    client.force_login(practitioner_user)
    response = call(client, world, route)
    method = route[1]
    assert response.status_code == (302 if method == "post" else 200)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_managers_may_read_but_not_record(client, world, manager_user, route):
    before = clinical_state()
    client.force_login(manager_user)
    response = call(client, world, route)
    writes = route[3]
    assert response.status_code == (403 if writes else 200)
    assert clinical_state() == before


def test_a_manager_sees_the_consultation_read_only(client, manager_user, anticoagulated):
    client.force_login(manager_user)
    page = text_of(
        client.get(reverse("consultations:consultation_detail", args=[anticoagulated.pk]))
    )
    assert "Read only" in page
    assert "Save the assessment" not in page
    assert "Run the screening" not in page


# Opening a consultation ----------------------------------------------------------------


def test_a_practitioner_opens_an_ad_hoc_consultation_from_the_chart(
    client, practitioner_user, patient
):
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:consultation_start", args=[patient.pk]), follow=True
    )
    consultation = Consultation.objects.get(patient=patient)
    assert response.redirect_chain[-1][0] == reverse(
        "consultations:consultation_detail", args=[consultation.pk]
    )
    page = text_of(response)
    assert "Consultation opened." in page
    assert "No medical history yet" in page
    assert consultation.practitioner == practitioner_user.staff
    assert consultation.areas.count() == len(CONSULTATION_AREAS)


def test_an_appointments_consultation_is_opened_once_and_reopened_after(
    client, practitioner_user, patient, location
):
    appointment = consultation_appointment(patient, practitioner_user, location)
    client.force_login(practitioner_user)
    url = reverse("consultations:consultation_for_appointment", args=[appointment.pk])
    first = client.post(url)
    again = client.post(url)
    consultation = Consultation.objects.get(appointment=appointment)
    assert first["Location"] == again["Location"]
    assert first["Location"] == reverse("consultations:consultation_detail", args=[consultation.pk])
    assert Consultation.objects.count() == 1


def test_a_treatment_appointment_does_not_open_a_consultation(
    client, practitioner_user, patient, location
):
    appointment = consultation_appointment(patient, practitioner_user, location, kind="treatment")
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:consultation_for_appointment", args=[appointment.pk])
    )
    assert response["Location"] == reverse(
        "consultations:appointment_detail", args=[appointment.pk]
    )
    assert "Consultations are opened from consultation appointments." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    assert not Consultation.objects.exists()


# The assessment ------------------------------------------------------------------------


@pytest.fixture
def photos(private_media, patient, practitioner_user):
    """Two baseline photos and a later one of the patient, and a baseline of someone else."""

    def add(owner, view, stage, seed):
        if not services.photo_use_consented(owner, "clinical"):
            photography_consent(owner, practitioner_user)
        jpeg = io.BytesIO(demo_photo_jpeg(seed=seed, view=view, stage=stage))
        jpeg.name = "photo.jpg"
        return services.add_patient_photos(
            patient=owner,
            files=[jpeg],
            view=view,
            stage=stage,
            taken_on=today() - timedelta(days=1),
            actor=Actor.system(user=practitioner_user),
        )[0]

    other = PatientFactory(first_name="Other", last_name="Person")
    return {
        "frontal": add(patient, PhotoView.FRONTAL, PhotoStage.BASELINE, 1),
        "profile": add(patient, PhotoView.LEFT_PROFILE, PhotoStage.BASELINE, 1),
        "later": add(patient, PhotoView.FRONTAL, PhotoStage.THREE_MONTHS, 1),
        "someone_else": add(other, PhotoView.FRONTAL, PhotoStage.BASELINE, 2),
    }


def test_a_practitioner_records_concerns_goals_and_the_assessment(
    client, practitioner_user, patient, consultation, photos
):
    take_history(patient, practitioner_user, smoking="current")
    client.force_login(practitioner_user)
    url = reverse("consultations:consultation_detail", args=[consultation.pk])
    form_page = client.get(url)
    assert "Smokes" in text_of(form_page)  # the history's flags, beside the assessment
    html = form_page.content.decode()
    for offered in ("frontal", "profile"):
        assert reverse("consultations:photo_thumbnail", args=[photos[offered].pk]) in html
    # Only this patient's baseline photos are offered.
    for other in ("later", "someone_else"):
        assert reverse("consultations:photo_thumbnail", args=[photos[other].pk]) not in html

    wanted_by = (today() + timedelta(days=60)).isoformat()
    response = client.post(
        url,
        assessment_data(
            fitzpatrick="4",
            glogau="3",
            skin_thickness="thin",
            wanted_by=wanted_by,
            asymmetry_notes="Left jowl lower than right.",
            baseline_photos=[photos["frontal"].pk, photos["profile"].pk],
            **{"area-neck-concern": "Crepey neck", "area-neck-laxity": "4"},
        ),
        follow=True,
    )
    page = text_of(response)
    assert "Assessment saved." in page
    assert "Left jowl lower than right." in page
    assert 'value="Crepey neck"' in response.content.decode()

    consultation.refresh_from_db()
    assert (consultation.fitzpatrick, consultation.glogau) == (4, 3)
    assert consultation.skin_thickness == "thin"
    assert consultation.wanted_by.isoformat() == wanted_by
    assert consultation.assessed_at is not None
    assert set(consultation.baseline_photos.all()) == {photos["frontal"], photos["profile"]}
    rows = {row.area: row for row in consultation.areas.all()}
    assert (rows["jawline"].concern, rows["jawline"].goal, rows["jawline"].laxity) == (
        "Heavy jowls",
        "A cleaner jawline",
        2,
    )
    assert rows["neck"].laxity == 4
    assert rows["brow"].laxity is None
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(consultation.pk), patient_id=patient.pk
    ).exists()


BAD_ASSESSMENTS = [
    ({"fitzpatrick": ""}, "Choose the Fitzpatrick skin type."),
    ({"glogau": ""}, "Choose the Glogau photo-ageing type."),
    ({"fitzpatrick": "7"}, "Select a valid choice."),
    ({"area-neck-laxity": "7"}, "Choose a laxity grade from 0 to 4, or leave it blank."),
    ({"area-neck-laxity": "-1"}, "Choose a laxity grade from 0 to 4, or leave it blank."),
    (
        {"wanted_by": (timezone.localdate() - timedelta(days=1)).isoformat()},
        "This date has passed: give an upcoming date or leave it empty.",
    ),
    ({"wanted_by": "next summer"}, "Enter a valid date."),
    ({"skin_quality": "x" * 301}, "at most 300 characters (it has 301)"),
    ({"area-midface-concern": "x" * 301}, "at most 300 characters (it has 301)"),
    ({"expectations": "x" * 2001}, "at most 2000 characters (it has 2001)"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_ASSESSMENTS, ids=[m for _b, m in BAD_ASSESSMENTS])
def test_bad_assessment_input_is_refused_with_a_clear_message_and_nothing_is_saved(
    client, practitioner_user, consultation, bad, message
):
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:consultation_detail", args=[consultation.pk]),
        assessment_data(**bad),
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Some answers need another look" in page
    assert message in page
    consultation.refresh_from_db()
    assert consultation.assessed_at is None
    assert consultation.fitzpatrick is None
    assert not consultation.areas.exclude(concern="").exists()


@pytest.mark.parametrize("which", ["someone_else", "later"])
def test_only_this_patients_baseline_photos_can_be_linked(
    client, practitioner_user, consultation, photos, which
):
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:consultation_detail", args=[consultation.pk]),
        assessment_data(baseline_photos=[photos["frontal"].pk, photos[which].pk]),
    )
    assert response.status_code == 400
    assert "Choose from this patient's baseline photos only." in text_of(response)
    consultation.refresh_from_db()
    assert consultation.assessed_at is None
    assert not consultation.baseline_photos.exists()


def test_markup_typed_into_the_consultation_is_shown_as_text(
    client, practitioner_user, patient, consultation
):
    take_history(
        patient,
        practitioner_user,
        anticoagulants=True,
        anticoagulant_details="<b>Warfarin</b>",
    )
    client.force_login(practitioner_user)
    url = reverse("consultations:consultation_detail", args=[consultation.pk])
    client.post(url, assessment_data(**{"area-jawline-concern": "<script>alert(1)</script>"}))
    body = client.get(url).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;b&gt;Warfarin&lt;/b&gt;" in body

    consultation.refresh_from_db()
    screening = screen(consultation, practitioner_user)
    detail = client.get(reverse("consultations:screening_detail", args=[screening.pk]))
    body = detail.content.decode()
    assert "&lt;b&gt;Warfarin&lt;/b&gt;" in body  # the finding's detail
    assert "<b>Warfarin</b>" not in body


# Running the screening -----------------------------------------------------------------


def test_screening_without_a_medical_history_says_to_take_it_first(
    client, practitioner_user, consultation
):
    assess(consultation, practitioner_user)
    client.force_login(practitioner_user)
    url = reverse("consultations:screening_new", args=[consultation.pk])
    assert "The patient has no medical history yet: take it first." in text_of(client.get(url))
    response = client.post(url, NEGATIVE_BODY_IMAGE)
    assert response.status_code == 400
    page = text_of(response)
    assert "The screening could not run" in page
    assert "The patient has no medical history yet: take it first." in page
    assert not Screening.objects.exists()


def test_screening_without_an_assessment_says_to_record_it_first(
    client, practitioner_user, patient, consultation
):
    take_history(patient, practitioner_user)
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:screening_new", args=[consultation.pk]), NEGATIVE_BODY_IMAGE
    )
    assert response.status_code == 400
    assert "Record the assessment before screening." in text_of(response)
    assert not Screening.objects.exists()


def test_missing_body_image_answers_are_pointed_out_and_nothing_is_saved(
    client, practitioner_user, anticoagulated
):
    client.force_login(practitioner_user)
    answers = {k: v for k, v in NEGATIVE_BODY_IMAGE.items() if k not in ("preoccupied", "work")}
    answers["social"] = "9"
    response = client.post(
        reverse("consultations:screening_new", args=[anticoagulated.pk]), answers
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Answer every question: 3 still without an answer." in page
    assert page.count("Answer this question.") == 2
    assert "Select a valid choice. 9 is not one of the available choices." in page
    assert not Screening.objects.exists()


def test_a_positive_body_image_screen_makes_the_patient_not_suitable(
    client, practitioner_user, anticoagulated
):
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:screening_new", args=[anticoagulated.pk]),
        POSITIVE_BODY_IMAGE,
        follow=True,
    )
    screening = Screening.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "consultations:screening_detail", args=[screening.pk]
    )
    page = text_of(response)
    assert "Outcome: Not suitable" in page
    assert "Suggested: do not proceed; discuss or refer." in page
    assert "Positive body-image screen" in page
    assert "offer referral to the GP or a psychologist" in page
    assert screening.body_image_positive
    assert screening.body_image_answers["work"] == 3
    assert screening.body_image_answers["concerned"] is True


def test_anticoagulants_give_suitable_with_precautions_and_the_advice(
    client, practitioner_user, anticoagulated
):
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:screening_new", args=[anticoagulated.pk]),
        NEGATIVE_BODY_IMAGE,
        follow=True,
    )
    page = text_of(response)
    assert "Screened: Suitable with precautions." in page
    assert "Outcome: Suitable with precautions" in page
    assert "Takes anticoagulants or antiplatelets: Apixaban 5 mg" in page
    assert "Do not stop anticoagulants without the prescriber's advice" in page
    assert "Blood thinners raise the risk of bruising and haematoma" in page  # the rationale
    assert "Note: No specific published source found; clinic policy" in page
    assert "Positive body-image screen" not in page
    assert f"rules version {RULES_VERSION}" in page
    # Planning waits for the practitioner's decision.
    assert "The last screening has no decision yet." in page


def test_a_deferral_says_until_when(client, practitioner_user, patient, consultation):
    event_on = today() + timedelta(days=5)
    take_history(patient, practitioner_user, important_event_on=event_on, important_event="Wedding")
    assess(consultation, practitioner_user)
    screening = screen(consultation, practitioner_user)
    client.force_login(practitioner_user)
    page = text_of(client.get(reverse("consultations:screening_detail", args=[screening.pk])))
    day_after = event_on + timedelta(days=1)
    assert f"Defer until a later date (until {day_after.day} {day_after:%b %Y})" in page
    assert "Book the treatment after the dental work or event." in page


def test_a_newer_medical_history_flags_the_screening_for_review(
    client, practitioner_user, patient, anticoagulated
):
    screening = screen(anticoagulated, practitioner_user)
    url = reverse("consultations:screening_detail", args=[screening.pk])
    client.force_login(practitioner_user)
    assert "Needs review" not in text_of(client.get(url))
    take_history(patient, practitioner_user, anticoagulants=False, pregnant=True)
    page = text_of(client.get(url))
    assert "Needs review: the medical history has changed since this screening" in page
    assert "The medical history changed after the last screening." in page


# The decision --------------------------------------------------------------------------


def decide(client, screening, **data):
    return client.post(reverse("consultations:screening_decide", args=[screening.pk]), data)


def test_accepting_the_outcome_opens_planning(client, practitioner_user, anticoagulated):
    screening = screen(anticoagulated, practitioner_user)
    client.force_login(practitioner_user)
    response = decide(client, screening, decision="accepted")
    page = text_of(client.get(response["Location"]))
    assert "Decision recorded." in page
    assert "Outcome accepted by" in page
    assert "Record the decision" not in page
    assert "Open: Screening allows planning." in page


@pytest.mark.parametrize("justification", ["", "   ", "Fine."])
def test_an_override_without_a_written_justification_is_refused(
    client, practitioner_user, anticoagulated, justification
):
    screening = screen(anticoagulated, practitioner_user, POSITIVE_BODY_IMAGE)
    client.force_login(practitioner_user)
    response = decide(client, screening, decision="overridden", justification=justification)
    assert response.status_code == 400
    page = text_of(response)
    assert "Write why you override the outcome (at least a sentence)." in page
    assert "Record the decision" in page  # the form is still there
    screening.refresh_from_db()
    assert screening.decision == ""
    assert not AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_type="consultations.Screening"
    ).exists()


def test_an_override_with_a_justification_is_recorded_shown_and_audited(
    client, practitioner_user, patient, anticoagulated
):
    screening = screen(anticoagulated, practitioner_user, POSITIVE_BODY_IMAGE)
    client.force_login(practitioner_user)
    response = decide(client, screening, decision="overridden", justification=JUSTIFICATION)
    page = text_of(client.get(response["Location"]))
    assert "Outcome overridden by the practitioner" in page
    assert JUSTIFICATION in page
    assert "Open: Screening allows planning." in page
    screening.refresh_from_db()
    assert screening.decision == "overridden"
    assert screening.decided_by == practitioner_user
    assert screening.override_justification == JUSTIFICATION
    event = AuditEvent.objects.get(
        action=AuditAction.UPDATE,
        object_type="consultations.Screening",
        object_id=str(screening.pk),
    )
    assert event.patient_id == patient.pk
    assert event.summary.startswith("Overrode “Not suitable”: Discussed at length")


def test_a_screening_is_decided_only_once(client, practitioner_user, anticoagulated):
    screening = screen(anticoagulated, practitioner_user)
    client.force_login(practitioner_user)
    decide(client, screening, decision="accepted")
    response = decide(client, screening, decision="overridden", justification=JUSTIFICATION)
    assert response.status_code == 400
    page = text_of(response)
    assert "This screening already has a decision; screen again to change it." in page
    assert "Outcome accepted by" in page
    screening.refresh_from_db()
    assert screening.decision == "accepted"
    assert screening.override_justification == ""


def test_a_decision_must_be_chosen(client, practitioner_user, anticoagulated):
    screening = screen(anticoagulated, practitioner_user)
    client.force_login(practitioner_user)
    response = decide(client, screening, justification=JUSTIFICATION)
    assert response.status_code == 400
    assert "Accept the outcome or override it." in text_of(response)
    screening.refresh_from_db()
    assert screening.decision == ""


# The audit trail -----------------------------------------------------------------------


def test_every_look_at_a_consultation_or_screening_is_audited(
    client, manager_user, practitioner_user, patient, anticoagulated
):
    screening = screen(anticoagulated, practitioner_user)
    pages = [
        (reverse("consultations:consultation_detail", args=[anticoagulated.pk]), "Consultation"),
        (reverse("consultations:screening_detail", args=[screening.pk]), "Screening"),
    ]
    for user in (practitioner_user, manager_user):
        client.force_login(user)
        for url, model in pages:
            before = AuditEvent.objects.count()
            assert client.get(url).status_code == 200
            event = AuditEvent.objects.order_by("pk").last()
            assert AuditEvent.objects.count() == before + 1
            assert (event.action, event.actor, event.patient_id) == (
                AuditAction.VIEW,
                user,
                patient.pk,
            )
            assert event.object_type == f"consultations.{model}"

    client.force_login(practitioner_user)
    client.get(reverse("consultations:screening_new", args=[anticoagulated.pk]))
    assert AuditEvent.objects.order_by("pk").last().summary == "Opened the screening questions"


def test_refusals_are_audited_too(client, frontdesk_user, anticoagulated):
    client.force_login(frontdesk_user)
    client.get(reverse("consultations:consultation_detail", args=[anticoagulated.pk]))
    event = AuditEvent.objects.order_by("pk").last()
    assert event.action == AuditAction.DENIED
    assert event.actor == frontdesk_user
    assert "clinic.view_clinical" in event.summary


# What each finding rests on -----------------------------------------------------------------

# A history answer added with the cited rules, the finding's title, and what the page shows
# under it: its source's citation, or the note that says there is none.
CITED_ANSWERS = [
    (
        {"cold_sores": True},
        "History of cold sores (herpes labialis)",
        "Source: Gilbert S, McBurney E. Use of Valacyclovir for Herpes Simplex Virus-1 (HSV-1) "
        "Prophylaxis After Facial Resurfacing",
    ),
    (
        {"aspirin": True},
        "Takes aspirin",
        "Source: UK Clinical Pharmacy Association. Handbook of Perioperative Medicines: Aspirin."
        " UKCPA Handbook of Perioperative Medicines (online monograph), undated",
    ),
    (
        {"nsaids": True},
        "Takes anti-inflammatory painkillers (NSAIDs)",
        "Source: UK Clinical Pharmacy Association. Handbook of Perioperative Medicines: "
        "Non-Steroidal Anti-inflammatory Drugs",
    ),
    (
        {"bleeding_supplements": True, "bleeding_supplement_details": "Fish oil"},
        "Takes supplements that increase bleeding (fish oil, vitamin E, ginkgo, …): Fish oil",
        "Source: Wong WW, Gabriel A, Maxwell GP, Gupta SC. Bleeding Risks of Herbal, "
        "Homeopathic, and Dietary Supplements",
    ),
    (
        {"active_cancer": True},
        "Active cancer or cancer treatment under way",
        "Note: No specific published source found; clinic policy",
    ),
    (
        {"koebner_skin_disease": True, "koebner_skin_disease_details": "Psoriasis, scalp"},
        "Skin disease with a Koebner response (psoriasis, vitiligo, lichen planus)",
        "Source: StatPearls Publishing (chapter authors not shown on the record read). Koebner "
        "Phenomenon. StatPearls [Internet], Treasure Island (FL), 2024",
    ),
    (
        {"vaccinated_on": -2},
        "A vaccination in the last 2 weeks",
        "Note: No thread-specific source found: the 2-week wait after any vaccine is clinic policy",
    ),
    (
        {"isotretinoin_last_taken_on": -30},
        "Isotretinoin (Roaccutane) in the last 6 months",
        "Source: Spring LK, Krakowski AC, Alam M, et al. Isotretinoin and Timing of Procedural "
        "Interventions",
    ),
    (
        {"current_medications": "Sertraline 50 mg"},
        "Current medicines listed: for the practitioner's review: Sertraline 50 mg",
        "Note: No specific published source found; clinic policy: every listed medicine is "
        "reviewed before treatment.",
    ),
]


@pytest.mark.parametrize(("answers", "title", "rests_on"), CITED_ANSWERS)
def test_a_new_history_answer_shows_its_finding_with_what_it_rests_on(
    client, practitioner_user, patient, consultation, answers, title, rests_on
):
    dated = {
        key: today() + timedelta(days=value) if key.endswith("_on") else value
        for key, value in answers.items()
    }
    take_history(patient, practitioner_user, **dated)
    assess(consultation, practitioner_user)
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:screening_new", args=[consultation.pk]),
        NEGATIVE_BODY_IMAGE,
        follow=True,
    )
    page = text_of(response)
    assert title in page
    assert rests_on in page
    assert "judged under England (GB-ENG)" in page


def test_an_old_screening_without_citations_still_shows_its_findings(
    client, practitioner_user, anticoagulated
):
    screening = screen(anticoagulated, practitioner_user)
    # As stored before findings carried sources, and before jurisdictions were recorded.
    findings = [
        {k: v for k, v in f.items() if k not in ("sources", "source_note")}
        for f in screening.findings
    ]
    Screening.objects.filter(pk=screening.pk).update(findings=findings, jurisdiction="")
    client.force_login(practitioner_user)
    page = text_of(client.get(reverse("consultations:screening_detail", args=[screening.pk])))
    assert "Takes anticoagulants or antiplatelets: Apixaban 5 mg" in page
    assert "judged under not recorded" in page
    assert "Note:" not in page
