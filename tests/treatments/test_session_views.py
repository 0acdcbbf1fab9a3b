"""The session pages: starting from a treatment appointment, completing, locking, addenda."""

import threading
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations.booking import services as booking
from consultations.models import Appointment, AppointmentStatus
from tests import recipes
from tests.clock import arrive_for
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    ThreadProductFactory,
)
from tests.recipes import (
    LOCAL_LIDOCAINE_FORM,
    accept,
    build_clinic,
    completed_session,
    receive,
    sign,
    start,
)
from treatments.models import (
    PlacedThreads,
    SessionAddendum,
    StockLot,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services
from treatments.services import stock as stock_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def start_url(appointment):
    return reverse("treatments:session_start", args=[appointment.pk])


def check_form(clinic, plan=None, **overrides) -> dict:
    """What the treatment-day check posts with everything confirmed and the clinic's lot."""
    plan = plan or clinic["plan"]
    latest = clinic["patient"].medical_histories.order_by("-version").first()
    form = {
        "plan": str(plan.pk),
        "history_version": str(latest.version),
        "identity_confirmed": "on",
        "allergies_confirmed": "on",
        "history_confirmed": "on",
        "photo_refusal_reason": "Prefers no photos",
        "lots": [str(clinic["lot"].pk)],
    }
    form.update(overrides)
    return form


def detail_url(session):
    return reverse("treatments:session_detail", args=[session.pk])


def complete_url(session):
    return reverse("treatments:session_complete", args=[session.pk])


def addendum_url(session):
    return reverse("treatments:session_addendum", args=[session.pk])


def html_of(response) -> str:
    return response.content.decode()


def on_hand(lot) -> int:
    return StockLot.objects.get(pk=lot.pk).quantity_on_hand


def completion_form(session, lot, count="2", **details) -> dict:
    """What the completion form posts: each vector's lot, count and deviation, and the details."""
    form = {
        **LOCAL_LIDOCAINE_FORM,
        "anaesthetic_agent": "Lidocaine 1% with adrenaline",
        "anaesthetic_volume_ml": "4.5",
        "immediate_outcome": "Good lift, symmetrical",
        "complications": "",
    }
    for vector in session.plan.vectors.all():
        form[f"vector-{vector.pk}-lot"] = str(lot.pk)
        form[f"vector-{vector.pk}-count"] = count
        form[f"vector-{vector.pk}-deviation"] = ""
    form.update(details)
    return form


@pytest.fixture
def session(clinic):
    """An open session: accepted plan, signed consent, started from the appointment."""
    plan = accept(clinic)
    sign(clinic, plan)
    return start(clinic, plan)


# Who may do what ------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_changes(client, clinic, session):
    form = completion_form(session, clinic["lot"])
    for response in [
        client.post(start_url(clinic["appointment"])),
        client.get(detail_url(session)),
        client.post(complete_url(session), form),
        client.post(addendum_url(session), {"text": "x"}),
    ]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked
    assert on_hand(clinic["lot"]) == 10


def test_the_front_desk_is_refused_and_sees_no_clinical_data(
    client, clinic, session, frontdesk_user
):
    client.force_login(frontdesk_user)
    for response in [
        client.post(start_url(clinic["appointment"])),
        client.get(detail_url(session)),
        client.post(complete_url(session), completion_form(session, clinic["lot"])),
        client.post(addendum_url(session), {"text": "x"}),
    ]:
        assert response.status_code == 403
        assert "Duras" not in html_of(response) and "LOT-A" not in html_of(response)
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked
    assert on_hand(clinic["lot"]) == 10


def test_a_manager_reads_a_session_but_cannot_start_complete_or_add_to_it(
    client, clinic, session, manager_user
):
    client.force_login(manager_user)
    response = client.get(detail_url(session))
    assert response.status_code == 200
    assert "has not completed this session yet" in html_of(response)
    assert reverse("treatments:aftercare_pdf", args=[session.pk]) not in html_of(response)
    assert "Complete the session" not in html_of(response)
    assert client.post(start_url(clinic["appointment"])).status_code == 403
    form = completion_form(session, clinic["lot"])
    assert client.post(complete_url(session), form).status_code == 403
    completed_session(session, lot=clinic["lot"], by=clinic["user"], count=2, details={})
    assert client.post(addendum_url(session), {"text": "x"}).status_code == 403
    assert "Add the addendum" not in html_of(client.get(detail_url(session)))
    assert not SessionAddendum.objects.exists()


@pytest.fixture
def far_session(clinic):
    """An open session at a location the doctor does not work at."""
    elsewhere = LocationFactory(name="Elsewhere", time_zone="America/New_York")
    other = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere])
    for weekday in range(7):
        other.working_hours.create(
            location=elsewhere, weekday=weekday, starts_at=time(8), ends_at=time(18)
        )
    RoomFactory(location=elsewhere, name="Far room")
    # The patient's plan held at that location, accepted and consented there.
    actor = Actor.system(user=other.user)
    local_plan = plan_services.create_plan(
        patient=clinic["patient"], practitioner=other, location=elsewhere, actor=actor
    )
    vectors = [
        {
            "area": v.area,
            "side": v.side,
            "product": v.product_id,
            "count": v.count,
            "view": v.view,
            "entry": [v.entry_x, v.entry_y],
            "end": [v.end_x, v.end_y],
            "depth": v.depth,
            "notes": "",
        }
        for v in clinic["plan"].vectors.all()
    ]
    local_plan = plan_services.save_plan(
        plan=local_plan, revision=local_plan.revision, vectors=vectors, actor=actor
    )
    plan = plan_services.set_plan_status(plan=local_plan, status="accepted", actor=actor)
    sign(clinic, plan)
    recipes.receive(clinic["cog"], elsewhere, "LOT-FAR", by=other.user)
    day = timezone.localdate(timezone=elsewhere.zone) + timedelta(days=2)
    appointment = booking.book_appointment(
        patient=clinic["patient"],
        practitioner=other,
        location=elsewhere,
        appointment_type=clinic["treatment"],
        starts_at=datetime.combine(day, time(10), tzinfo=elsewhere.zone),
        actor=actor,
    )
    return recipes.start_session(appointment=appointment, plan=plan, by=other.user)


def test_a_session_or_appointment_at_another_location_is_not_found(client, clinic, far_session):
    client.force_login(clinic["user"])
    assert client.get(detail_url(far_session)).status_code == 404
    form = completion_form(far_session, clinic["lot"])
    assert client.post(complete_url(far_session), form).status_code == 404
    assert client.post(addendum_url(far_session), {"text": "x"}).status_code == 404
    assert client.post(start_url(far_session.appointment)).status_code == 404
    assert not TreatmentSession.objects.get(pk=far_session.pk).is_locked


# Starting -----------------------------------------------------------------------


def test_starting_without_a_signed_consent_is_refused_and_nothing_is_created(client, clinic):
    accept(clinic)
    arrive_for(clinic["appointment"])
    client.force_login(clinic["user"])
    response = client.post(start_url(clinic["appointment"]), check_form(clinic))
    assert response.status_code == 400
    assert "The session was not started" in html_of(response)
    assert "No signed consent to plan version 1" in html_of(response)
    assert not TreatmentSession.objects.exists()
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].status == AppointmentStatus.BOOKED


def test_starting_without_an_accepted_plan_says_so(client, clinic):
    client.force_login(clinic["user"])  # the plan is still a draft
    response = client.post(start_url(clinic["appointment"]), follow=True)
    assert "Marguerite Duras has no accepted treatment plan" in html_of(response)
    assert not TreatmentSession.objects.exists()


def test_a_plan_of_another_patient_is_not_found(client, clinic):
    accept(clinic)
    sign(clinic)
    other_patient = PatientFactory()
    client.force_login(clinic["user"])
    someone_elses = TreatmentPlan.objects.create(
        patient=other_patient,
        practitioner=clinic["doctor"],
        location=clinic["location"],
        screening=clinic["plan"].screening,
    )
    for value in [str(someone_elses.pk), "abc", "99999"]:
        response = client.post(start_url(clinic["appointment"]), {"plan": value})
        assert response.status_code == 404, value
    assert not TreatmentSession.objects.exists()


def test_the_patients_own_plan_held_at_another_location_is_out_of_reach(client, clinic):
    accept(clinic)
    sign(clinic)
    elsewhere = LocationFactory(name="Elsewhere")
    other = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere])
    plan_there = plan_services.set_plan_status(
        plan=plan_services.revise_plan(plan=clinic["plan"], actor=Actor.system(user=other.user)),
        status="accepted",
        actor=Actor.system(user=other.user),
    )
    TreatmentPlan.objects.filter(pk=plan_there.pk).update(location=elsewhere)
    client.force_login(clinic["user"])
    response = client.post(start_url(clinic["appointment"]), {"plan": plan_there.pk})
    assert response.status_code == 404
    # Unnamed, only plans here are considered: version 1 was superseded, so there is none.
    response = client.post(start_url(clinic["appointment"]), follow=True)
    assert "has no accepted treatment plan" in html_of(response)
    assert not TreatmentSession.objects.exists()


def test_only_a_treatment_appointment_opens_a_session(client, clinic):
    accept(clinic)
    sign(clinic)
    consultation = AppointmentTypeFactory(
        name="Consultation", kind="consultation", duration_minutes=30
    )
    day = timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=3)
    appointment = booking.book_appointment(
        patient=clinic["patient"],
        practitioner=clinic["doctor"],
        location=clinic["location"],
        appointment_type=consultation,
        starts_at=datetime.combine(day, time(9), tzinfo=clinic["location"].zone),
        actor=Actor.system(user=clinic["user"]),
    )
    arrive_for(appointment)
    client.force_login(clinic["user"])
    response = client.post(start_url(appointment), check_form(clinic))
    assert response.status_code == 400
    assert "Sessions are recorded from treatment appointments." in html_of(response)
    assert not TreatmentSession.objects.exists()


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_a_cancelled_or_missed_appointment_does_not_open_a_session(client, clinic, status):
    accept(clinic)
    sign(clinic)
    arrive_for(clinic["appointment"])  # a no-show is recorded once the appointment has begun
    booking.set_appointment_status(
        appointment=clinic["appointment"],
        status=status,
        actor=Actor.system(user=clinic["user"]),
        reason="Ill",
    )
    client.force_login(clinic["user"])
    response = client.post(start_url(clinic["appointment"]), follow=True)
    assert "The session was not started. This appointment is" in html_of(response)
    assert not TreatmentSession.objects.exists()


def test_the_service_refuses_a_session_for_a_cancelled_appointment(clinic):
    from django.core.exceptions import ValidationError

    accept(clinic)
    sign(clinic)
    booking.set_appointment_status(
        appointment=clinic["appointment"],
        status="cancelled",
        actor=Actor.system(user=clinic["user"]),
        reason="x",
    )
    clinic["appointment"].refresh_from_db()
    with pytest.raises(ValidationError):
        start(clinic)


def test_starting_with_consent_opens_the_session_prefilled_from_the_plan(client, clinic):
    plan = accept(clinic)
    sign(clinic, plan)
    old = receive(clinic["cog"], clinic["location"], "LOT-OLD", days=30)
    StockLot.objects.filter(pk=old.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
    empty = receive(clinic["cog"], clinic["location"], "LOT-EMPTY", quantity=1)
    StockLot.objects.filter(pk=empty.pk).update(quantity_on_hand=0)
    receive(clinic["cog"], LocationFactory(name="Elsewhere"), "LOT-FAR")
    receive(
        ThreadProductFactory(name="PLLA Screw 21G 60"), clinic["location"], "LOT-SCREW", quantity=5
    )
    arrive_for(clinic["appointment"])
    client.force_login(clinic["user"])

    response = client.post(start_url(clinic["appointment"]), check_form(clinic, plan))
    assert response.status_code == 302, html_of(response)
    session = TreatmentSession.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(session)
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].status == AppointmentStatus.IN_PROGRESS
    # Starting again (a second click) opens the same session.
    again = client.post(start_url(clinic["appointment"]), check_form(clinic, plan))
    assert again["Location"] == detail_url(session)
    assert TreatmentSession.objects.count() == 1

    html = html_of(client.get(detail_url(session)))
    assert html.count('data-testid="placement-row"') == 2
    assert "planned 2 × PDO Cog 19G 100" in html
    lot = clinic["lot"]
    assert f'<option value="{lot.pk}" selected>LOT-A · 10 on hand · expires' in html
    assert html.count('value="2"') >= 2  # the counts default to the plan's
    assert "LOT-SCREW · 5 on hand" in html  # another product, to choose with a reason
    assert '<optgroup label="PLLA Screw 21G 60">' in html
    for unusable in ["LOT-OLD", "LOT-EMPTY", "LOT-FAR"]:
        assert unusable not in html
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, object_id=str(session.pk), patient_id=clinic["patient"].pk
    ).exists()


def test_the_session_page_shows_the_recorded_check_with_who_checked_and_when(
    client, clinic, session
):
    client.force_login(clinic["user"])
    html = html_of(client.get(detail_url(session)))
    check = session.safety_check
    when = timezone.localtime(check.checked_at, clinic["location"].zone)
    name = clinic["user"].get_full_name()
    assert f"Checked {when:%-d %b %Y, %H:%M} (Europe/London) by {name}." in html
    assert "Prefers no photos today" in html
    assert "LOT-A (PDO Cog 19G 100, expires" in html


def test_the_check_page_shows_what_blocks_the_start_before_anything_is_typed(client, clinic):
    accept(clinic)  # no consent yet, and the appointment is tomorrow
    client.force_login(clinic["user"])
    response = client.get(start_url(clinic["appointment"]))
    assert response.status_code == 200
    html = html_of(response)
    assert "The session cannot start:" in html
    assert "the session can be started from then, not before." in html
    assert "No signed consent to plan version 1" in html
    assert "Marguerite Duras, born" in html
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, summary__startswith="Opened the treatment-day check"
    ).exists()


def test_the_history_link_comes_back_to_the_check(client, clinic):
    accept(clinic)
    client.force_login(clinic["user"])
    check_url = start_url(clinic["appointment"]) + f"?plan={clinic['plan'].pk}"
    intake = reverse("consultations:intake_form", args=[clinic["patient"].pk])
    response = client.post(
        intake + "?" + urlencode({"next": check_url}),
        {"diabetes": "none", "smoking": "never", "pregnant": "on", **EMPTY_TREATMENTS},
    )
    assert response.status_code == 302 and response["Location"] == check_url
    html = html_of(client.get(check_url))
    assert "Not today. Pregnant or breastfeeding" in html


EMPTY_TREATMENTS = {
    "treatments-TOTAL_FORMS": "0",
    "treatments-INITIAL_FORMS": "0",
    "treatments-MIN_NUM_FORMS": "0",
    "treatments-MAX_NUM_FORMS": "30",
}


# Completing -----------------------------------------------------------------------


def test_completing_through_the_page_uses_the_stock_locks_the_record_and_books_reviews(
    client, clinic, session
):
    client.force_login(clinic["user"])
    response = client.post(complete_url(session), completion_form(session, clinic["lot"]))
    assert response.status_code == 302 and response["Location"] == detail_url(session)
    assert on_hand(clinic["lot"]) == 6
    stored = TreatmentSession.objects.get(pk=session.pk)
    assert stored.is_locked and stored.completed_by == clinic["user"]
    assert stored.anaesthetic_agent == "Lidocaine 1% with adrenaline"
    assert str(stored.anaesthetic_volume_ml) == "4.5"
    assert PlacedThreads.objects.filter(session=session, lot=clinic["lot"]).count() == 2

    html = html_of(client.get(detail_url(session)))
    assert "Session completed: the record is now locked." in html
    assert "The record is locked" in html and "Complete the session" not in html
    assert html.count("LOT-A") == 3  # both placements, and the lot named at the check
    assert "Good lift, symmetrical" in html
    assert html.count("Review with") == 3  # the 2-week, 3-month and 6-month reviews
    assert reverse("treatments:consent_detail", args=[session.consent_id]) in html
    assert reverse("treatments:aftercare_pdf", args=[session.pk]) in html
    assert "Add the addendum" in html


def test_submitting_the_same_completion_twice_uses_the_stock_once(client, clinic, session):
    client.force_login(clinic["user"])
    form = completion_form(session, clinic["lot"])
    client.post(complete_url(session), form)
    response = client.post(complete_url(session), form, follow=True)
    assert "This session is already completed: add an addendum instead." in html_of(response)
    assert on_hand(clinic["lot"]) == 6
    assert PlacedThreads.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sqlite_on_disk")
def test_two_tabs_completing_at_once_use_the_stock_once(clinic, session):
    form = completion_form(session, clinic["lot"])
    tabs = [Client(), Client()]
    for tab in tabs:
        tab.force_login(clinic["user"])
    outcomes, barrier = [], threading.Barrier(2)

    def submit(tab):
        barrier.wait()
        try:
            response = tab.post(complete_url(session), form, follow=True)
            outcomes.append(html_of(response))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=[tab]) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum("Session completed: the record is now locked." in html for html in outcomes) == 1
    assert sum("already completed" in html for html in outcomes) == 1
    assert on_hand(clinic["lot"]) == 6
    assert PlacedThreads.objects.count() == 2


def other_location_lot(clinic):
    return receive(clinic["cog"], LocationFactory(name="Elsewhere"), "LOT-FAR")


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("other_location", "choose a lot held at this location"),
        ("expired", "has expired"),
        ("too_few", "lot LOT-A has only 3 left"),
        ("count_abc", "the count must be a whole number from 1 to 20"),
        ("count_zero", "the count must be a whole number from 1 to 20"),
        ("count_decimal", "the count must be a whole number from 1 to 20"),
        ("count_blank", "the count must be a whole number from 1 to 20"),
        ("count_huge", "the count must be a whole number from 1 to 20"),
        ("lot_abc", "choose a lot from the list"),
        ("volume_abc", "The volume must be a number of millilitres from 0 to 50"),
        ("volume_too_much", "The volume must be a number of millilitres from 0 to 50"),
        ("anaesthesia_unknown", "Select a valid choice"),
        ("weight_zero", "A patient&#x27;s weight is from 30 to 250 kg: 0 kg cannot be right"),
        ("weight_900", "A patient&#x27;s weight is from 30 to 250 kg: 900 kg cannot be right"),
        ("weight_in_pounds", "Type the weight in kilograms as a number only"),
        ("volume_in_mg", "Type the volume in millilitres as a number only (e.g. 4.5): “2 mg”"),
        ("concentration_200", "200 is not a strength"),
        (
            "over_the_maximum",
            "Lidocaine dose 600 mg (2% × 30 mL) is over the maximum of 448 mg for 64 kg with "
            "adrenaline (7 mg/kg, at most 500 mg",
        ),
    ],
)
def test_bad_completions_are_refused_with_a_message_and_stock_never_moves(
    client, clinic, session, problem, message
):
    lot = clinic["lot"]
    first = session.plan.vectors.first()
    form = completion_form(session, lot)
    if problem == "other_location":
        form[f"vector-{first.pk}-lot"] = str(other_location_lot(clinic).pk)
    elif problem == "expired":
        StockLot.objects.filter(pk=lot.pk).update(
            expires_on=timezone.localdate() - timedelta(days=1)
        )
    elif problem == "too_few":
        StockLot.objects.filter(pk=lot.pk).update(quantity_on_hand=3)
    elif problem.startswith("count_"):
        bad = {"abc": "abc", "zero": "0", "decimal": "2.0", "blank": "", "huge": "21"}
        form[f"vector-{first.pk}-count"] = bad[problem.removeprefix("count_")]
    elif problem == "lot_abc":
        form[f"vector-{first.pk}-lot"] = "abc"
    elif problem == "volume_abc":
        form["anaesthetic_volume_ml"] = "abc"
    elif problem == "volume_too_much":
        form["anaesthetic_volume_ml"] = "55"
    elif problem == "anaesthesia_unknown":
        form["anaesthesia"] = "general"
    elif problem.startswith("weight_"):
        bad = {"zero": "0", "900": "900", "in_pounds": "150 lb"}
        form["patient_weight_kg"] = bad[problem.removeprefix("weight_")]
    elif problem == "volume_in_mg":
        form["anaesthetic_volume_ml"] = "2 mg"
    elif problem == "concentration_200":
        form["anaesthetic_concentration_percent"] = "200"
    elif problem == "over_the_maximum":
        form.update(anaesthetic_concentration_percent="2", anaesthetic_volume_ml="30")
    before = on_hand(lot)
    client.force_login(clinic["user"])
    response = client.post(complete_url(session), form)
    assert response.status_code == 400
    html = html_of(response)
    assert "Nothing was saved" in html
    assert message in html
    assert on_hand(lot) == before
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked
    assert not PlacedThreads.objects.exists()
    assert 'data-testid="completion-form"' in html  # shown again to correct


def test_a_deviation_from_the_plan_needs_a_reason(client, clinic, session):
    first = session.plan.vectors.first()
    form = completion_form(session, clinic["lot"])
    form[f"vector-{first.pk}-count"] = "3"
    client.force_login(clinic["user"])
    response = client.post(complete_url(session), form)
    assert response.status_code == 400
    assert "this differs from the plan; say why in the deviation" in html_of(response)
    assert 'value="3"' in html_of(response)  # what was typed is kept
    assert on_hand(clinic["lot"]) == 10

    form[f"vector-{first.pk}-deviation"] = "Extra thread for a stronger lift"
    assert client.post(complete_url(session), form).status_code == 302
    assert on_hand(clinic["lot"]) == 5
    placed = PlacedThreads.objects.get(session=session, count=3)
    assert placed.deviation == "Extra thread for a stronger lift"


def test_another_products_lot_can_be_used_with_a_reason(client, clinic, session):
    screw = receive(
        ThreadProductFactory(name="PLLA Screw 21G 60"), clinic["location"], "LOT-SCREW", quantity=5
    )
    first = session.plan.vectors.first()
    form = completion_form(session, clinic["lot"])
    form[f"vector-{first.pk}-lot"] = str(screw.pk)
    client.force_login(clinic["user"])
    assert client.post(complete_url(session), form).status_code == 400
    form[f"vector-{first.pk}-deviation"] = "Planned cogs too long for this face"
    assert client.post(complete_url(session), form).status_code == 302
    assert (on_hand(screw), on_hand(clinic["lot"])) == (3, 8)
    assert PlacedThreads.objects.get(session=session, lot=screw).product.name == "PLLA Screw 21G 60"


def test_a_withdrawn_consent_stops_the_completion(client, clinic, session):
    consent_services.withdraw_consent(
        consent=session.consent, reason="Too anxious today", actor=Actor.system(user=clinic["user"])
    )
    client.force_login(clinic["user"])
    assert "the session cannot be completed" in html_of(client.get(detail_url(session)))
    response = client.post(complete_url(session), completion_form(session, clinic["lot"]))
    assert response.status_code == 400
    assert "The consent was withdrawn: the session cannot be completed." in html_of(response)
    assert on_hand(clinic["lot"]) == 10


# After completion: locked, addenda only -----------------------------------------------


def test_an_addendum_is_kept_with_who_and_when_and_the_record_itself_never_changes(
    client, clinic, session
):
    client.force_login(clinic["user"])
    response = client.post(addendum_url(session), {"text": "Too early"})
    assert response.status_code == 400
    assert "The session is still open" in html_of(response)

    client.post(complete_url(session), completion_form(session, clinic["lot"]))
    response = client.post(addendum_url(session), {"text": "Right side lot confirmed as LOT-A."})
    assert response.status_code == 302
    addendum = SessionAddendum.objects.get()
    assert addendum.added_by == clinic["user"] and addendum.added_at is not None
    html = html_of(client.get(detail_url(session)))
    assert "Right side lot confirmed as LOT-A." in html
    local = timezone.localtime(addendum.added_at, clinic["location"].zone)
    assert f"{local:%-d %b %Y, %H:%M} (Europe/London) by {clinic['user'].get_full_name()}" in html

    changed = completion_form(
        session, clinic["lot"], count="1", immediate_outcome="Rewritten afterwards"
    )
    response = client.post(complete_url(session), changed, follow=True)
    assert "already completed" in html_of(response)
    stored = TreatmentSession.objects.get(pk=session.pk)
    assert stored.immediate_outcome == "Good lift, symmetrical"
    assert list(PlacedThreads.objects.values_list("count", flat=True)) == [2, 2]
    assert on_hand(clinic["lot"]) == 6

    assert client.post(addendum_url(session), {"text": "  "}).status_code == 400
    assert SessionAddendum.objects.count() == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_request_edits_or_deletes_a_session(client, clinic, session, method):
    client.force_login(clinic["user"])
    response = getattr(client, method)(detail_url(session))
    assert response.status_code == 405
    assert TreatmentSession.objects.filter(pk=session.pk).exists()


def test_reviews_shown_are_the_patients_reviews_after_completion(client, clinic, session):
    client.force_login(clinic["user"])
    client.post(complete_url(session), completion_form(session, clinic["lot"]))
    stored = TreatmentSession.objects.get(pk=session.pk)
    reviews = Appointment.objects.filter(
        patient=clinic["patient"], appointment_type__kind="review"
    ).order_by("starts_at")
    assert reviews.count() == 3
    html = html_of(client.get(detail_url(session)))
    for review in reviews:
        assert review.starts_at > stored.completed_at
        assert reverse("consultations:appointment_detail", args=[review.pk]) in html


# Quarantined and recalled lots ------------------------------------------------------


@pytest.mark.parametrize("status", ["quarantined", "recalled"])
def test_a_quarantined_or_recalled_lot_is_not_offered_and_a_raw_post_naming_it_is_refused(
    client, clinic, session, manager_user, status
):
    lot = clinic["lot"]
    stock_services.change_lot_status(
        lot=lot, status=status, reason="Supplier notice", actor=Actor.system(user=manager_user)
    )
    client.force_login(clinic["user"])
    page = html_of(client.get(detail_url(session)))
    assert f'<option value="{lot.pk}"' not in page

    before = on_hand(lot)
    response = client.post(complete_url(session), completion_form(session, lot))

    assert response.status_code == 400
    assert (
        f"lot {lot.lot_number} is {status} and cannot be used".lower() in html_of(response).lower()
    )
    assert on_hand(lot) == before
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked
    assert not PlacedThreads.objects.exists()


def test_a_lot_released_back_to_active_can_be_used_again(client, clinic, session, manager_user):
    lot = clinic["lot"]
    actor = Actor.system(user=manager_user)
    stock_services.change_lot_status(lot=lot, status="quarantined", reason="Check", actor=actor)
    stock_services.change_lot_status(lot=lot, status="active", reason="Cleared", actor=actor)
    client.force_login(clinic["user"])
    response = client.post(complete_url(session), completion_form(session, lot))
    assert response.status_code == 302
    assert TreatmentSession.objects.get(pk=session.pk).is_locked


def test_lot_problems_names_each_unusable_lot_and_why(clinic, manager_user):
    active = clinic["lot"]
    quarantined = receive(clinic["cog"], clinic["location"], "LOT-Q")
    recalled = receive(clinic["cog"], clinic["location"], "LOT-R")
    actor = Actor.system(user=manager_user)
    stock_services.change_lot_status(lot=quarantined, status="quarantined", reason="x", actor=actor)
    stock_services.change_lot_status(lot=recalled, status="recalled", reason="y", actor=actor)

    problems = stock_services.lot_problems([active, quarantined, recalled], on=timezone.localdate())

    assert problems == [
        "Lot LOT-Q is quarantined and cannot be used.",
        "Lot LOT-R is recalled and cannot be used.",
    ]


def test_the_day_check_and_the_session_show_the_patients_allergies_and_blood_thinners(
    client, location, private_media, practitioner_user
):
    clinic = build_clinic(location, practitioner_user, history=recipes.ALERTING_HISTORY)
    accept(clinic)
    sign(clinic)
    arrive_for(clinic["appointment"])
    client.force_login(practitioner_user)
    check = client.get(start_url(clinic["appointment"])).content.decode()
    session = start(clinic)
    detail = client.get(reverse("treatments:session_detail", args=[session.pk])).content.decode()
    for html in (check, detail):
        assert 'data-testid="medical-alerts"' in html
        assert "Local anaesthetics" in html and "Penicillin" in html and "Apixaban" in html
