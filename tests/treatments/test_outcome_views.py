"""Follow-up pages of a session: a review's outcome, and an adverse event."""

import io
from datetime import datetime, time, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.models import Appointment, AppointmentType
from tests.factories import (
    LocationFactory,
    PatientFactory,
    StaffMemberFactory,
    ThreadProductFactory,
)
from tests.recipes import (
    LOCAL_LIDOCAINE,
    accept,
    build_clinic,
    completed_session,
    photography_consent,
    receive,
    sign,
)
from tests.recipes import start as start_session
from treatments.models import AdverseEvent, Outcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


@pytest.fixture
def session(clinic):
    """A completed session today: 4 threads from lot LOT-A; its reviews are booked."""
    sign(clinic, accept(clinic))
    session = start_session(clinic)
    return completed_session(
        session, lot=clinic["lot"], by=clinic["user"], details={**LOCAL_LIDOCAINE}
    )


def photo(patient, by, stage: str, view: str = "frontal"):
    if not consultation_services.photo_use_consented(patient, "clinical"):
        photography_consent(patient, by)
    out = io.BytesIO()
    Image.new("RGB", (400, 400), (190, 160, 140)).save(out, format="JPEG")
    return consultation_services.add_patient_photos(
        patient=patient,
        files=[SimpleUploadedFile("face.jpg", out.getvalue(), content_type="image/jpeg")],
        view=view,
        stage=stage,
        taken_on=timezone.localdate(),
        actor=Actor.system(user=by),
    )[0]


@pytest.fixture
def photos(clinic, session):
    patient, by = clinic["patient"], clinic["user"]
    return {
        "baseline": photo(patient, by, "baseline"),
        "two_weeks": photo(patient, by, "2_weeks"),
        "three_months": photo(patient, by, "3_months", view="left_oblique"),
    }


@pytest.fixture
def stranger(clinic):
    """Another patient, with a follow-up photo and a review appointment of their own."""
    patient = PatientFactory(first_name="Other", last_name="Person")
    review = AppointmentType.objects.get(kind="review")
    day = timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=2)
    appointment = booking.book_appointment(
        patient=patient,
        practitioner=clinic["doctor"],
        location=clinic["location"],
        appointment_type=review,
        starts_at=datetime.combine(day, time(9), tzinfo=clinic["location"].zone),
        actor=Actor.system(user=clinic["user"]),
    )
    return {
        "patient": patient,
        "photo": photo(patient, clinic["user"], "2_weeks"),
        "appointment": appointment,
    }


def outcome_url(session):
    return reverse("treatments:outcome_new", args=[session.pk])


def event_url(session):
    return reverse("treatments:adverse_event_new", args=[session.pk])


def first_review(clinic):
    return (
        Appointment.objects.filter(patient=clinic["patient"], appointment_type__kind="review")
        .order_by("starts_at")
        .first()
    )


def html_of(response) -> str:
    return response.content.decode()


# A review's outcome ---------------------------------------------------------------------


def test_the_review_form_offers_the_gais_scale_this_patients_reviews_and_follow_up_photos(
    client, clinic, session, photos, stranger
):
    client.force_login(clinic["user"])
    response = client.get(outcome_url(session))
    assert response.status_code == 200
    html = html_of(response)
    for label in ("1 · Very much improved", "3 · Improved", "5 · Worse"):
        assert label in html
    assert 'name="gais_practitioner"' in html and 'name="gais_patient"' in html
    assert '<label for="id_satisfaction"' in html or 'for="id_satisfaction"' in html
    # Follow-up photos as thumbnails; the baseline and other patients' photos are not offered.
    for key in ("two_weeks", "three_months"):
        assert reverse("consultations:photo_thumbnail", args=[photos[key].pk]) in html
    assert reverse("consultations:photo_thumbnail", args=[photos["baseline"].pk]) not in html
    assert reverse("consultations:photo_thumbnail", args=[stranger["photo"].pk]) not in html
    assert reverse("consultations:photo_compare", args=[clinic["patient"].pk]) in html
    # This patient's review appointments, not the stranger's.
    assert f'<option value="{first_review(clinic).pk}"' in html
    assert f'<option value="{stranger["appointment"].pk}"' not in html
    viewed = AuditEvent.objects.get(
        action=AuditAction.VIEW, object_type="treatments.TreatmentSession"
    )
    assert viewed.patient_id == clinic["patient"].pk


def test_a_practitioner_records_a_reviews_outcome(client, clinic, session, photos):
    client.force_login(clinic["user"])
    review = first_review(clinic)
    response = client.post(
        outcome_url(session),
        {
            "gais_practitioner": "2",
            "gais_patient": "1",
            "satisfaction": "9",
            "notes": "Good lift, slight asymmetry settled.",
            "appointment": str(review.pk),
            "photos": [str(photos["two_weeks"].pk), str(photos["three_months"].pk)],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("treatments:session_detail", args=[session.pk])
    outcome = Outcome.objects.get()
    assert (outcome.gais_practitioner, outcome.gais_patient, outcome.satisfaction) == (2, 1, 9)
    assert outcome.session == session and outcome.appointment == review
    assert outcome.notes == "Good lift, slight asymmetry settled."
    assert set(outcome.photos.all()) == {photos["two_weeks"], photos["three_months"]}
    assert outcome.recorded_by == clinic["user"]
    created = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="treatments.Outcome")
    assert created.patient_id == clinic["patient"].pk


def test_an_outcome_needs_no_appointment_or_photos(client, clinic, session):
    client.force_login(clinic["user"])
    response = client.post(
        outcome_url(session), {"gais_practitioner": "3", "gais_patient": "4", "satisfaction": "0"}
    )
    assert response.status_code == 302
    outcome = Outcome.objects.get()
    assert outcome.satisfaction == 0 and outcome.appointment is None
    assert not outcome.photos.exists()


GOOD_OUTCOME = {"gais_practitioner": "2", "gais_patient": "2", "satisfaction": "8"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gais_practitioner": "0"}, "Choose a score from 1 (very much improved) to 5 (worse)."),
        ({"gais_practitioner": "6"}, "Choose a score from 1 (very much improved) to 5 (worse)."),
        ({"gais_patient": "6"}, "Choose a score from 1 (very much improved) to 5 (worse)."),
        ({"gais_patient": ""}, "Choose a score from 1 (very much improved) to 5 (worse)."),
        ({"satisfaction": "11"}, "whole number from 0 to 10"),
        ({"satisfaction": "-1"}, "whole number from 0 to 10"),
        ({"satisfaction": "abc"}, "whole number from 0 to 10"),
        ({"satisfaction": "7.5"}, "whole number from 0 to 10"),
        ({"satisfaction": ""}, "whole number from 0 to 10"),
        ({"notes": "x" * 4001}, "at most 4000 characters"),
        ({"appointment": "abc"}, "Choose one of this patient&#x27;s review appointments."),
    ],
)
def test_bad_review_answers_are_refused_with_a_clear_error_and_nothing_is_saved(
    client, clinic, session, change, message
):
    client.force_login(clinic["user"])
    response = client.post(outcome_url(session), {**GOOD_OUTCOME, **change})
    assert response.status_code == 400
    html = html_of(response)
    assert message in html
    assert "Nothing was saved" in html
    assert not Outcome.objects.exists()


def test_another_patients_photo_or_appointment_is_refused_and_nothing_is_saved(
    client, clinic, session, photos, stranger
):
    client.force_login(clinic["user"])
    response = client.post(
        outcome_url(session),
        {**GOOD_OUTCOME, "photos": [str(photos["two_weeks"].pk), str(stranger["photo"].pk)]},
    )
    assert response.status_code == 400
    assert "Choose this patient&#x27;s follow-up photos only." in html_of(response)
    response = client.post(
        outcome_url(session), {**GOOD_OUTCOME, "appointment": str(stranger["appointment"].pk)}
    )
    assert response.status_code == 400
    assert "Choose one of this patient&#x27;s review appointments." in html_of(response)
    baseline = client.post(
        outcome_url(session), {**GOOD_OUTCOME, "photos": [str(photos["baseline"].pk)]}
    )
    assert baseline.status_code == 400
    assert not Outcome.objects.exists()


def test_a_session_still_open_cannot_be_reviewed(client, clinic):
    sign(clinic, accept(clinic))
    session = start_session(clinic)
    client.force_login(clinic["user"])
    assert "not completed yet" in html_of(client.get(outcome_url(session)))
    response = client.post(outcome_url(session), GOOD_OUTCOME)
    assert response.status_code == 400
    assert "Review a session once it is completed." in html_of(response)
    assert not Outcome.objects.exists()


# An adverse event ------------------------------------------------------------------------


def good_event(clinic, **changes) -> dict:
    today = timezone.localdate(timezone=clinic["location"].zone)
    return {
        "event_type": "extrusion",
        "severity": "moderate",
        "onset_on": today.isoformat(),
        "lots": [str(clinic["lot"].pk)],
        "management": "Thread end trimmed under local anaesthetic.",
        "threads_removed": "on",
        "resolved_on": today.isoformat(),
        "description": "Thread end visible at the left temple entry point.",
        **changes,
    }


def test_the_adverse_event_form_offers_only_the_lots_placed_in_the_session(client, clinic, session):
    other = receive(ThreadProductFactory(name="PLLA Cone 23G"), clinic["location"], "LOT-UNUSED")
    client.force_login(clinic["user"])
    response = client.get(event_url(session))
    assert response.status_code == 200
    html = html_of(response)
    assert "LOT-A" in html and f'value="{clinic["lot"].pk}"' in html
    assert "LOT-UNUSED" not in html and f'value="{other.pk}"' not in html
    for label in ("Extrusion", "Granuloma", "Mild", "Moderate", "Severe"):
        assert label in html


def test_a_practitioner_reports_an_adverse_event_naming_the_lot(client, clinic, session):
    client.force_login(clinic["user"])
    response = client.post(event_url(session), good_event(clinic))
    assert response.status_code == 302
    assert response["Location"] == reverse("treatments:session_detail", args=[session.pk])
    event = AdverseEvent.objects.get()
    assert (event.event_type, event.severity, event.threads_removed) == (
        "extrusion",
        "moderate",
        True,
    )
    assert list(event.lots.all()) == [clinic["lot"]]
    assert event.session == session and event.reported_by == clinic["user"]
    assert event.resolved_on == event.onset_on
    created = AuditEvent.objects.get(
        action=AuditAction.CREATE, object_type="treatments.AdverseEvent"
    )
    assert created.patient_id == clinic["patient"].pk


def test_an_ongoing_event_needs_no_resolution_date_or_lot(client, clinic, session):
    client.force_login(clinic["user"])
    data = good_event(clinic, resolved_on="", lots=[], threads_removed="")
    response = client.post(event_url(session), data)
    assert response.status_code == 302
    event = AdverseEvent.objects.get()
    assert event.resolved_on is None and not event.lots.exists() and not event.threads_removed


def days(clinic, offset: int) -> str:
    return (
        timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=offset)
    ).isoformat()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: {"onset_on": days(c, -1), "resolved_on": ""}, "cannot begin before the session"),
        (lambda c: {"onset_on": days(c, 1), "resolved_on": ""}, "cannot be in the future"),
        (lambda c: {"resolved_on": days(c, -1)}, "It cannot resolve before it began."),
        (lambda c: {"resolved_on": days(c, 1)}, "The day it resolved cannot be in the future."),
        (lambda c: {"onset_on": ""}, "Type the day it began."),
        (lambda c: {"onset_on": "31/02/2025"}, "Type the day it began as a date"),
        (lambda c: {"event_type": ""}, "Choose the type of event."),
        (lambda c: {"event_type": "alien"}, "Choose one of the listed types of event."),
        (lambda c: {"severity": "catastrophic"}, "Choose mild, moderate or severe."),
        (lambda c: {"lots": ["abc"]}, "Choose lots used in this session."),
        (lambda c: {"description": "x" * 4001}, "at most 4000 characters"),
    ],
)
def test_bad_adverse_event_answers_are_refused_with_a_clear_error_and_nothing_is_saved(
    client, clinic, session, change, message
):
    client.force_login(clinic["user"])
    response = client.post(event_url(session), good_event(clinic, **change(clinic)))
    assert response.status_code == 400
    html = html_of(response)
    assert message in html
    assert "Nothing was saved" in html
    assert not AdverseEvent.objects.exists()


def test_a_lot_not_used_in_the_session_is_refused(client, clinic, session):
    unused = receive(clinic["cog"], clinic["location"], "LOT-SHELF")
    client.force_login(clinic["user"])
    response = client.post(
        event_url(session), good_event(clinic, lots=[str(clinic["lot"].pk), str(unused.pk)])
    )
    assert response.status_code == 400
    assert "Choose lots used in this session." in html_of(response)
    assert not AdverseEvent.objects.exists()


# Who may record them --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.MANAGER])
def test_only_practitioners_record_outcomes_and_adverse_events(
    client, users_by_role, clinic, session, role
):
    client.force_login(users_by_role[role])
    for url, data in (
        (outcome_url(session), GOOD_OUTCOME),
        (event_url(session), good_event(clinic)),
    ):
        assert client.get(url).status_code == 403
        response = client.post(url, data)
        assert response.status_code == 403
        assert "Duras" not in html_of(response)
    assert not Outcome.objects.exists() and not AdverseEvent.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, session):
    for url in (outcome_url(session), event_url(session)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_session_at_a_location_i_do_not_work_at_is_not_found(client, clinic, session):
    elsewhere = LocationFactory(name="Elsewhere Clinic")
    stranger = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere])
    client.force_login(stranger.user)
    assert client.get(outcome_url(session)).status_code == 404
    assert client.post(event_url(session), good_event(clinic)).status_code == 404
    assert not AdverseEvent.objects.exists()
