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
from tests import recipes
from tests.factories import (
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    ThreadProductFactory,
    WorkingHoursFactory,
)
from tests.recipes import (
    LOCAL_LIDOCAINE,
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

pytestmark = pytest.mark.django_db

REPORT = "treatments:adverse_event_report"


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def complete(session, lot, by):
    return completed_session(session, lot=lot, by=by, details={**LOCAL_LIDOCAINE})


def treat(clinic, first_name, last_name, *, lot, hour, days=1, location=None, doctor=None):
    """A patient planned with the lot's product, consented and treated via the services on
    day `days` of treatment (1: the day of the clinic's own appointment); the clock moves on."""
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
    first_day = timezone.localtime(clinic["appointment"].starts_at, location.zone).date()
    day = first_day + timedelta(days=days - 1)
    appointment = booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=clinic["treatment"],
        starts_at=datetime.combine(day, time(hour), tzinfo=location.zone),
        actor=actor,
    )
    session = recipes.start_session(appointment=appointment, plan=plan, by=doctor.user)
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
        hour=13,
        days=2,
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
    assert "No adverse event after the sessions of this period." in empty.content.decode()


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
    queries()  # the clock moved on to that treatment: a new sign-in session, warmed again
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


# Rates per product and lot -------------------------------------------------------------------


def product_entry(report, name):
    [entry] = [e for e in report["products"] if e["product"].name == name]
    return entry


def test_each_product_and_lot_has_its_sessions_threads_events_and_rate_with_a_wilson_interval(
    client, manager_user, clinic, events
):
    report = get_report(client, manager_user, clinic["location"]).context["report"]
    pdo = product_entry(report, "PDO Cog 19G 100")
    # s1 (LOT-A, 2 events naming it), s3, s4, s5 (LOT-C; s3's bruising names no lot).
    assert pdo["any"].sessions == 4
    assert pdo["product"].tally.threads == 4 * 4  # two vectors of 2 threads per session
    rates = {rate.event_type: rate for rate in pdo["rates"]}
    assert (rates["extrusion"].events, rates["extrusion"].sessions_affected) == (1, 1)
    assert rates["extrusion"].per_100 == 25.0
    # Wilson 1 of 4: 4.6% to 69.9%.
    assert (rates["extrusion"].low, rates["extrusion"].high) == (4.6, 69.9)
    assert rates["bruising"].events == 1  # the event that names no lot counts against LOT-C
    assert pdo["any"].sessions_affected == 2 and pdo["any"].per_100 == 50.0
    lots = {lot["lot"].lot_number: lot for lot in pdo["lots"]}
    assert (lots["LOT-A"]["any"].sessions, lots["LOT-A"]["any"].events) == (1, 2)
    assert lots["LOT-A"]["any"].per_100 == 100.0
    assert (lots["LOT-C"]["any"].sessions, lots["LOT-C"]["any"].events) == (3, 1)
    pcl = product_entry(report, "PCL Cog 19G 100")
    assert (pcl["any"].sessions, pcl["any"].events, pcl["any"].per_100) == (1, 1, 100.0)
    html = get_report(client, manager_user, clinic["location"]).content.decode()
    assert "4.6–69.9" in html


def test_each_rate_stands_beside_the_published_figures_drawn_as_a_chart(
    client, manager_user, clinic, events
):
    response = get_report(client, manager_user, clinic["location"])
    pdo = product_entry(response.context["report"], "PDO Cog 19G 100")
    swelling = {rate.event_type: rate for rate in pdo["rates"]}["swelling"]
    assert swelling.published_range == "16–35%"
    assert {(f.source, f.percent) for f in swelling.published} == {
        ("Niu et al. 2021", 35),
        ("Zhou & Zhuang 2025 (preprint)", 16),
    }
    html = response.content.decode()
    assert html.count('data-testid="rate-chart"') == 2  # one per product
    assert "Aesthetic Plastic Surgery 2021;45(5):2148-2158" in html
    assert "A preprint: not peer reviewed." in html
    assert 'data-source="niu"' in html and 'data-source="zhou"' in html
    assert "Zhou &amp; Zhuang 2025 (preprint): swelling 16%" in html


def test_events_count_in_the_period_of_their_session_not_of_their_onset(
    client, manager_user, clinic, events
):
    """An event of a session 120 days ago that began today belongs to that old period."""
    today = timezone.localdate(timezone=clinic["location"].zone)
    late = report_event(events["old"], "infection", [events["lot_a"]])
    assert late.onset_on == today
    recent = get_report(client, manager_user, clinic["location"]).context["report"]
    assert recent["event_count"] == 4  # not 5: its session is outside the last 90 days
    old = get_report(
        client,
        manager_user,
        clinic["location"],
        date_from=(today - timedelta(days=130)).isoformat(),
        date_to=(today - timedelta(days=100)).isoformat(),
    ).context["report"]
    assert (old["event_count"], old["session_count"]) == (2, 1)
    rates = {r.event_type: r for r in product_entry(old, "PDO Cog 19G 100")["rates"]}
    assert rates["infection"].sessions_affected == 1 and rates["infection"].sessions == 1


def test_an_event_type_name_with_markup_is_escaped_in_the_chart(
    client, manager_user, clinic, events
):
    from treatments.models import ThreadProduct

    ThreadProduct.objects.filter(pk=events["lot_b"].product_id).update(
        name="<script>alert(1)</script>"
    )
    html = get_report(client, manager_user, clinic["location"]).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# One adverse event as a regulator's report ---------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_one_adverse_event_prints_as_a_report_with_what_a_regulator_asks_for(
    client, manager_user, clinic, events
):
    s1 = events["s1"]
    event = report_event(
        s1,
        "infection",
        [events["lot_a"]],
        severity="severe",
        serious=True,
        description="Red, hot cheek",
        management="Flucloxacillin 500 mg",
    )
    client.force_login(manager_user)
    response = client.get(reverse("treatments:adverse_event_pdf", args=[event.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())
    patient = s1.patient
    initials = patient.first_name[0] + patient.last_name[0]
    age = patient.age_on(event.onset_on)
    for expected in (
        f"Initials {initials}",
        f"{age} years",
        patient.get_sex_display(),
        "PDO Cog 19G 100",
        events["lot_a"].product.manufacturer,
        "LOT-A",
        f"{events['lot_a'].expires_on:%-d %b %Y}",
        "Infection",
        "Serious Yes",
        "Red, hot cheek",
        "Flucloxacillin 500 mg",
        "Not yet recovered",
        str(clinic["doctor"]),
        clinic["location"].phone,
    ):
        assert expected in text, expected
    assert patient.last_name not in text  # initials only
    printed = AuditEvent.objects.get(summary__startswith="Printed the regulator's report")
    assert printed.action == AuditAction.PRINT and printed.patient_id == patient.pk


def test_the_regulators_report_prints_hostile_text_as_text(client, manager_user, clinic, events):
    payload = '<img src="file:///etc/passwd"> <a href="http://example.org">x</a>'
    event = report_event(events["s2"], "pain", [events["lot_b"]], description=payload)
    client.force_login(manager_user)
    response = client.get(reverse("treatments:adverse_event_pdf", args=[event.pk]))
    assert response.status_code == 200
    assert "".join(payload.split()) in "".join(pdf_text(response.content).split())


@pytest.mark.parametrize(
    ("role", "status"), [(Role.FRONT_DESK, 403), (Role.PRACTITIONER, 200), (Role.MANAGER, 200)]
)
def test_the_regulators_report_is_for_clinicians_and_managers(
    client, users_by_role, clinic, events, role, status
):
    event = AdverseEvent.objects.filter(session=events["s1"]).first()
    client.force_login(users_by_role[role])
    response = client.get(reverse("treatments:adverse_event_pdf", args=[event.pk]))
    assert response.status_code == status


def test_an_adverse_event_held_at_another_location_is_not_found(
    client, users_by_role, clinic, elsewhere, events
):
    leeds_event = AdverseEvent.objects.get(session__location=elsewhere["location"])
    client.force_login(users_by_role[Role.PRACTITIONER])
    response = client.get(reverse("treatments:adverse_event_pdf", args=[leeds_event.pk]))
    assert response.status_code == 404
