import html
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services
from consultations.booking import services as booking
from consultations.models import Patient
from tests import recipes
from tests.clock import travel_to
from tests.factories import LocationFactory, PatientFactory, StaffMemberFactory
from treatments.services import consent as consent_services
from treatments.services import outcomes
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db

VALID = {
    "first_name": "Harriet",
    "last_name": "Vane",
    "preferred_name": "Harry",
    "date_of_birth": "1975-09-14",
    "sex": "female",
    "phone": "07911 123456",
    "email": "harriet@mail.example",
    "address": "1 Mecklenburg Square\nLondon",
    "preferred_location": "",
    "contact_by_email": "on",
}


@pytest.fixture
def patient(frontdesk_user):
    return PatientFactory(first_name="Peter", last_name="Wimsey", email="peter@mail.example")


def page(client, user, url_name, *args):
    client.force_login(user)
    return client.get(reverse(url_name, args=args))


# role × view: what each role gets when it opens each patient page.
ROLE_TABLE = [
    (
        "consultations:patient_list",
        False,
        {Role.FRONT_DESK: 200, Role.PRACTITIONER: 200, Role.MANAGER: 200},
    ),
    (
        "consultations:patient_search",
        False,
        {Role.FRONT_DESK: 200, Role.PRACTITIONER: 200, Role.MANAGER: 200},
    ),
    (
        "consultations:patient_create",
        False,
        {Role.FRONT_DESK: 200, Role.PRACTITIONER: 200, Role.MANAGER: 200},
    ),
    (
        "consultations:patient_chart",
        True,
        {Role.FRONT_DESK: 200, Role.PRACTITIONER: 200, Role.MANAGER: 200},
    ),
    (
        "consultations:patient_edit",
        True,
        {Role.FRONT_DESK: 200, Role.PRACTITIONER: 200, Role.MANAGER: 200},
    ),
    (
        "consultations:intake_form",
        True,
        {Role.FRONT_DESK: 200, Role.PRACTITIONER: 200, Role.MANAGER: 200},
    ),
    (
        "consultations:medical_history_list",
        True,
        {Role.FRONT_DESK: 403, Role.PRACTITIONER: 200, Role.MANAGER: 200},
    ),
]


@pytest.mark.parametrize(("url_name", "takes_patient", "expected"), ROLE_TABLE)
@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER, Role.MANAGER])
def test_each_role_gets_what_the_role_table_says(
    client, users_by_role, patient, url_name, takes_patient, expected, role
):
    args = [patient.pk] if takes_patient else []
    response = page(client, users_by_role[role], url_name, *args)
    assert response.status_code == expected[role]
    if response.status_code == 403:
        assert patient.last_name not in response.content.decode()


def test_the_medical_history_detail_is_for_clinicians_only(
    client, users_by_role, patient, practitioner_user
):
    history = services.submit_medical_history(
        patient=patient,
        answers={"other_allergies": "Penicillin"},
        actor=Actor.system(user=practitioner_user),
    )
    denied = page(
        client, users_by_role[Role.FRONT_DESK], "consultations:medical_history_detail", history.pk
    )
    assert denied.status_code == 403
    assert "Penicillin" not in denied.content.decode()
    allowed = page(
        client, users_by_role[Role.PRACTITIONER], "consultations:medical_history_detail", history.pk
    )
    assert "Penicillin" in allowed.content.decode()


def test_archiving_is_for_managers_only(client, users_by_role, patient):
    for role in (Role.FRONT_DESK, Role.PRACTITIONER):
        client.force_login(users_by_role[role])
        response = client.post(
            reverse("consultations:patient_archive", args=[patient.pk]), {"reason": "x"}
        )
        assert response.status_code == 403
    patient.refresh_from_db()
    assert not patient.is_archived
    client.force_login(users_by_role[Role.MANAGER])
    client.post(
        reverse("consultations:patient_archive", args=[patient.pk]), {"reason": "Duplicate"}
    )
    patient.refresh_from_db()
    assert patient.is_archived
    assert patient.archive_reason == "Duplicate"


def test_the_front_desk_registers_a_patient_with_a_normalised_phone(client, frontdesk_user):
    client.force_login(frontdesk_user)
    response = client.post(reverse("consultations:patient_create"), VALID)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("consultations:patient_chart", args=[patient.pk])
    assert str(patient.phone) == "+447911123456"
    assert patient.record_number.startswith("TL")
    assert patient.created_by == frontdesk_user


@pytest.mark.parametrize(
    "clash",
    [
        {"phone": "+44 7911 123456", "email": "someone.else@mail.example"},
        {"phone": "", "email": "HARRIET@mail.example"},
        {"phone": "", "email": "h.vane@mail.example"},  # same name and birth date
    ],
)
def test_registering_the_same_person_again_asks_for_confirmation(client, frontdesk_user, clash):
    client.force_login(frontdesk_user)
    client.post(reverse("consultations:patient_create"), VALID)
    again = client.post(reverse("consultations:patient_create"), {**VALID, **clash})
    body = again.content.decode()
    assert again.status_code == 400
    assert "This may be someone already registered" in body
    assert Patient.objects.count() == 1
    confirmed = client.post(
        reverse("consultations:patient_create"), {**VALID, **clash, "confirm_new_person": "on"}
    )
    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2


BAD_INPUT = [
    (
        {"date_of_birth": (timezone.localdate() + timedelta(days=1)).isoformat()},
        "date_of_birth",
        "in the future",
    ),
    ({"date_of_birth": "1890-01-01"}, "date_of_birth", "more than 120 years ago"),
    ({"date_of_birth": "14/14/1975"}, "date_of_birth", "Enter a valid date"),
    ({"phone": "12345"}, "phone", "Enter a UK phone number such as 0121 234 5678 or +44 121"),
    ({"phone": "call me maybe"}, "phone", "Enter a UK phone number such as"),
    ({"email": "harriet@"}, "email", "valid email"),
    ({"first_name": ""}, "first_name", "This field is required"),
    ({"first_name": "x" * 101}, "first_name", "at most 100 characters"),
    ({"last_name": "Vane\x00"}, "last_name", "Null characters are not allowed"),
    ({"sex": "dragon"}, "sex", "Select a valid choice"),
    ({"preferred_location": "999999"}, "preferred_location", "Select a valid choice"),
    ({"phone": "", "email": ""}, None, "Give a phone number or an email address"),
    (
        {"email": "", "contact_by_email": "on"},
        "contact_by_email",
        "Email reminders need an email address",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_INPUT)
def test_bad_registration_input_gets_a_clear_error_and_saves_nothing(
    client, frontdesk_user, change, field, message
):
    client.force_login(frontdesk_user)
    response = client.post(reverse("consultations:patient_create"), {**VALID, **change})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors[field] if field else errors["__all__"])
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("location", "999999", "The link was made for another location"),
        ("practitioner", "<script>", "The practitioner in the link does not work at"),
        ("start", "2026-99-99T10:00", "The date and time in the link is not valid."),
        ("type", "x" * 300, "The appointment type in the link is not valid."),
        ("room", "99999999999", "The room in the link is not in use at"),
    ],
)
def test_a_tampered_booking_slot_on_registration_is_named_and_registers_nobody(
    client, frontdesk_user, location, parameter, value, message
):
    client.force_login(frontdesk_user)
    url = reverse("consultations:patient_create") + "?" + urlencode({parameter: value})

    opened = client.get(url)
    posted = client.post(url, VALID)

    for response in (opened, posted):
        body = response.content.decode()
        assert response.status_code == 400
        assert message in body
        assert "<script>" not in body
    assert "nobody was registered" in posted.content.decode()
    assert Patient.objects.count() == 0


def test_registering_without_a_booking_slot_opens_the_chart_as_before(client, frontdesk_user):
    client.force_login(frontdesk_user)
    page = client.get(reverse("consultations:patient_create")).content.decode()
    assert 'data-testid="booking-slot"' not in page
    response = client.post(reverse("consultations:patient_create"), VALID)
    assert response["Location"] == reverse(
        "consultations:patient_chart", args=[Patient.objects.get().pk]
    )


def test_hostile_text_is_stored_as_typed_and_shown_escaped(client, frontdesk_user):
    client.force_login(frontdesk_user)
    hostile = '<script>alert("x")</script><img src="file:///etc/passwd">'
    client.post(
        reverse("consultations:patient_create"),
        {**VALID, "last_name": hostile[:100], "address": hostile},
    )
    patient = Patient.objects.get()
    assert patient.address == hostile
    body = client.get(reverse("consultations:patient_chart", args=[patient.pk])).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert '<img src="file:///etc/passwd">' not in body


def test_editing_details_saves_and_audits_the_change(client, frontdesk_user, patient):
    client.force_login(frontdesk_user)
    data = {
        **VALID,
        "first_name": "Peter",
        "last_name": "Wimsey",
        "email": "lord.peter@mail.example",
    }
    response = client.post(reverse("consultations:patient_edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.email == "lord.peter@mail.example"
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, patient_id=patient.pk).exists()


def test_a_bad_edit_changes_nothing(client, frontdesk_user, patient):
    client.force_login(frontdesk_user)
    before = (patient.first_name, patient.email)
    response = client.post(
        reverse("consultations:patient_edit", args=[patient.pk]),
        {**VALID, "first_name": "Changed", "email": "not-an-email"},
    )
    assert response.status_code == 400
    patient.refresh_from_db()
    assert (patient.first_name, patient.email) == before


def test_the_front_desk_chart_shows_demographics_but_no_clinical_record(
    client, frontdesk_user, practitioner_user, patient
):
    services.submit_medical_history(
        patient=patient,
        answers={"anticoagulants": True, "anticoagulant_details": "Apixaban"},
        actor=Actor.system(user=practitioner_user),
    )
    body = page(client, frontdesk_user, "consultations:patient_chart", patient.pk).content.decode()
    assert "peter@mail.example" in body
    assert "Apixaban" not in body
    assert "Medical history, version" not in body


def test_a_clinician_sees_the_latest_history_marked_where_it_changed(
    client, practitioner_user, patient
):
    services.submit_medical_history(
        patient=patient, answers={"smoking": "current"}, actor=Actor.system(user=practitioner_user)
    )
    services.submit_medical_history(
        patient=patient,
        answers={"smoking": "current", "anticoagulants": True, "anticoagulant_details": "Apixaban"},
        actor=Actor.system(user=practitioner_user),
    )
    response = page(client, practitioner_user, "consultations:patient_chart", patient.pk)
    body = response.content.decode()
    assert "Blood thinners: Apixaban" in body
    assert "Changed since version 1" in body
    assert "takes blood thinners" in body


def test_every_chart_view_is_audited_with_who_and_which_patient(client, practitioner_user, patient):
    page(client, practitioner_user, "consultations:patient_chart", patient.pk)
    event = AuditEvent.objects.get(action=AuditAction.VIEW, patient_id=patient.pk)
    assert event.actor == practitioner_user
    assert "clinical" in event.summary


def test_the_search_page_renders_results_for_a_typed_query(client, frontdesk_user, patient):
    vane = PatientFactory(first_name="Harriet", last_name="Vane")
    client.force_login(frontdesk_user)
    full = client.get(reverse("consultations:patient_list"), {"q": "wims"}).content.decode()
    partial = client.get(reverse("consultations:patient_search"), {"q": "wims"}).content.decode()
    for body in (full, partial):
        assert "Wimsey" in body
        # Her record number, not "Vane": a generated staff name ("Vanessa") may hold that.
        assert vane.record_number not in body
    assert "<html" not in partial


def test_the_search_partial_shows_hostile_queries_escaped(client, frontdesk_user):
    client.force_login(frontdesk_user)
    body = client.get(
        reverse("consultations:patient_search"), {"q": "<b>bold</b>"}
    ).content.decode()
    assert "<b>bold</b>" not in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body


FORGIVING_SEARCHES = [
    ("lukasiewicz", "Łukasiewicz"),
    ("lukas", "Łukasiewicz"),
    ("obrien", "O'Brien"),
    ("oconnor", "O’Connor"),  # registered from a phone, with a curly apostrophe
    ("muller", "Müller"),
    ("mueller", "Müller"),
    ("zoe", "Zoë"),
]


def search_page(client, user, query):
    """The patient list as the front desk sees it after typing a query: its visible text."""
    client.force_login(user)
    response = client.get(reverse("consultations:patient_list"), {"q": query})
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.parametrize(("typed", "name"), FORGIVING_SEARCHES)
def test_the_search_page_finds_a_name_typed_without_its_special_letters_or_punctuation(
    client, frontdesk_user, typed, name
):
    everyone = {
        surname: PatientFactory(first_name="Zoë" if surname == "Zoë" else "Alex", last_name=surname)
        for _, surname in FORGIVING_SEARCHES
    }
    everyone["Smith"] = PatientFactory(first_name="Bob", last_name="Smith")
    wanted = everyone.pop(name)
    body = search_page(client, frontdesk_user, typed)
    assert wanted.display_name in body
    assert wanted.record_number in body
    assert not any(other.record_number in body for other in everyone.values())


def test_the_search_page_takes_as_many_queries_for_thirty_matches_as_for_one(
    client, frontdesk_user
):
    PatientFactory.create_batch(5, last_name="Smith")
    client.force_login(frontdesk_user)
    url = reverse("consultations:patient_list")
    client.get(url, {"q": "mueller"})  # the session and location settled first

    def queries_for_mueller(matching):
        PatientFactory.create_batch(
            matching - Patient.objects.filter(last_name="Müller").count(), last_name="Müller"
        )
        with CaptureQueriesContext(connection) as queries:
            body = client.get(url, {"q": "mueller"}).content.decode()
        assert body.count("Müller") == min(matching, 25)
        return len(queries.captured_queries)

    assert queries_for_mueller(1) == queries_for_mueller(30)


def test_a_search_reads_the_users_locations_once_and_writes_nothing(client, frontdesk_user):
    PatientFactory(last_name="Müller")
    client.force_login(frontdesk_user)
    url = reverse("consultations:patient_list")
    client.get(url, {"q": "mueller"})  # the session and location settled first
    with CaptureQueriesContext(connection) as queries:
        assert "Müller" in client.get(url, {"q": "mueller"}).content.decode()
    statements = [query["sql"] for query in queries.captured_queries]
    assert len([sql for sql in statements if 'FROM "clinic_location"' in sql]) == 1
    assert not [sql for sql in statements if not sql.startswith("SELECT")], statements


@pytest.mark.parametrize(
    "typed",
    [
        "<script>alert(1)</script>",
        "%",
        "_",
        "%%%",
        "zo%",
        "m_ller",
        "'",
        "x" * 300,
        "<script>" + "%_" * 146,
    ],
)
def test_a_hostile_or_wildcard_query_shows_no_match_and_breaks_nothing(
    client, frontdesk_user, typed
):
    PatientFactory(first_name="Zoë", last_name="Müller")
    client.force_login(frontdesk_user)
    for url_name in ("consultations:patient_list", "consultations:patient_search"):
        response = client.get(reverse(url_name), {"q": typed})
        assert response.status_code == 200
        body = response.content.decode()
        assert "No patient matches" in body
        assert "Müller" not in body
        if "<" in typed:
            assert typed not in body
            assert "&lt;script&gt;" in body


def test_archived_patients_show_in_search_only_when_asked(
    client, frontdesk_user, manager_user, patient
):
    services.archive_patient(
        patient=patient, reason="Duplicate", actor=Actor.system(user=manager_user)
    )
    client.force_login(frontdesk_user)
    without = client.get(reverse("consultations:patient_search"), {"q": "wimsey"}).content.decode()
    with_archived = client.get(
        reverse("consultations:patient_search"), {"q": "wimsey", "archived": "1"}
    ).content.decode()
    assert "Wimsey" not in without
    assert "Wimsey" in with_archived
    assert "archived" in with_archived


def test_the_date_of_birth_field_refuses_ages_over_a_hundred_and_twenty(client, frontdesk_user):
    client.force_login(frontdesk_user)
    too_old = (timezone.localdate() - timedelta(days=121 * 366)).isoformat()
    response = client.post(
        reverse("consultations:patient_create"), {**VALID, "date_of_birth": too_old}
    )
    assert response.status_code == 400
    assert Patient.objects.count() == 0


# The whole story on the chart ------------------------------------------------------------


@pytest.fixture
def story(location, private_media, practitioner_user):
    """A patient taken through every step, each a little after the one before: history,
    consultation and screening, a photo, a treatment booked then moved, a plan accepted,
    consent, a session started and completed (reviews booked), a review's outcome, an
    adverse event, and last the consent withdrawn."""
    clinic = recipes.build_clinic(location, practitioner_user, history=recipes.ALERTING_HISTORY)
    user = clinic["user"]
    actor = Actor.system(user=user)
    recipes.frontal_photo(clinic["patient"], user)
    # Consents are stamped to the second: a step later, so nothing shares registration's.
    travel_to(timezone.now() + timedelta(minutes=5))
    appointment = clinic["appointment"]
    clinic["appointment"] = booking.reschedule_appointment(
        appointment=appointment, starts_at=appointment.starts_at + timedelta(hours=1), actor=actor
    )
    recipes.accept(clinic)
    consent = recipes.sign(clinic)
    session = recipes.completed_session(recipes.start(clinic), lot=clinic["lot"], by=user)
    travel_to(timezone.now() + timedelta(minutes=20))
    outcomes.record_outcome(
        session=session, gais_practitioner=2, gais_patient=2, satisfaction=9, actor=actor
    )
    outcomes.report_adverse_event(
        session=session,
        event_type="bruising",
        severity="mild",
        onset_on=timezone.localdate(timezone=location.zone),
        actor=actor,
    )
    travel_to(timezone.now() + timedelta(minutes=20))
    consent_services.withdraw_consent(
        consent=consent, reason="Does not want further treatment", actor=actor
    )
    return {**clinic, "consent": consent, "session": session}


EVERY_KIND = {
    "registered",
    "medical_history",
    "consultation",
    "screening",
    "photo",
    "appointment",
    "appointment_moved",
    "appointment_status",
    "plan",
    "consent",
    "consent_withdrawal",
    "session",
    "outcome",
    "adverse_event",
}


def timeline_entries(body: str) -> list[tuple[str, str]]:
    """(kind, link) of each timeline entry, top to bottom, from the chart's HTML."""
    found = re.findall(
        r'data-testid="timeline-entry" data-kind="([a-z_]+)">(.*?)</li>', body, re.DOTALL
    )
    links = []
    for kind, item in found:
        link = re.search(r'<a href="([^"]+)"', item)
        links.append((kind, link.group(1) if link else ""))
    return links


def test_the_timeline_tells_the_whole_story_newest_first_each_entry_linked(
    client, story, practitioner_user
):
    body = page(client, practitioner_user, "consultations:patient_chart", story["patient"].pk)
    entries = timeline_entries(body.content.decode())
    assert {kind for kind, _ in entries} == EVERY_KIND
    assert entries[0][0] == "consent_withdrawal"  # the last thing that happened
    assert entries[-1][0] == "registered"
    unlinked = [kind for kind, link in entries if not link and kind != "registered"]
    assert unlinked == []
    links = {link for _, link in entries}
    session, consent, appointment = story["session"], story["consent"], story["appointment"]
    for expected in (
        reverse("treatments:planner", args=[story["plan"].pk]),
        reverse("treatments:consent_detail", args=[consent.pk]),
        reverse("treatments:session_detail", args=[session.pk]),
        reverse("treatments:session_detail", args=[session.pk]) + "#reviews-heading",
        reverse("treatments:adverse_event_pdf", args=[session.adverse_events.get().pk]),
        reverse("consultations:appointment_detail", args=[appointment.pk]),
    ):
        assert expected in links, expected
    # Every link opens for the practitioner who reads it.
    for link in links - {""}:
        assert client.get(link.split("#")[0]).status_code == 200, link


def test_the_timeline_shows_an_appointments_move_and_its_status_changes(
    client, story, practitioner_user
):
    body = page(client, practitioner_user, "consultations:patient_chart", story["patient"].pk)
    html = body.content.decode()
    assert "Moved: Thread lift" in html
    # Booked for ten (recipes.book_treatment), then moved an hour later.
    assert re.search(r"Booked: Thread lift.*?for \d+ \w+ \d{4} 10:00", html, re.DOTALL)
    assert re.search(r"from \d+ \w+ \d{4} 10:00 to \d+ \w+ \d{4} 11:00", html)
    assert "Thread lift: started" in html and "Thread lift: completed" in html
    kinds = [kind for kind, _ in timeline_entries(html)]
    assert kinds.index("appointment_status") < kinds.index("appointment_moved")


def test_the_front_desk_timeline_shows_bookings_and_the_aftercare_sheet_but_nothing_clinical(
    client, story, frontdesk_user
):
    body = page(client, frontdesk_user, "consultations:patient_chart", story["patient"].pk)
    html = body.content.decode()
    entries = timeline_entries(html)
    assert {kind for kind, _ in entries} == {
        "registered",
        "appointment",
        "appointment_moved",
        "appointment_status",
        "aftercare",
    }
    aftercare = reverse("treatments:aftercare_pdf", args=[story["session"].pk])
    assert ("aftercare", aftercare) in entries
    for clinical in ("Apixaban", "Penicillin", "Medical alerts", "GAIS", "Bruising", "Consent"):
        assert clinical not in html, clinical
    for link in {link for _, link in entries} - {""}:
        assert client.get(link).status_code == 200, link


def test_records_held_at_a_location_i_do_not_work_at_are_listed_without_a_link(
    client, story, location
):
    elsewhere = LocationFactory(name="Threadline Leeds")
    stranger = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere]).user
    body = page(client, stranger, "consultations:patient_chart", story["patient"].pk)
    entries = dict(timeline_entries(body.content.decode()))
    assert entries["session"] == "" and entries["plan"] == "" and entries["appointment"] == ""
    assert entries["screening"]  # the patient's own record is the whole clinic's


def chart_queries(client, patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("consultations:patient_chart", args=[patient.pk]))
    assert response.status_code == 200
    return len(queries)


def test_the_chart_reads_the_same_number_of_queries_for_one_or_many_records_of_each_kind(
    client, story, practitioner_user, location
):
    patient, session, user = story["patient"], story["session"], story["user"]
    actor = Actor.system(user=user)
    client.force_login(practitioner_user)
    one_of_each = chart_queries(client, patient)
    plan_services.revise_plan(plan=story["plan"], actor=actor)  # a second plan version
    for _ in range(3):
        services.submit_medical_history(
            patient=patient, answers=recipes.ALERTING_HISTORY, actor=actor
        )
        recipes.frontal_photo(patient, user, view="left_oblique")
        outcomes.record_outcome(
            session=session, gais_practitioner=3, gais_patient=2, satisfaction=8, actor=actor
        )
        outcomes.report_adverse_event(
            session=session,
            event_type="swelling",
            severity="mild",
            onset_on=timezone.localdate(timezone=location.zone),
            actor=actor,
        )
    for days in (3, 4, 5):
        booked = recipes.book_treatment(
            patient=patient,
            doctor=story["doctor"],
            location=location,
            appointment_type=story["treatment"],
            on=timezone.localdate(timezone=location.zone) + timedelta(days=days),
        )
        moved = booking.reschedule_appointment(
            appointment=booked, starts_at=booked.starts_at + timedelta(hours=2), actor=actor
        )
        booking.set_appointment_status(
            appointment=moved, status="cancelled", reason="Away", actor=actor
        )
    assert chart_queries(client, patient) == one_of_each


# The medical-alert banner ------------------------------------------------------------------


def test_clinicians_see_allergies_and_blood_thinners_in_the_chart_banner(
    client, story, practitioner_user
):
    html = page(client, practitioner_user, "consultations:patient_chart", story["patient"].pk)
    banner = re.search(
        r'data-testid="medical-alerts">(.*?)</section>', html.content.decode(), re.DOTALL
    ).group(1)
    assert "Local anaesthetics" in banner and "Penicillin" in banner
    assert "Apixaban" in banner
    assert "Screening flagged" in banner


def test_a_patient_without_alerts_has_no_banner(client, practitioner_user, patient):
    services.submit_medical_history(
        patient=patient, answers={"smoking": "never"}, actor=Actor.system(user=practitioner_user)
    )
    html = page(client, practitioner_user, "consultations:patient_chart", patient.pk)
    assert 'data-testid="medical-alerts"' not in html.content.decode()
