"""The calendar pages, the booking form and the move endpoint, as each role sees them."""

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from clinic.actors import Actor
from clinic.models import Role, RoomKind
from consultations.booking import services as booking
from consultations.models import Appointment, AppointmentKind, AppointmentStatus, Patient
from tests.factories import (
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    UserFactory,
)
from tests.recipes import appointment_type, at, local_day, practitioner_at

pytestmark = pytest.mark.django_db

DAY = "consultations:calendar_day"
WEEK = "consultations:calendar_week"
BOOK = "consultations:appointment_book"


def move_url(appointment) -> str:
    return reverse("consultations:appointment_move", args=[appointment.pk])


def summer_day(after: date) -> date:
    """The next 15 July after `after`: London on BST (UTC+1), New York on EDT (UTC−4)."""
    candidate = date(after.year, 7, 15)
    return candidate if candidate > after + timedelta(days=1) else date(after.year + 1, 7, 15)


@pytest.fixture
def clinic(location):
    return {
        "location": location,
        "okafor": practitioner_at(location, "Ada", "Okafor"),
        "consultation": appointment_type(),
        "day": local_day(location, 3),
    }


@pytest.fixture
def patient():
    return PatientFactory(first_name="Iris", last_name="Murdoch", record_number="TL000123")


@pytest.fixture
def desk(client, frontdesk_user):
    client.force_login(frontdesk_user)
    return client


def form_data(clinic, who, hour=10, minute=15, **overrides):
    """The booking form as the front desk fills it in: `who` at 10:15 on the clinic's day."""
    data = {
        "patient": who.record_number,
        "practitioner": clinic["okafor"].pk,
        "appointment_type": clinic["consultation"].pk,
        "starts_at": f"{clinic['day'].isoformat()}T{hour:02d}:{minute:02d}",
        "room": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def book_directly(clinic, patient, hour, minute=0, **extra):
    return booking.book_appointment(
        patient=patient,
        practitioner=extra.pop("practitioner", clinic["okafor"]),
        location=clinic["location"],
        appointment_type=extra.pop("kind", clinic["consultation"]),
        starts_at=at(clinic["location"], clinic["day"], hour, minute),
        actor=Actor.system(),
        **extra,
    )


# -- who may use the pages ------------------------------------------------------------------


@pytest.mark.parametrize("name", [DAY, WEEK, BOOK])
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER, Role.MANAGER])
@pytest.mark.parametrize("name", [DAY, WEEK, BOOK])
def test_front_desk_practitioners_and_managers_open_the_calendar_and_booking_pages(
    client, users_by_role, clinic, role, name
):
    client.force_login(users_by_role[role])
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "Ada Okafor" in response.content.decode()


def test_a_staff_member_without_booking_rights_is_refused(client, location, clinic):
    user = UserFactory(username="nobody")
    StaffMemberFactory(user=user, role=Role.FRONT_DESK, locations=[location])
    user.groups.clear()
    client.force_login(user)
    assert client.get(reverse(DAY)).status_code == 403
    nowhere = reverse("consultations:appointment_move", args=[1])
    assert client.post(nowhere, data="{}", content_type="application/json").status_code == 403


# -- the day ---------------------------------------------------------------------------------


def test_the_day_shows_each_practitioner_with_bookable_quarter_hours(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    day = clinic["day"]

    response = desk.get(reverse(DAY), {"date": day.isoformat()})

    page = response.content.decode()
    assert response.status_code == 200
    assert day.strftime("%A") in page
    assert 'aria-label="Book with Ada Okafor at 10:30"' in page
    assert 'aria-label="Book with Ada Okafor at 10:00"' not in page  # taken
    assert f"start={day.isoformat()}T10%3A30" in page or f"start={day.isoformat()}T10:30" in page
    assert reverse("consultations:appointment_detail", args=[appointment.pk]) in page
    assert "Iris Murdoch" in page
    assert "10:00–10:30" in page
    assert move_url(appointment) in page  # booked: it can be dragged


def test_htmx_navigation_gets_the_calendar_region_alone(desk, clinic):
    day = clinic["day"] + timedelta(days=1)
    response = desk.get(reverse(DAY), {"date": day.isoformat()}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'data-testid="calendar-grid"' in page
    assert f"{day:%A} {day.day} {day:%B %Y}" in page
    assert "HX-Request" in response["Vary"]
    # Going back in history asks for the whole page.
    restored = desk.get(
        reverse(DAY),
        {"date": day.isoformat()},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in restored.content.decode()


def test_a_date_that_is_not_a_date_shows_today_with_an_error(desk, clinic):
    response = desk.get(reverse(DAY), {"date": "2026-02-31"})
    assert response.status_code == 400
    assert "is not a date the calendar can show" in response.content.decode()
    far = desk.get(reverse(DAY), {"date": "9999-12-31"})
    assert far.status_code == 400


def test_the_day_by_room_offers_each_room(desk, clinic):
    blue = RoomFactory(location=clinic["location"], name="Blue room")
    response = desk.get(reverse(DAY), {"date": clinic["day"].isoformat(), "by": "room"})
    page = response.content.decode()
    assert 'aria-label="Book Blue room with Ada Okafor at 11:00"' in page
    assert f"room={blue.pk}" in page


def test_another_locations_bookings_are_not_on_this_calendar(desk, clinic):
    other = LocationFactory(name="Far clinic")
    elsewhere = practitioner_at(other, "Zed", "Faraway")
    booking.book_appointment(
        patient=PatientFactory(first_name="Hidden"),
        practitioner=elsewhere,
        location=other,
        appointment_type=clinic["consultation"],
        starts_at=at(other, clinic["day"], 10),
        actor=Actor.system(),
    )
    page = desk.get(reverse(DAY), {"date": clinic["day"].isoformat()}).content.decode()
    assert "Hidden" not in page
    assert "Zed Faraway" not in page


def test_cancelled_appointments_are_listed_apart_and_their_slot_is_free(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 11)
    booking.cancel_appointment(appointment=appointment, reason="Unwell", actor=Actor.system())
    page = desk.get(reverse(DAY), {"date": clinic["day"].isoformat()}).content.decode()
    assert 'data-testid="ended-appointments"' in page
    assert "Cancelled" in page
    assert 'aria-label="Book with Ada Okafor at 11:00"' in page


def midday_zone() -> str:
    """A zone whose clock reads about noon now, so a walk-in fits 09:00–17:00 hours."""
    offset = 12 - timezone.now().astimezone(UTC).hour  # −11 … +12
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def test_only_booked_appointments_can_be_dragged(client):
    location = LocationFactory(name="Noon clinic", time_zone=midday_zone())
    user = UserFactory(username="noon-desk")
    StaffMemberFactory(user=user, role=Role.FRONT_DESK, locations=[location])
    client.force_login(user)
    okafor = practitioner_at(location, "Ada", "Okafor")
    kind = appointment_type()
    walk_in = booking.book_appointment(
        patient=PatientFactory(),
        practitioner=okafor,
        location=location,
        appointment_type=kind,
        starts_at=timezone.now() - timedelta(minutes=10),
        actor=Actor.system(),
        walk_in=True,
    )
    later = booking.book_appointment(
        patient=PatientFactory(),
        practitioner=okafor,
        location=location,
        appointment_type=kind,
        starts_at=at(location, local_day(location, 1), 11),
        actor=Actor.system(),
    )

    today = client.get(reverse(DAY)).content.decode()
    tomorrow = client.get(reverse(DAY), {"date": local_day(location, 1).isoformat()})

    assert walk_in.status == AppointmentStatus.ARRIVED
    assert "Arrived" in today
    assert reverse("consultations:appointment_detail", args=[walk_in.pk]) in today
    assert move_url(walk_in) not in today
    assert move_url(later) in tomorrow.content.decode()


def test_a_user_set_up_at_no_location_is_told_so(client):
    user = UserFactory(username="homeless")
    StaffMemberFactory(user=user, role=Role.FRONT_DESK, locations=[])
    client.force_login(user)
    for name in (DAY, WEEK, BOOK):
        response = client.get(reverse(name))
        assert response.status_code == 404


def test_patient_names_on_the_calendar_are_escaped(desk, clinic):
    book_directly(
        clinic, PatientFactory(first_name="<b>Eve</b>", last_name="<script>x</script>"), 9
    )
    page = desk.get(reverse(DAY), {"date": clinic["day"].isoformat()}).content.decode()
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "<script>x</script>" not in page


@pytest.mark.parametrize("by", ["", "room"])
def test_room_and_type_names_on_the_grid_are_escaped(desk, clinic, patient, by):
    room = RoomFactory(location=clinic["location"], name="<i>Blue</i> room")
    kind = appointment_type(name="<u>Check</u>-up")
    book_directly(clinic, patient, 9, kind=kind, room=room)
    page = desk.get(reverse(DAY), {"date": clinic["day"].isoformat(), "by": by}).content.decode()
    assert "&lt;u&gt;Check&lt;/u&gt;-up" in page
    assert "&lt;i&gt;Blue&lt;/i&gt; room" in page
    assert "<u>" not in page
    assert "<i>Blue" not in page


# -- the week --------------------------------------------------------------------------------


def test_the_week_shows_seven_days_for_the_practitioner_asked_for(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 15, 30)
    response = desk.get(
        reverse(WEEK), {"practitioner": clinic["okafor"].pk, "date": clinic["day"].isoformat()}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-testid="column-heading"') == 7
    assert reverse("consultations:appointment_detail", args=[appointment.pk]) in page
    assert "15:30–16:00" in page


def test_the_week_of_a_practitioner_from_elsewhere_is_not_found(desk, clinic):
    outsider = practitioner_at(LocationFactory(name="Far clinic"), "Zed", "Faraway")
    assert desk.get(reverse(WEEK), {"practitioner": outsider.pk}).status_code == 404
    assert desk.get(reverse(WEEK), {"practitioner": "1 OR 1=1"}).status_code == 404


def test_a_practitioner_sees_their_own_week_by_default(client, location, clinic):
    me = practitioner_at(location, "Zoe", "Abbott")  # first by name: not the default by luck
    client.force_login(me.user)
    practitioner_at(location, "Aaron", "Aardvark")
    page = client.get(reverse(WEEK)).content.decode()
    assert "Zoe Abbott:" in page


# -- booking through the form ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "utc_hour"), [("Europe/London", 9), ("America/New_York", 14)], ids=["London", "NY"]
)
def test_booking_through_the_form_saves_one_appointment_at_the_right_utc_time(
    client, zone, utc_hour
):
    location = LocationFactory(name=f"Clinic {zone}", time_zone=zone, country="GB")
    user = UserFactory(username=f"desk-{zone}")
    StaffMemberFactory(user=user, role=Role.FRONT_DESK, locations=[location])
    client.force_login(user)
    okafor = practitioner_at(location, "Ada", "Okafor")
    kind = appointment_type()
    patient = PatientFactory(first_name="Iris", last_name="Murdoch")
    day = summer_day(timezone.localdate())

    response = client.post(
        reverse(BOOK),
        {
            "patient": patient.record_number.lower(),
            "practitioner": okafor.pk,
            "appointment_type": kind.pk,
            "starts_at": f"{day.isoformat()}T10:15",
            "notes": "First visit",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(DAY) + f"?date={day.isoformat()}"
    appointment = Appointment.objects.get()
    assert appointment.starts_at == datetime.combine(day, time(utc_hour, 15), tzinfo=UTC)
    assert appointment.patient == patient
    assert appointment.location == location
    assert appointment.booked_by == user
    calendar = client.get(response["Location"]).content.decode()
    assert f"Booked Consultation for Iris Murdoch with Ada Okafor on {day:%a} {day.day}" in calendar
    assert "10:15–10:45" in calendar


def test_a_taken_slot_answers_409_with_the_next_free_slots_and_saves_nothing(desk, clinic, patient):
    book_directly(clinic, PatientFactory(), 10, 15)

    response = desk.post(reverse(BOOK), form_data(clinic, patient))

    page = response.content.decode()
    assert response.status_code == 409
    assert "Ada Okafor is already booked at that time." in page
    assert "Nothing was booked." in page
    assert 'data-testid="next-free-slots"' in page
    assert f"{clinic['day'].day} {clinic['day']:%b}, 10:45 with Ada Okafor" in page
    assert Appointment.objects.count() == 1


def test_one_of_the_next_free_slots_books_in_one_click(desk, clinic, patient):
    book_directly(clinic, PatientFactory(), 10, 15)
    data = form_data(clinic, patient, notes="Keep me")
    data["slot"] = f"{clinic['okafor'].pk}|{clinic['day'].isoformat()}T10:45|"

    response = desk.post(reverse(BOOK), data)

    assert response.status_code == 302
    chosen = Appointment.objects.get(patient=patient)
    assert chosen.starts_at == at(clinic["location"], clinic["day"], 10, 45)
    assert chosen.notes == "Keep me"


def _refused(desk, data, message):
    response = desk.post(reverse(BOOK), data)
    page = response.content.decode()
    assert response.status_code == 400, page
    assert message in page
    assert Appointment.objects.count() == 0
    return page


def test_a_time_that_has_passed_is_refused(desk, clinic, patient):
    yesterday = local_day(clinic["location"], -1)
    _refused(
        desk,
        form_data(clinic, patient, starts_at=f"{yesterday.isoformat()}T10:00"),
        "This time has passed",
    )


def test_a_date_more_than_two_years_ahead_is_refused(desk, clinic, patient):
    far = local_day(clinic["location"], 3 * 365)
    _refused(
        desk,
        form_data(clinic, patient, starts_at=f"{far.isoformat()}T10:00"),
        "more than two years ahead",
    )


def test_a_time_outside_the_practitioners_hours_is_refused(desk, clinic, patient):
    _refused(desk, form_data(clinic, patient, hour=18), "does not work at")


def test_a_room_from_another_location_is_refused(desk, clinic, patient):
    elsewhere = RoomFactory(location=LocationFactory(name="Far clinic"), name="Far room")
    _refused(desk, form_data(clinic, patient, room=elsewhere.pk), "Select a valid choice")


@pytest.fixture
def procedure(clinic):
    """A thread lift (needs a procedure room), a procedure room and a consultation room."""
    clinic["thread_lift"] = appointment_type(
        "Thread lift", minutes=90, needs_room=True, kind=AppointmentKind.TREATMENT
    )
    clinic["procedure_room"] = RoomFactory(
        location=clinic["location"], name="Procedure room A", kind=RoomKind.PROCEDURE
    )
    clinic["consult_room"] = RoomFactory(
        location=clinic["location"], name="Consult room B", kind=RoomKind.CONSULTATION
    )
    return clinic


def test_the_room_choices_say_which_kind_each_room_is(desk, procedure):
    page = desk.get(reverse(BOOK)).content.decode()
    assert "Any suitable free room" in page
    assert "Procedure room A · procedure room" in page
    assert "Consult room B · consultation room" in page


def test_a_procedure_booked_into_any_free_room_gets_the_procedure_room(desk, procedure, patient):
    data = form_data(procedure, patient, appointment_type=procedure["thread_lift"].pk)
    response = desk.post(reverse(BOOK), data)
    assert response.status_code == 302
    assert Appointment.objects.get().room == procedure["procedure_room"]


def test_a_consultation_room_forced_on_a_procedure_is_refused_and_nothing_is_saved(
    desk, procedure, patient
):
    data = form_data(
        procedure,
        patient,
        appointment_type=procedure["thread_lift"].pk,
        room=procedure["consult_room"].pk,
    )
    _refused(
        desk, data, "Thread lift needs a procedure room; Consult room B is a consultation room."
    )


def test_a_practitioner_who_does_not_work_here_is_refused(desk, clinic, patient):
    outsider = practitioner_at(LocationFactory(name="Far clinic"), "Zed", "Faraway")
    _refused(desk, form_data(clinic, patient, practitioner=outsider.pk), "Select a valid choice")


@pytest.mark.parametrize("value", ["TL999999", "12", "<b>TL1</b>", ""])
def test_an_unknown_or_tampered_patient_is_refused(desk, clinic, patient, value):
    page = _refused(
        desk,
        form_data(clinic, patient, patient=value),
        "This field is required." if not value else "No patient has the record number",
    )
    assert "<b>TL1</b>" not in page


def test_an_archived_patient_cannot_be_booked(desk, clinic, patient):
    patient.is_archived = True
    patient.save()
    _refused(desk, form_data(clinic, patient), "record is archived")


def test_a_retired_appointment_type_is_refused(desk, clinic, patient):
    retired = appointment_type("Old consultation", is_active=False)
    _refused(desk, form_data(clinic, patient, appointment_type=retired.pk), "Select a valid choice")


@pytest.mark.parametrize("value", ["tomorrow at ten", "2026-13-45T25:99", "10:15", "x" * 500])
def test_a_malformed_date_and_time_is_refused(desk, clinic, patient, value):
    _refused(desk, form_data(clinic, patient, starts_at=value), "Enter a date and time such as")


def test_a_time_the_clocks_skip_is_refused(desk, clinic, patient):
    clinic["day"] = date(2027, 3, 28)  # London springs forward at 01:00
    clinic["okafor"].working_hours.update(starts_at=time(0))
    _refused(desk, form_data(clinic, patient, hour=1, minute=30), "does not exist")


def test_script_in_the_notes_is_shown_back_escaped(desk, clinic, patient):
    page = _refused(
        desk,
        form_data(clinic, patient, patient="", notes="<script>alert('x')</script>"),
        "This field is required.",
    )
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_the_form_is_prefilled_from_the_calendar_and_offers_the_next_available(
    desk, clinic, patient
):
    room = RoomFactory(location=clinic["location"], name="Blue room")
    start = f"{clinic['day'].isoformat()}T11:30"
    response = desk.get(
        reverse(BOOK),
        {
            "practitioner": clinic["okafor"].pk,
            "start": start,
            "room": room.pk,
            "patient": patient.pk,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f'value="{start}"' in page
    assert f'<option value="{clinic["okafor"].pk}" selected>' in page
    assert f'<option value="{room.pk}" selected>' in page
    assert 'value="TL000123"' in page
    assert "Booking for <strong>Iris Murdoch</strong>" in page
    assert "Next available: Consultation with Ada Okafor" in page
    assert page.count("btn btn-outline-secondary w-100 mb-2") == 5


def test_a_tampered_prefill_is_left_out_with_a_clear_message(desk, clinic):
    outsider = practitioner_at(LocationFactory(name="Far clinic"), "Zed", "Faraway")
    response = desk.get(
        reverse(BOOK),
        {"practitioner": outsider.pk, "start": "not-a-time", "patient": "999999", "room": "x"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Zed Faraway" not in page
    assert "Booking for" not in page
    assert "Some details in this link could not be used and were left out" in page
    assert "The practitioner in the link does not work at Threadline Test Clinic." in page
    assert "The date and time in the link is not valid." in page
    assert "The patient in the link was not found, or is archived." in page
    assert "The room in the link is not in use at Threadline Test Clinic." in page


# -- booking by name -----------------------------------------------------------------------

LOOKUP = "consultations:appointment_patient_lookup"
REGISTER = "consultations:patient_create"


def lookup(client, query):
    return client.get(reverse(LOOKUP), {"q": query})


def test_the_record_number_still_books(desk, clinic, patient):
    response = desk.post(reverse(BOOK), form_data(clinic, patient, patient=" tl000123 "))

    assert response.status_code == 302
    assert Appointment.objects.get().patient == patient


def test_the_type_ahead_finds_patients_by_name_record_number_birth_date_and_phone(
    desk, clinic, patient
):
    patient.date_of_birth = date(1980, 7, 15)
    patient.phone = "+447911123456"
    patient.save()
    PatientFactory(first_name="June", last_name="Carter")

    for query in ("murd", "Iris M", "TL000123", "15/07/1980", "07911 123456"):
        response = lookup(desk, query)
        assert response.status_code == 200, query
        found = response.json()["patients"]
        assert [row["record_number"] for row in found] == ["TL000123"], query
    assert found[0] == {
        "id": patient.pk,
        "record_number": "TL000123",
        "name": "Iris Murdoch",
        "date_of_birth": "15 Jul 1980",
        "phone": "ending 456",
    }
    assert lookup(desk, "murd").json()["message"] == "1 patient matches."


def test_the_type_ahead_shows_the_desk_no_address_email_or_full_phone(desk, clinic, patient):
    patient.phone = "+447911123456"
    patient.address = "1 Secret Lane"
    patient.save()

    text = lookup(desk, "Murdoch").content.decode()

    assert "Secret Lane" not in text
    assert patient.email not in text
    assert "7911123456" not in text


def test_the_type_ahead_leaves_out_archived_patients_and_lists_at_most_eight(desk, clinic):
    PatientFactory(first_name="Old", last_name="Pemberton", is_archived=True)
    for number in range(10):
        PatientFactory(first_name=f"Name{number}", last_name="Pemberley")

    found = lookup(desk, "pember").json()

    assert len(found["patients"]) == 8
    assert all(row["name"].endswith("Pemberley") for row in found["patients"])
    assert found["message"] == "8 or more patients match."


def test_a_name_picked_from_the_type_ahead_books_that_patient(desk, clinic, patient):
    PatientFactory(first_name="Irene", last_name="Murdock")
    picked = next(row for row in lookup(desk, "iris murd").json()["patients"])

    response = desk.post(reverse(BOOK), form_data(clinic, patient, patient=picked["record_number"]))

    assert response.status_code == 302
    assert Appointment.objects.get().patient == patient


def test_a_name_typed_without_choosing_is_refused_with_what_to_do(desk, clinic, patient):
    page = _refused(
        desk,
        form_data(clinic, patient, patient="Iris Murdoch"),
        "choose the patient from the list as you type, or type their record number",
    )
    assert "Iris Murdoch" in page


@pytest.mark.parametrize(
    "query",
    ["<script>alert(1)</script>", "Mur<b>doch</b>", "%%", "__", "%_", "mur%h", "mu_doch", "x%"],
)
def test_script_percent_and_underscore_in_the_type_ahead_match_literally(
    desk, clinic, patient, query
):
    PatientFactory(first_name="June", last_name="Carter")

    response = lookup(desk, query)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["patients"] == []
    assert response.json()["message"]
    assert "<script>" not in response.content.decode()


def test_punctuation_alone_asks_for_letters_or_digits(desk, clinic, patient):
    found = lookup(desk, "%_").json()

    assert found == {
        "patients": [],
        "message": "Type at least two letters or digits of a name, record number, date or phone.",
    }


def test_three_hundred_characters_are_refused_with_a_message_and_change_nothing(
    desk, clinic, patient
):
    response = lookup(desk, "Murdoch" + "x" * 293)

    assert response.status_code == 400
    assert response.json() == {"error": "Type at most 100 characters to find a patient."}
    assert Appointment.objects.count() == 0


def test_the_type_ahead_is_for_people_who_book(client, clinic, patient):
    assert lookup(client, "Murdoch").status_code == 302
    user = UserFactory(username="nobody")
    StaffMemberFactory(user=user, role=Role.FRONT_DESK, locations=[clinic["location"]])
    user.groups.clear()
    client.force_login(user)
    assert lookup(client, "Murdoch").status_code == 403


def test_the_booking_form_offers_the_type_ahead_labelled_and_without_inline_script(desk, clinic):
    page = desk.get(reverse(BOOK)).content.decode()

    assert re.search(r'<label\s+for="id_patient"[^>]*>\s*Patient<', page)
    assert f'data-lookup-url="{reverse(LOOKUP)}"' in page
    assert "js/patient-picker.js" in page
    assert "<script>" not in page


def test_book_on_a_chart_opens_the_form_with_the_patient_filled_in(desk, clinic, patient):
    chart = desk.get(reverse("consultations:patient_chart", args=[patient.pk])).content.decode()
    book_link = f'href="{reverse(BOOK)}?patient={patient.pk}"'
    assert book_link in chart

    page = desk.get(reverse(BOOK), {"patient": patient.pk}).content.decode()

    assert 'value="TL000123"' in page
    assert 'data-chosen-label="Iris Murdoch (TL000123)"' in page
    assert "Booking for <strong>Iris Murdoch</strong>" in page


def test_registering_from_the_booking_form_comes_back_with_the_slot_and_the_new_patient(
    desk, clinic
):
    location = clinic["location"]
    room = RoomFactory(location=location, name="Blue room")
    start = f"{clinic['day'].isoformat()}T11:30"
    slot = {
        "practitioner": clinic["okafor"].pk,
        "start": start,
        "type": clinic["consultation"].pk,
        "room": room.pk,
    }
    form_page = desk.get(reverse(BOOK), slot).content.decode()
    register_url = reverse(REGISTER) + "?" + urlencode({"location": location.pk, **slot})
    assert f'href="{escape(register_url)}"' in form_page

    register_page = desk.get(register_url).content.decode()
    assert (
        f"for Ada Okafor, {clinic['day']:%a} {clinic['day'].day} {clinic['day']:%b} at 11:30"
        in (register_page)
    )
    response = desk.post(
        register_url,
        {
            "first_name": "Vita",
            "last_name": "Sackville",
            "date_of_birth": "1982-03-09",
            "sex": "female",
            "phone": "020 7946 0999",
            "email": "vita@mail.example",
            "preferred_location": location.pk,
        },
    )

    assert response.status_code == 302
    vita = Patient.objects.get(last_name="Sackville")
    back = urlsplit(response["Location"])
    assert back.path == reverse(BOOK)
    assert dict(parse_qsl(back.query)) == {
        "patient": str(vita.pk),
        "location": str(location.pk),
        "practitioner": str(clinic["okafor"].pk),
        "start": start,
        "type": str(clinic["consultation"].pk),
        "room": str(room.pk),
    }
    page = desk.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    assert f'value="{vita.record_number}"' in text
    assert f'value="{start}"' in text
    assert f'<option value="{room.pk}" selected>' in text
    assert f'<option value="{clinic["okafor"].pk}" selected>' in text
    assert f"Registered Vita Sackville as {vita.record_number}." in text

    booked = desk.post(reverse(BOOK), form_data(clinic, vita, hour=11, minute=30, room=room.pk))
    assert booked.status_code == 302
    assert Appointment.objects.get().patient == vita


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("location", "999999", "The link was made for another location"),
        ("practitioner", "1x", "The practitioner in the link does not work at"),
        ("start", "<script>", "The date and time in the link is not valid."),
        ("type", "99999999999999999999", "The appointment type in the link is not valid."),
        ("room", "-1", "The room in the link is not in use at"),
        ("patient", "0", "The patient in the link was not found, or is archived."),
    ],
)
def test_a_tampered_link_back_from_registration_gets_a_clear_message(
    desk, clinic, patient, parameter, value, message
):
    slot = {
        "location": clinic["location"].pk,
        "practitioner": clinic["okafor"].pk,
        "start": f"{clinic['day'].isoformat()}T11:30",
        "type": clinic["consultation"].pk,
        "patient": patient.pk,
    }

    response = desk.get(reverse(BOOK), {**slot, parameter: value})

    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert "<script>" not in page.split("</head>", 1)[1].replace('<script type="module"', "")
    assert Appointment.objects.count() == 0


# -- moving (drag and drop) --------------------------------------------------------------------


def post_json(client, url, payload, **extra):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(url, data=body, content_type="application/json", **extra)


def test_a_booked_appointment_moves_to_a_free_time(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    target = f"{clinic['day'].isoformat()}T14:45"

    response = post_json(desk, move_url(appointment), {"starts_at": target})

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["starts_at"] == target
    appointment.refresh_from_db()
    assert appointment.starts_at == at(clinic["location"], clinic["day"], 14, 45)


def test_a_move_to_another_practitioner_and_room_here(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    price = practitioner_at(clinic["location"], "Ben", "Price")
    room = RoomFactory(location=clinic["location"], name="Green")
    response = post_json(
        desk,
        move_url(appointment),
        {
            "starts_at": f"{clinic['day'].isoformat()}T10:00",
            "practitioner": price.pk,
            "room": room.pk,
        },
    )
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert (appointment.practitioner, appointment.room) == (price, room)


def test_a_procedure_dragged_into_a_consultation_room_is_refused_and_stays(
    desk, procedure, patient
):
    appointment = book_directly(procedure, patient, 10, kind=procedure["thread_lift"])
    assert appointment.room == procedure["procedure_room"]
    response = post_json(
        desk,
        move_url(appointment),
        {
            "starts_at": f"{procedure['day'].isoformat()}T10:00",
            "room": procedure["consult_room"].pk,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Thread lift needs a procedure room; Consult room B is a consultation room."
    )
    appointment.refresh_from_db()
    assert appointment.room == procedure["procedure_room"]


def test_a_move_onto_a_taken_time_answers_409_with_the_next_free_slots(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    book_directly(clinic, PatientFactory(), 12)

    response = post_json(
        desk, move_url(appointment), {"starts_at": f"{clinic['day'].isoformat()}T12:00"}
    )

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "Ada Okafor is already booked at that time."
    first = body["next_slots"][0]
    assert first["starts_at"] == f"{clinic['day'].isoformat()}T12:30"
    assert first["practitioner"] == "Ada Okafor"
    assert first["practitioner_id"] == clinic["okafor"].pk
    assert first["room"] is None
    appointment.refresh_from_db()
    assert appointment.starts_at == at(clinic["location"], clinic["day"], 10)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "Send a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        ({"starts_at": "2026-12-01T10:15", "status": "completed"}, "Unknown field: status"),
        ({"starts_at": 1700000000}, "must be a local date and time"),
        ({"starts_at": "tomorrow"}, "must be a local date and time"),
        ({}, "must be a local date and time"),
        ({"starts_at": "2026-12-01T10:15", "practitioner": "3"}, "must be an id"),
        ({"starts_at": "2026-12-01T10:15", "room": True}, "must be an id"),
        ({"starts_at": "2026-12-01T10:15", "room": -4}, "must be an id"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_malformed_moves_answer_400_and_change_nothing(desk, clinic, patient, body, message):
    appointment = book_directly(clinic, patient, 10)
    response = post_json(desk, move_url(appointment), body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    appointment.refresh_from_db()
    assert appointment.starts_at == at(clinic["location"], clinic["day"], 10)


def test_a_move_body_over_10_kb_is_refused(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    body = json.dumps({"starts_at": f"{clinic['day'].isoformat()}T11:00", "x": "y" * 11_000})
    response = post_json(desk, move_url(appointment), body)
    assert response.status_code == 400
    assert response.json()["error"] == "The request is too large."


def test_a_move_into_the_past_or_of_a_cancelled_appointment_is_refused(desk, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    yesterday = local_day(clinic["location"], -1)
    response = post_json(desk, move_url(appointment), {"starts_at": f"{yesterday}T10:00"})
    assert response.status_code == 400
    assert "This time has passed" in response.json()["error"]

    booking.cancel_appointment(appointment=appointment, reason="Unwell", actor=Actor.system())
    response = post_json(
        desk, move_url(appointment), {"starts_at": f"{clinic['day'].isoformat()}T11:00"}
    )
    assert response.status_code == 400
    assert "Only booked appointments can be moved" in response.json()["error"]


def test_another_locations_appointment_practitioner_or_room_cannot_be_used(desk, clinic, patient):
    other = LocationFactory(name="Far clinic")
    outsider = practitioner_at(other, "Zed", "Faraway")
    theirs = booking.book_appointment(
        patient=PatientFactory(),
        practitioner=outsider,
        location=other,
        appointment_type=clinic["consultation"],
        starts_at=at(other, clinic["day"], 10),
        actor=Actor.system(),
    )
    ours = book_directly(clinic, patient, 10)
    when = f"{clinic['day'].isoformat()}T11:00"

    assert post_json(desk, move_url(theirs), {"starts_at": when}).status_code == 404
    response = post_json(desk, move_url(ours), {"starts_at": when, "practitioner": outsider.pk})
    assert response.status_code == 400
    assert response.json()["error"] == "That practitioner does not work at this location."
    far_room = RoomFactory(location=other, name="Far room")
    response = post_json(desk, move_url(ours), {"starts_at": when, "room": far_room.pk})
    assert response.status_code == 400
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert theirs.starts_at == at(other, clinic["day"], 10)
    assert ours.starts_at == at(clinic["location"], clinic["day"], 10)


def test_anonymous_moves_are_sent_to_sign_in_and_change_nothing(client, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    response = post_json(
        client, move_url(appointment), {"starts_at": f"{clinic['day'].isoformat()}T11:00"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    appointment.refresh_from_db()
    assert appointment.starts_at == at(clinic["location"], clinic["day"], 10)


def test_a_move_needs_the_csrf_token_the_calendar_page_carries(frontdesk_user, clinic, patient):
    appointment = book_directly(clinic, patient, 10)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(frontdesk_user)
    page = browser.get(reverse(DAY), {"date": clinic["day"].isoformat()}).content.decode()
    token = page.split('data-csrf-token="', 1)[1].split('"', 1)[0]
    payload = {"starts_at": f"{clinic['day'].isoformat()}T11:00"}

    assert post_json(browser, move_url(appointment), payload).status_code == 403
    moved = post_json(browser, move_url(appointment), payload, HTTP_X_CSRFTOKEN=token)
    assert moved.status_code == 200
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_a_move_keeps_the_type_and_length(desk, clinic, patient):
    long_one = appointment_type("Thread lift", minutes=60, kind=AppointmentKind.TREATMENT)
    appointment = book_directly(clinic, patient, 9, kind=long_one)
    response = post_json(
        desk, move_url(appointment), {"starts_at": f"{clinic['day'].isoformat()}T13:00"}
    )
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=60)
