"""The treatment-day check at the session: each gate holds on the day, not only at planning.

Every test here starts from a patient with an accepted plan and a signed consent, and a
treatment appointment tomorrow; the clock moves to the appointment's time where the test
is not about the time itself.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.actors import Actor
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.models import Patient
from tests.clock import arrive_for, stop_travelling, travel_to
from tests.recipes import (
    accept,
    build_clinic,
    completed_session,
    day_check_answers,
    frontal_photo,
    receive,
    sign,
    start,
)
from treatments.models import SafetyCheck, StockLot, TreatmentSession
from treatments.services import consent as consent_services
from treatments.services import sessions as session_services
from treatments.services.stock import lot_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    clinic = build_clinic(location, practitioner_user)
    accept(clinic)
    clinic["consent"] = sign(clinic)
    return clinic


def refusal(clinic, **answers) -> str:
    """Start the session and return the refusal, checking that nothing was recorded."""
    with pytest.raises(ValidationError) as refused:
        start(clinic, **answers)
    assert not TreatmentSession.objects.exists()
    assert not SafetyCheck.objects.exists()
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].status == "booked"
    return " ".join(refused.value.messages)


def new_history(clinic, **answers):
    """The medical history taken again (a new version), as the intake form stores it."""
    return consultation_services.submit_medical_history(
        patient=clinic["patient"], answers=answers, actor=Actor.system(user=clinic["user"])
    )


# The check passes and is recorded ------------------------------------------------------


def test_a_passed_check_is_recorded_with_the_session_who_checked_and_when(clinic):
    session = start(clinic)
    check = session.safety_check
    assert check.checked_by == clinic["user"]
    assert abs(check.checked_at - timezone.now()) < timedelta(minutes=1)
    assert check.identity_confirmed and check.allergies_confirmed
    assert check.medical_history.version == 1
    assert check.outcome == "suitable"
    assert check.baseline_photos == "refused"
    assert check.photo_refusal_reason == "Prefers no photos today"
    assert list(check.lots.all()) == [clinic["lot"]]
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].status == "in_progress"


def test_baseline_photos_on_record_need_no_refusal(clinic):
    frontal_photo(clinic["patient"], clinic["user"])  # a baseline photo
    session = start(clinic, photo_refusal_reason="")
    assert session.safety_check.baseline_photos == "taken"


def test_every_confirmation_is_needed(clinic):
    message = refusal(
        clinic,
        identity_confirmed=False,
        allergies_confirmed=False,
        history_confirmed=False,
        photo_refusal_reason="",
    )
    assert "Confirm the patient's identity: name and date of birth read back." in message
    assert "Confirm the patient's allergies with them." in message
    assert "Confirm with the patient that the medical history is current." in message
    assert "No baseline photos: take them, or record that the patient refused and why." in message


# Medical history and screening, on the day ------------------------------------------------


def test_a_history_changed_to_pregnant_after_consent_blocks_the_start_with_the_rules_advice(
    clinic,
):
    new_history(clinic, pregnant=True)
    message = refusal(clinic)
    assert "Not today. Pregnant or breastfeeding" in message
    assert (
        "Do not treat now; offer a new consultation after pregnancy and breastfeeding." in message
    )
    assert "It can be revisited when this changes, at a new consultation." in message


def test_a_deferring_finding_names_the_date_it_can_be_revisited(clinic):
    event = timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=5)
    new_history(clinic, important_event_on=event)
    message = refusal(clinic)
    assert "Not today." in message
    assert "It can be revisited from" in message


def test_a_history_changed_after_the_check_was_opened_is_read_again(clinic):
    new_history(clinic)  # version 2 arrives while the check still shows version 1
    message = refusal(clinic, history_version=1)
    assert "The medical history changed since the check was opened (now version 2)" in message


def test_each_precaution_must_be_acknowledged_and_the_acknowledged_ones_are_stored(clinic):
    new_history(clinic, anticoagulants=True, anticoagulant_details="Apixaban")
    message = refusal(clinic, precautions_acknowledged=frozenset())
    assert "Acknowledge the precaution “Takes anticoagulants or antiplatelets”" in message
    session = start(clinic, precautions_acknowledged=frozenset({"anticoagulants"}))
    check = session.safety_check
    assert check.precautions_acknowledged == ["anticoagulants"]
    assert check.outcome == "precautions"
    assert check.medical_history.version == 2


def test_a_screening_valid_at_planning_but_expired_on_the_day_blocks_the_start(clinic, settings):
    settings.SCREENING_VALID_DAYS = 0  # screened today: valid at planning, one day old tomorrow
    message = refusal(clinic)
    assert "days old today (valid for 0 days): screen the patient again before treating." in message


# Consent and cooling-off ---------------------------------------------------------------


def test_a_withdrawn_consent_blocks_the_start(clinic):
    consent_services.withdraw_consent(
        consent=clinic["consent"],
        reason="Changed her mind",
        actor=Actor.system(user=clinic["user"]),
    )
    assert "No signed consent to plan version 1 (or it was withdrawn)" in refusal(clinic)


def test_a_consent_withdrawn_after_the_start_blocks_completion(clinic):
    session = start(clinic)
    consent_services.withdraw_consent(
        consent=clinic["consent"],
        reason="Changed her mind",
        actor=Actor.system(user=clinic["user"]),
    )
    with pytest.raises(ValidationError, match="consent was withdrawn"):
        completed_session(session, lot=clinic["lot"], by=clinic["user"])
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == 10


def test_the_locations_cooling_off_for_adults_names_the_first_allowed_day(clinic):
    location = clinic["location"]
    location.cooling_off_adult_days = 3
    location.save()
    signed_on = timezone.localtime(clinic["consent"].signed_at, location.zone).date()
    first = signed_on + timedelta(days=3)
    message = refusal(clinic)
    assert "Cooling-off: Threadline Test Clinic keeps 3 days between signing the consent" in message
    assert "for adults" in message
    assert f"so the treatment can be from {first:%a %d %b %Y} (Europe/London)" in message


def test_patients_under_18_wait_seven_days_by_default(clinic):
    today = timezone.localdate(timezone=clinic["location"].zone)
    Patient.objects.filter(pk=clinic["patient"].pk).update(
        date_of_birth=today.replace(year=today.year - 17) - timedelta(days=30)
        if (today.month, today.day) != (2, 29)
        else today.replace(year=today.year - 17, day=28)
    )
    clinic["patient"].refresh_from_db()
    message = refusal(clinic)
    assert "keeps 7 days between signing the consent and the treatment for patients under 18" in (
        message
    )


# Lots ---------------------------------------------------------------------------------


def test_a_lot_expired_by_the_treatment_day_is_named_and_refused(clinic):
    today_only = receive(clinic["cog"], clinic["location"], "LOT-TODAY", days=0)
    message = refusal(clinic, lots=(today_only,))
    assert "Lot LOT-TODAY of PDO Cog 19G 100 has expired" in message


def test_every_planned_product_needs_a_lot(clinic):
    assert "Name the lots to be used." in refusal(clinic, lots=())


def test_lot_problems_names_expired_lots_only(clinic):
    today = timezone.localdate(timezone=clinic["location"].zone)
    assert lot_problems([clinic["lot"]], on=today) == []
    problems = lot_problems([clinic["lot"]], on=clinic["lot"].expires_on + timedelta(days=1))
    assert problems == [
        f"Lot LOT-A of PDO Cog 19G 100 has expired (expiry date "
        f"{clinic['lot'].expires_on:%d %b %Y}): do not use it."
    ]


# The appointment's time ---------------------------------------------------------------


def test_a_session_cannot_start_before_its_appointment_and_the_message_says_when(clinic):
    with pytest.raises(ValidationError) as refused:
        session_services.start_session(
            appointment=clinic["appointment"],
            plan=clinic["plan"],
            check=day_check_answers(clinic["plan"]),
            actor=Actor.system(user=clinic["user"]),
        )
    starts = timezone.localtime(clinic["appointment"].starts_at, clinic["location"].zone)
    assert (
        f"The appointment starts at {starts:%H:%M on %a %d %b %Y} (Europe/London): "
        "the session can be started from then, not before."
    ) in refused.value.messages
    assert not TreatmentSession.objects.exists()


def test_a_session_cannot_be_completed_before_its_appointment(clinic):
    session = start(clinic)
    stop_travelling()  # back to the day before the appointment
    with pytest.raises(ValidationError, match="the session can be completed from then"):
        completed_session(session, lot=clinic["lot"], by=clinic["user"])
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked


def test_a_walk_in_that_has_started_opens_a_session_at_once(clinic):
    zone = clinic["location"].zone
    noon = datetime.combine(
        timezone.localdate(timezone=zone) + timedelta(days=1), time(12), tzinfo=zone
    )
    travel_to(noon)
    walk_in = booking.book_appointment(
        patient=clinic["patient"],
        practitioner=clinic["doctor"],
        location=clinic["location"],
        appointment_type=clinic["treatment"],
        starts_at=timezone.now() + timedelta(minutes=4),
        actor=Actor.system(user=clinic["user"]),
        walk_in=True,
    )
    assert walk_in.starts_at > timezone.now()
    session = session_services.start_session(
        appointment=walk_in,
        plan=clinic["plan"],
        check=day_check_answers(clinic["plan"]),
        actor=Actor.system(user=clinic["user"]),
    )
    assert session.safety_check.checked_by == clinic["user"]


def test_a_session_opens_only_from_that_patients_treatment_appointment(clinic):
    other = build_other_patient_appointment(clinic)
    arrive_for(other)
    with pytest.raises(ValidationError, match="That plan is another patient's"):
        session_services.start_session(
            appointment=other,
            plan=clinic["plan"],
            check=day_check_answers(clinic["plan"]),
            actor=Actor.system(user=clinic["user"]),
        )


def build_other_patient_appointment(clinic):
    from tests.recipes import screened_patient

    someone = screened_patient(clinic["doctor"], first_name="Albert", last_name="Camus")
    day = timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=2)
    return booking.book_appointment(
        patient=someone,
        practitioner=clinic["doctor"],
        location=clinic["location"],
        appointment_type=clinic["treatment"],
        starts_at=datetime.combine(day, time(14), tzinfo=clinic["location"].zone),
        actor=Actor.system(user=clinic["user"]),
    )
