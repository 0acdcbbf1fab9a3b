"""The managers' adverse-event report, and the recall look-up of who received a lot."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations.booking import services as booking
from tests.factories import (
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    ThreadProductFactory,
    WorkingHoursFactory,
)
from tests.recipes import (
    accept,
    build_clinic,
    completed_session,
    receive,
    screened_plan,
    sign,
    start,
)
from treatments.models import AdverseEvent, TreatmentSession
from treatments.services import outcomes as outcome_services
from treatments.services import plans as plan_services
from treatments.services import sessions as session_services

pytestmark = pytest.mark.django_db

REPORT = "treatments:adverse_event_report"


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def complete(session, lot, by):
    return completed_session(session, lot=lot, by=by, details={"anaesthesia": "local"})


def treat(clinic, first_name, last_name, *, lot, hour, days=1, location=None, doctor=None):
    """A patient planned with the lot's product, consented and treated today, via the services."""
    location = location or clinic["location"]
    doctor = doctor or clinic["doctor"]
    patient = PatientFactory(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=timezone.localdate() - timedelta(days=45 * 365),
    )
    plan = screened_plan(patient=patient, doctor=doctor, location=location, product=lot.product)
    actor = Actor.system(user=doctor.user)
    plan = plan_services.set_plan_status(plan=plan, status="accepted", actor=actor)
    sign(clinic, plan)
    day = timezone.localdate(timezone=location.zone) + timedelta(days=days)
    appointment = booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=clinic["treatment"],
        starts_at=datetime.combine(day, time(hour), tzinfo=location.zone),
        actor=actor,
    )
    session = session_services.start_session(appointment=appointment, plan=plan, actor=actor)
    return complete(session, lot, doctor.user)


def report_event(session, event_type, lots=(), severity="mild", **extra):
    return outcome_services.report_adverse_event(
        session=session,
        event_type=event_type,
        severity=severity,
        onset_on=timezone.localdate(timezone=session.location.zone),
        lots=list(lots),
        actor=Actor.system(user=session.practitioner.user),
        **extra,
    )


def move_back(session, days):
    """Pretend the session (and its events) happened `days` ago."""
    TreatmentSession.objects.filter(pk=session.pk).update(
        started_at=session.started_at - timedelta(days=days),
        completed_at=session.completed_at - timedelta(days=days),
    )
    for event in AdverseEvent.objects.filter(session=session):
        AdverseEvent.objects.filter(pk=event.pk).update(
            onset_on=event.onset_on - timedelta(days=days)
        )


@pytest.fixture
def elsewhere(clinic):
    leeds = LocationFactory(name="Threadline Leeds")
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[leeds])
    for weekday in range(7):
        WorkingHoursFactory(
            staff=doctor, location=leeds, weekday=weekday, starts_at=time(8), ends_at=time(18)
        )
    RoomFactory(location=leeds, name="Leeds room")
    return {"location": leeds, "doctor": doctor, "lot": receive(clinic["cog"], leeds, "LOT-LEEDS")}


@pytest.fixture
def events(clinic, elsewhere):
    """Five sessions in the last 90 days with four events; one older and one elsewhere."""
    lot_a = clinic["lot"]
    pcl = ThreadProductFactory(name="PCL Cog 19G 100")
    lot_b = receive(pcl, clinic["location"], "LOT-B", quantity=10)
    lot_c = receive(clinic["cog"], clinic["location"], "LOT-C", quantity=20)
    sign(clinic, accept(clinic))
    s1 = complete(start(clinic), lot_a, clinic["user"])
    s2 = treat(clinic, "Berthe", "Morisot", lot=lot_b, hour=12)
    s3 = treat(clinic, "Camille", "Claudel", lot=lot_c, hour=14)
    treat(clinic, "Dora", "Maar", lot=lot_c, hour=16)
    treat(clinic, "Eva", "Gonzales", lot=lot_c, hour=10, days=2)
    old = treat(clinic, "Frida", "Kahlo", lot=lot_a, hour=12, days=2)
    leeds = treat(
        clinic,
        "Gwen",
        "John",
        lot=elsewhere["lot"],
        hour=10,
        location=elsewhere["location"],
        doctor=elsewhere["doctor"],
    )
    report_event(s1, "extrusion", [lot_a], severity="moderate", threads_removed=True)
    report_event(s1, "infection", [lot_a], severity="severe")
    report_event(s2, "extrusion", [lot_b])
    report_event(s3, "bruising")
    report_event(old, "extrusion", [lot_a])
    move_back(old, 120)
    report_event(leeds, "extrusion", [elsewhere["lot"]])
    return {"s1": s1, "s2": s2, "s3": s3, "old": old, "lot_a": lot_a, "lot_b": lot_b}


def get_report(client, user, location, **period):
    """The report as `user` sees it working at `location` (chosen in the top bar)."""
    client.force_login(user)
    chosen = client.post(reverse("choose_location"), {"location": location.pk, "next": "/"})
    assert chosen.status_code == 302
    return client.get(reverse(REPORT), period)


def test_the_report_counts_events_by_type_product_and_lot_with_the_rate_per_100_sessions(
    client, manager_user, clinic, events
):
    response = get_report(client, manager_user, clinic["location"])
    assert response.status_code == 200
    report = response.context["report"]
    # Four events in the last 90 days at this location, after five sessions completed there.
    assert (report["event_count"], report["session_count"], report["rate"]) == (4, 5, 80.0)
    assert report["by_type"] == [("Extrusion", 2), ("Bruising", 1), ("Infection", 1)]
    assert report["by_product"] == [("PDO Cog 19G 100", 2), ("PCL Cog 19G 100", 1)]
    assert [(e.product, e.lot_number, e.count) for e in report["by_lot"]] == [
        ("PDO Cog 19G 100", "LOT-A", 2),
        ("PCL Cog 19G 100", "LOT-B", 1),
    ]
    assert report["without_lot"] == 1
    html = response.content.decode()
    assert "80.0" in html and "events per 100 sessions" in html
    assert "1 event named no lot." in html
    rows = report["events"]
    assert {row["record_number"] for row in rows} == {
        events["s1"].patient.record_number,
        events["s2"].patient.record_number,
        events["s3"].patient.record_number,
    }
    for row in rows:
        assert row["record_number"] in html
    assert events["old"].patient.record_number not in html  # 120 days ago
    assert "LOT-LEEDS" not in html  # another location
    assert "Ongoing" in html and "threads removed" in html
    assert "PDO Cog 19G 100, lot LOT-A" in html and "Severe" in html


def test_a_chosen_period_leaves_out_events_and_sessions_outside_it(
    client, manager_user, clinic, events
):
    today = timezone.localdate(timezone=clinic["location"].zone)
    old = get_report(
        client,
        manager_user,
        clinic["location"],
        date_from=(today - timedelta(days=130)).isoformat(),
        date_to=(today - timedelta(days=100)).isoformat(),
    ).context["report"]
    assert (old["event_count"], old["session_count"], old["rate"]) == (1, 1, 100.0)
    assert old["by_type"] == [("Extrusion", 1)]
    empty = get_report(
        client,
        manager_user,
        clinic["location"],
        date_from=(today - timedelta(days=60)).isoformat(),
        date_to=(today - timedelta(days=30)).isoformat(),
    )
    assert empty.context["report"]["rate"] is None
    assert "No adverse event began in this period." in empty.content.decode()


def test_the_default_period_is_the_last_90_days(client, manager_user, clinic):
    response = get_report(client, manager_user, clinic["location"])
    today = timezone.localdate(timezone=clinic["location"].zone)
    form = response.context["form"]
    assert form.cleaned_data["date_from"] == today - timedelta(days=89)
    assert form.cleaned_data["date_to"] == today


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"date_from": "2025-03-31", "date_to": "2025-01-01"}, "The last day is before the first"),
        ({"date_from": "2025-13-01", "date_to": "2025-12-31"}, "Type the first day as a date"),
        ({"date_from": "2025-01-01", "date_to": "soon"}, "Type the last day as a date"),
        ({"date_from": "2025-01-01", "date_to": ""}, "Type the last day of the period."),
        ({"date_from": "2015-01-01", "date_to": "2025-01-01"}, "at most three years"),
    ],
)
def test_a_bad_period_gets_a_clear_error_and_no_report(
    client, manager_user, location, period, message
):
    response = get_report(client, manager_user, location, **period)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["report"] is None
    assert not AuditEvent.objects.filter(summary__startswith="Adverse-event report").exists()


def test_the_report_reads_a_fixed_number_of_queries_however_many_events(
    client, manager_user, clinic, events
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert get_report(client, manager_user, clinic["location"]).status_code == 200
        return len(captured)

    queries()  # the first request of a session warms caches
    before = queries()
    more = receive(clinic["cog"], clinic["location"], "LOT-D", quantity=10)
    session = treat(clinic, "Hilma", "af Klint", lot=more, hour=14, days=2)
    for kind in ("swelling", "pain", "dimpling"):
        report_event(session, kind, [more])
    assert queries() == before


def test_the_report_covers_the_location_chosen_in_the_top_bar(
    client, manager_user, clinic, elsewhere, events
):
    leeds = get_report(client, manager_user, elsewhere["location"])
    report = leeds.context["report"]
    assert (report["event_count"], report["session_count"], report["rate"]) == (1, 1, 100.0)
    html = leeds.content.decode()
    assert "LOT-LEEDS" in html and "Adverse events at Threadline Leeds" in html
    assert events["s1"].patient.record_number not in html


def test_the_report_is_audited(client, manager_user, clinic, events):
    get_report(client, manager_user, clinic["location"])
    event = AuditEvent.objects.get(summary__startswith="Adverse-event report")
    assert event.action == AuditAction.VIEW and event.actor == manager_user
    assert "4 event(s), 5 session(s)" in event.summary


@pytest.mark.parametrize(
    ("role", "status"), [(Role.FRONT_DESK, 403), (Role.PRACTITIONER, 403), (Role.MANAGER, 200)]
)
def test_only_managers_see_the_report_and_the_recall_look_up(
    client, users_by_role, clinic, events, role, status
):
    client.force_login(users_by_role[role])
    report = client.get(reverse(REPORT))
    trace = client.get(reverse("treatments:lot_trace"), {"lot": "LOT-A"})
    assert (report.status_code, trace.status_code) == (status, status)
    if status == 403:
        for response in (report, trace):
            assert events["s1"].patient.record_number not in response.content.decode()


# The recall look-up ------------------------------------------------------------------------


def test_the_recall_look_up_lists_everyone_who_received_the_lot_with_contact_details(
    client, manager_user, clinic, events
):
    client.force_login(manager_user)
    response = client.get(reverse("treatments:lot_trace"), {"lot": "lot-a"})
    assert response.status_code == 200
    [trace] = response.context["traces"]
    received = {recipient.patient_id for recipient in trace.patients}
    assert received == {events["s1"].patient_id, events["old"].patient_id}
    html = response.content.decode()
    for session in (events["s1"], events["old"]):
        patient = session.patient
        assert patient.full_name in html
        assert patient.record_number in html
        assert patient.phone.as_international in html
        assert patient.email in html
    assert str(clinic["doctor"]) in html
    treated = timezone.localtime(events["old"].completed_at, clinic["location"].zone)
    assert f"{treated.day} {treated:%b %Y}" in html
    # Patients who received other lots are not listed as having received this one.
    for session in (events["s2"], events["s3"]):
        assert session.patient.email not in html
        assert session.patient.phone.as_international not in html


def test_a_session_not_completed_yet_does_not_count_as_receiving_the_lot(
    client, manager_user, clinic
):
    sign(clinic, accept(clinic))
    start(clinic)
    client.force_login(manager_user)
    [trace] = client.get(reverse("treatments:lot_trace"), {"lot": "LOT-A"}).context["traces"]
    assert trace.patients == []
    assert [plan.patient_id for plan in trace.plans] == [clinic["patient"].pk]


def test_each_recipient_listed_by_the_recall_look_up_has_it_on_their_audit_trail(
    client, manager_user, clinic, events
):
    client.force_login(manager_user)
    client.get(reverse("treatments:lot_trace"), {"lot": "LOT-A"})
    summary = AuditEvent.objects.get(summary__startswith="Traced lot").summary
    assert summary.endswith("; 2 received it")
    for session in (events["s1"], events["old"]):
        listed = AuditEvent.objects.get(
            action=AuditAction.VIEW,
            patient_id=session.patient_id,
            object_type="treatments.TreatmentSession",
        )
        assert listed.actor == manager_user
        assert "LOT-A" in listed.summary
