"""The day's list, one appointment, its status changes, moving it, and the chart's bookings."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations.booking import services as booking
from consultations.booking.history import patient_booking_history
from consultations.models import Appointment, AppointmentStatus
from tests import recipes
from tests.clock import arrive_for, travel_to
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db


# Setting up bookings -----------------------------------------------------------


def works_every_day(staff, location, start=time(7), end=time(21)):
    for weekday in range(7):
        WorkingHoursFactory(
            staff=staff, location=location, weekday=weekday, starts_at=start, ends_at=end
        )


def local(location, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=location.zone)


def soon(days: int = 7) -> date:
    return timezone.localdate() + timedelta(days=days)


def book(patient, practitioner, location, kind, starts_at, by, **extra):
    return booking.book_appointment(
        patient=patient,
        practitioner=practitioner,
        location=location,
        appointment_type=kind,
        starts_at=starts_at,
        actor=Actor.system(user=by),
        **extra,
    )


@pytest.fixture
def consultation(db):
    return AppointmentTypeFactory(
        name="Consultation", kind="consultation", duration_minutes=30, buffer_minutes=0
    )


@pytest.fixture
def london(location):
    """The conftest location (Europe/London), where the conftest staff work."""
    RoomFactory(location=location, name="Treatment room 1")
    return location


@pytest.fixture
def new_york(db):
    clinic = LocationFactory(name="Threadline New York", time_zone="America/New_York", country="US")
    RoomFactory(location=clinic, name="Suite A")
    return clinic


@pytest.fixture
def doctor(practitioner_user, london):
    works_every_day(practitioner_user.staff, london)
    return practitioner_user.staff


@pytest.fixture
def harriet(db):
    return PatientFactory(first_name="Harriet", last_name="Vane")


@pytest.fixture
def appointment(doctor, london, consultation, harriet, frontdesk_user):
    return book(harriet, doctor, london, consultation, local(london, soon(), 10), frontdesk_user)


@pytest.fixture
def far_appointment(new_york, consultation, frontdesk_user):
    """An appointment at a location the conftest front desk does not work at."""
    staff = StaffMemberFactory(role=Role.PRACTITIONER, locations=[new_york])
    works_every_day(staff, new_york)
    return book(PatientFactory(), staff, new_york, consultation, local(new_york, soon(), 10), None)


def post_status(client, user, appointment, status, reason="", **extra):
    client.force_login(user)
    return client.post(
        reverse("consultations:appointment_status", args=[appointment.pk]),
        {"status": status, "reason": reason, **extra},
    )


def reschedule(client, user, appointment, when: str, practitioner=None):
    client.force_login(user)
    data = {"starts_at": when}
    if practitioner is not None:
        data["practitioner"] = practitioner.pk
    return client.post(reverse("consultations:appointment_reschedule", args=[appointment.pk]), data)


def refreshed(appointment) -> Appointment:
    return Appointment.objects.get(pk=appointment.pk)


# Who may open what -----------------------------------------------------------------

ALL_ROLES = {Role.FRONT_DESK: 200, Role.PRACTITIONER: 200, Role.MANAGER: 200}
PRACTITIONERS_ONLY = {Role.FRONT_DESK: 403, Role.PRACTITIONER: 200, Role.MANAGER: 403}
ROLE_TABLE = [
    ("consultations:day_list", False, ALL_ROLES),
    ("consultations:appointment_detail", True, ALL_ROLES),
    ("consultations:appointment_reschedule", True, ALL_ROLES),
    ("consultations:appointment_ics", True, ALL_ROLES),
    ("consultations:calendar_feed_settings", False, PRACTITIONERS_ONLY),
]


@pytest.mark.parametrize(("url_name", "takes_appointment", "expected"), ROLE_TABLE)
@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER, Role.MANAGER])
def test_each_role_gets_what_the_role_table_says(
    client, users_by_role, appointment, url_name, takes_appointment, expected, role
):
    client.force_login(users_by_role[role])
    args = [appointment.pk] if takes_appointment else []
    assert client.get(reverse(url_name, args=args)).status_code == expected[role]


@pytest.mark.parametrize(
    ("method", "url_name", "takes_appointment"),
    [
        ("get", "consultations:day_list", False),
        ("get", "consultations:appointment_detail", True),
        ("post", "consultations:appointment_status", True),
        ("get", "consultations:appointment_reschedule", True),
        ("post", "consultations:appointment_reschedule", True),
        ("get", "consultations:appointment_ics", True),
        ("get", "consultations:calendar_feed_settings", False),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_changes(
    client, appointment, method, url_name, takes_appointment
):
    args = [appointment.pk] if takes_appointment else []
    response = getattr(client, method)(
        reverse(url_name, args=args),
        {"status": "cancelled", "reason": "x"} if method == "post" else {},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert refreshed(appointment).status == AppointmentStatus.BOOKED


def test_an_appointment_at_another_location_is_not_found(client, frontdesk_user, far_appointment):
    client.force_login(frontdesk_user)  # works in London only
    for url_name in ["appointment_detail", "appointment_reschedule", "appointment_ics"]:
        url = reverse(f"consultations:{url_name}", args=[far_appointment.pk])
        assert client.get(url).status_code == 404, url_name
    response = post_status(client, frontdesk_user, far_appointment, "cancelled", "Not mine")
    assert response.status_code == 404
    when = f"{soon():%Y-%m-%d}T12:00"
    assert reschedule(client, frontdesk_user, far_appointment, when).status_code == 404
    unchanged = refreshed(far_appointment)
    assert unchanged.status == AppointmentStatus.BOOKED
    assert unchanged.starts_at == far_appointment.starts_at


# The day's list -----------------------------------------------------------------------


def zone_where_it_is_mid_morning() -> str:
    """A fixed-offset zone whose clock now reads about 10:00, so "today" has time left."""
    offset = 10 - timezone.now().astimezone(UTC).hour
    if offset < -12:
        offset += 24
    if offset > 14:
        offset -= 24
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def test_the_day_list_shows_todays_appointments_here_in_local_time_and_not_elsewhere(
    client, consultation
):
    # Both mid-morning: an appointment elsewhere two hours after the last one here must
    # still fall in the practitioner's hours there, whatever the hour the suite runs.
    here = LocationFactory(name="Here clinic", time_zone=zone_where_it_is_mid_morning())
    elsewhere = LocationFactory(name="Elsewhere clinic", time_zone=here.time_zone)
    for clinic in (here, elsewhere):
        RoomFactory(location=clinic, name=f"Room at {clinic.name}")
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[here, elsewhere])
    works_every_day(doctor, here, time(0), time(23, 45))
    works_every_day(doctor, elsewhere, time(0), time(23, 45))
    desk = StaffMemberFactory(role=Role.FRONT_DESK, locations=[here]).user

    now_here = timezone.localtime(timezone.now(), here.zone)
    start = (now_here + timedelta(hours=1)).replace(second=0, microsecond=0)
    start = start.replace(minute=start.minute - start.minute % 15)
    later = start + timedelta(minutes=45)
    second = book(PatientFactory(last_name="Second"), doctor, here, consultation, later, desk)
    first = book(PatientFactory(last_name="First"), doctor, here, consultation, start, desk)
    tomorrow = book(
        PatientFactory(last_name="Tomorrow"),
        doctor,
        here,
        consultation,
        start + timedelta(days=1),
        desk,
    )
    away = book(
        PatientFactory(last_name="Away"),
        doctor,
        elsewhere,
        consultation,
        later + timedelta(hours=2),
        desk,
    )

    client.force_login(desk)
    response = client.get(reverse("consultations:day_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert [a.pk for a in response.context["appointments"]] == [first.pk, second.pk]
    assert f"{start:%H:%M}–{start + timedelta(minutes=30):%H:%M}" in body
    assert f"{later:%H:%M}–{later + timedelta(minutes=30):%H:%M}" in body
    assert first.patient.full_name in body and second.patient.full_name in body
    assert tomorrow.patient.full_name not in body
    assert away.patient.full_name not in body
    assert reverse("consultations:patient_chart", args=[first.patient_id]) in body


def test_the_day_list_of_another_day_shows_new_york_times_at_new_york(
    client, new_york, london, consultation, doctor, frontdesk_user
):
    ny_doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[new_york])
    works_every_day(ny_doctor, new_york)
    ny_desk = StaffMemberFactory(role=Role.FRONT_DESK, locations=[new_york]).user
    there = book(
        PatientFactory(), ny_doctor, new_york, consultation, local(new_york, soon(), 9, 30), ny_desk
    )
    here = book(
        PatientFactory(),
        doctor,
        london,
        consultation,
        local(london, soon(), 14, 30),
        frontdesk_user,
    )

    client.force_login(ny_desk)
    response = client.get(reverse("consultations:day_list"), {"date": f"{soon():%Y-%m-%d}"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "09:30–10:00" in body
    assert there.patient.full_name in body
    assert here.patient.full_name not in body


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("31/02/2026", "Enter a valid date."),
        ("2026-02-30", "Enter a valid date."),
        ("9999-12-31", "Choose a day within ten years of today."),
    ],
)
def test_a_day_that_cannot_be_shown_is_refused_clearly(client, frontdesk_user, typed, message):
    client.force_login(frontdesk_user)
    response = client.get(reverse("consultations:day_list"), {"date": typed})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_only_practitioners_are_offered_start_and_complete(
    client, appointment, frontdesk_user, practitioner_user
):
    url = reverse("consultations:day_list") + f"?date={soon():%Y-%m-%d}"
    arrive_for(appointment)  # a no-show is offered once the appointment has begun
    client.force_login(frontdesk_user)
    desk_page = client.get(url).content.decode()
    assert 'value="arrived"' in desk_page and 'value="no_show"' in desk_page
    assert 'value="in_progress"' not in desk_page
    client.force_login(practitioner_user)
    assert 'value="in_progress"' in client.get(url).content.decode()


def test_the_day_list_takes_the_same_number_of_queries_with_5_or_50_appointments(
    client, london, doctor, frontdesk_user
):
    quick = AppointmentTypeFactory(
        name="Review", kind="review", duration_minutes=15, needs_room=False
    )
    start = local(london, soon(), 7)
    client.force_login(frontdesk_user)
    url = reverse("consultations:day_list") + f"?date={soon():%Y-%m-%d}"

    def queries_for(count: int) -> int:
        while Appointment.objects.count() < count:
            slot = start + timedelta(minutes=15 * Appointment.objects.count())
            book(PatientFactory(), doctor, london, quick, slot, frontdesk_user)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert len(response.context["appointments"]) == count
        return len(captured)

    assert queries_for(5) == queries_for(50)


# Status changes -----------------------------------------------------------------------


def test_check_in_start_and_complete_record_who_did_each(
    client, appointment, frontdesk_user, practitioner_user
):
    assert post_status(client, frontdesk_user, appointment, "arrived").status_code == 302
    assert post_status(client, practitioner_user, appointment, "in_progress").status_code == 302
    assert post_status(client, practitioner_user, appointment, "completed").status_code == 302

    changes = list(appointment.status_changes.values_list("from_status", "to_status", "changed_by"))
    assert changes == [
        ("", "booked", frontdesk_user.pk),
        ("booked", "arrived", frontdesk_user.pk),
        ("arrived", "in_progress", practitioner_user.pk),
        ("in_progress", "completed", practitioner_user.pk),
    ]
    client.force_login(frontdesk_user)
    page = client.get(reverse("consultations:appointment_detail", args=[appointment.pk]))
    body = page.content.decode()
    assert "Arrived → In progress" in body
    assert practitioner_user.get_full_name() in body
    assert "Completed" in body


def test_a_no_show_from_the_day_list_returns_to_the_day_list(client, appointment, frontdesk_user):
    day_url = reverse("consultations:day_list") + f"?date={soon():%Y-%m-%d}"
    arrive_for(appointment)
    response = post_status(client, frontdesk_user, appointment, "no_show", next=day_url)
    assert response.status_code == 302
    assert response["Location"] == day_url
    assert refreshed(appointment).status == AppointmentStatus.NO_SHOW
    change = appointment.status_changes.last()
    assert (change.to_status, change.changed_by) == ("no_show", frontdesk_user)
    assert "No-show" in client.get(day_url).content.decode()


def test_a_redirect_elsewhere_after_a_status_change_is_ignored(client, appointment, frontdesk_user):
    response = post_status(
        client, frontdesk_user, appointment, "arrived", next="https://evil.example/"
    )
    assert response["Location"] == reverse(
        "consultations:appointment_detail", args=[appointment.pk]
    )


def test_front_desk_cannot_start_an_appointment(client, appointment, frontdesk_user):
    post_status(client, frontdesk_user, appointment, "arrived")
    response = post_status(client, frontdesk_user, appointment, "in_progress")
    assert response.status_code == 403
    assert refreshed(appointment).status == AppointmentStatus.ARRIVED


def test_cancelling_without_a_reason_is_refused_and_changes_nothing(
    client, appointment, frontdesk_user
):
    response = post_status(client, frontdesk_user, appointment, "cancelled", reason="   ")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Say why the appointment is cancelled." in body
    assert "Nothing was changed." in body
    assert refreshed(appointment).status == AppointmentStatus.BOOKED
    assert appointment.status_changes.count() == 1


def test_cancelling_with_a_reason_frees_the_slot_and_shows_the_reason(
    client, appointment, frontdesk_user
):
    response = post_status(client, frontdesk_user, appointment, "cancelled", reason="Flu")
    assert response.status_code == 302
    cancelled = refreshed(appointment)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Flu")
    change = cancelled.status_changes.last()
    assert (change.to_status, change.note, change.changed_by) == (
        "cancelled",
        "Flu",
        frontdesk_user,
    )
    day = client.get(reverse("consultations:day_list") + f"?date={soon():%Y-%m-%d}")
    assert "Flu" in day.content.decode()


@pytest.mark.parametrize(
    ("steps", "refused", "message"),
    [
        ([], "completed", "A booked appointment cannot become completed."),
        (["arrived"], "no_show", "An arrived appointment cannot become no-show."),
        (["arrived", "in_progress", "completed"], "booked", "cannot become booked"),
        ([], "teleported", "That is not an appointment status."),
    ],
)
def test_a_change_the_status_cannot_make_is_refused_and_changes_nothing(
    client, appointment, practitioner_user, steps, refused, message
):
    for step in steps:
        assert post_status(client, practitioner_user, appointment, step).status_code == 302
    before = refreshed(appointment).status
    response = post_status(client, practitioner_user, appointment, refused)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert refreshed(appointment).status == before
    assert appointment.status_changes.count() == 1 + len(steps)


def test_patient_text_is_shown_escaped(client, doctor, london, consultation, frontdesk_user):
    hostile = PatientFactory(first_name="<b>Bold</b>", last_name="Vane")
    booked = book(
        hostile,
        doctor,
        london,
        consultation,
        local(london, soon(), 10),
        frontdesk_user,
        notes='<script>alert("notes")</script>',
    )
    post_status(client, frontdesk_user, booked, "cancelled", reason="<img src=x onerror=alert(1)>")
    detail = client.get(reverse("consultations:appointment_detail", args=[booked.pk])).content
    day = client.get(reverse("consultations:day_list") + f"?date={soon():%Y-%m-%d}").content
    for body in (detail.decode(), day.decode()):
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "<b>Bold</b>" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&lt;script&gt;alert(&quot;notes&quot;)&lt;/script&gt;" in detail.decode()


def test_opening_an_appointment_is_audited(client, appointment, frontdesk_user):
    client.force_login(frontdesk_user)
    client.get(reverse("consultations:appointment_detail", args=[appointment.pk]))
    event = AuditEvent.objects.get(action=AuditAction.VIEW, object_id=str(appointment.pk))
    assert (event.actor, event.patient_id) == (frontdesk_user, appointment.patient_id)


# Moving an appointment ---------------------------------------------------------------------


def test_rescheduling_moves_the_appointment_on_the_locations_clock(
    client, appointment, frontdesk_user, london
):
    response = reschedule(client, frontdesk_user, appointment, f"{soon():%Y-%m-%d}T14:15")
    assert response.status_code == 302
    moved = refreshed(appointment)
    assert moved.starts_at == local(london, soon(), 14, 15)
    assert moved.ends_at == local(london, soon(), 14, 45)
    page = client.get(response["Location"]).content.decode()
    assert "Moved to" in page and "14:15" in page


def test_rescheduling_onto_a_taken_time_offers_the_next_free_ones_and_changes_nothing(
    client, appointment, doctor, london, consultation, frontdesk_user
):
    other = book(
        PatientFactory(), doctor, london, consultation, local(london, soon(), 11), frontdesk_user
    )
    response = reschedule(client, frontdesk_user, other, f"{soon():%Y-%m-%d}T10:00")

    assert response.status_code == 409
    body = response.content.decode()
    # The practitioner, and the only room, are taken at 10:00.
    assert "No room is free at that time." in body
    assert "Nothing was changed." in body
    slots = response.context["slots"]
    assert slots, "the next free times are offered"
    assert body.count('name="starts_at" value="') >= len(slots)
    assert refreshed(other).starts_at == local(london, soon(), 11)

    # One click on the first offer moves it there.
    first = slots[0]
    chosen = reschedule(client, frontdesk_user, other, first["value"], first["practitioner"])
    assert chosen.status_code == 302
    assert refreshed(other).starts_at == first["starts_at"]


def test_a_practitioner_from_another_location_cannot_be_chosen(
    client, appointment, frontdesk_user, new_york
):
    stranger = StaffMemberFactory(role=Role.PRACTITIONER, locations=[new_york])
    works_every_day(stranger, new_york)
    response = reschedule(
        client, frontdesk_user, appointment, f"{soon():%Y-%m-%d}T12:00", practitioner=stranger
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    unchanged = refreshed(appointment)
    assert (unchanged.practitioner_id, unchanged.starts_at) == (
        appointment.practitioner_id,
        appointment.starts_at,
    )


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (
            lambda: f"{timezone.localdate() - timedelta(days=3):%Y-%m-%d}T10:00",
            "This time has passed",
        ),
        (lambda: f"{soon():%Y-%m-%d}T22:00", "does not work at"),
        (lambda: "tomorrow at ten", "Enter a valid date/time."),
        (lambda: "9999-12-31T23:30", "That is more than two years ahead."),
        (lambda: "0001-01-01T00:30", "This time has passed"),
    ],
)
def test_a_bad_new_time_is_a_field_error_and_changes_nothing(
    client, appointment, frontdesk_user, when, message
):
    response = reschedule(client, frontdesk_user, appointment, when())
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["starts_at"])
    assert refreshed(appointment).starts_at == appointment.starts_at


def next_clock_change(zone_name: str) -> date:
    zone = ZoneInfo(zone_name)
    day = timezone.localdate() + timedelta(days=2)
    while (
        datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        == datetime.combine(day, time(12), tzinfo=zone).utcoffset()
    ):
        day += timedelta(days=1)
    return day


def test_a_time_the_clocks_skip_or_repeat_is_refused(client, appointment, frontdesk_user):
    change = next_clock_change("Europe/London")  # 01:30 is skipped in March, repeated in October
    response = reschedule(client, frontdesk_user, appointment, f"{change:%Y-%m-%d}T01:30")
    assert response.status_code == 400
    assert "ambiguous or it may not exist" in " ".join(response.context["form"].errors["starts_at"])
    assert refreshed(appointment).starts_at == appointment.starts_at


def test_only_booked_appointments_can_be_moved(client, appointment, frontdesk_user):
    post_status(client, frontdesk_user, appointment, "arrived")
    page = client.get(reverse("consultations:appointment_reschedule", args=[appointment.pk]))
    assert "Only booked appointments can be moved" in page.content.decode()
    response = reschedule(client, frontdesk_user, appointment, f"{soon():%Y-%m-%d}T14:00")
    assert response.status_code == 400
    assert refreshed(appointment).starts_at == appointment.starts_at


# The patient chart's bookings ---------------------------------------------------------------


def test_the_chart_lists_bookings_with_cancellations_and_no_shows_counted(
    doctor, london, consultation, harriet, frontdesk_user
):
    kept = book(harriet, doctor, london, consultation, local(london, soon(), 9), frontdesk_user)
    later = book(harriet, doctor, london, consultation, local(london, soon(9), 9), frontdesk_user)
    cancelled = book(
        harriet, doctor, london, consultation, local(london, soon(), 11), frontdesk_user
    )
    missed = book(harriet, doctor, london, consultation, local(london, soon(), 13), frontdesk_user)
    # As if a month had passed since these two (a no-show is recorded once it has begun).
    for moved, days in [(missed, 40), (cancelled, 30)]:
        shift = timedelta(days=days)
        Appointment.objects.filter(pk=moved.pk).update(
            starts_at=moved.starts_at - shift,
            ends_at=moved.ends_at - shift,
            blocked_until=moved.blocked_until - shift,
        )
    booking.cancel_appointment(
        appointment=cancelled,
        reason="Childcare fell through",
        actor=Actor.system(user=frontdesk_user),
    )
    booking.set_appointment_status(
        appointment=missed, status="no_show", actor=Actor.system(user=frontdesk_user)
    )

    history = patient_booking_history(patient=harriet)
    assert [a.pk for a in history.upcoming] == [kept.pk, later.pk]
    assert [a.pk for a in history.past] == [cancelled.pk, missed.pk]
    html = render_to_string(
        "consultations/_chart_appointments.html", {"patient": harriet, "booking_history": history}
    )
    assert "1 cancellation" in html
    assert "1 no-show" in html
    assert "Childcare fell through" in html
    assert html.index("Upcoming") < html.index(f"{soon():%a} {soon().day}") < html.index("Past")


def test_the_chart_shows_the_time_on_each_locations_own_clock(
    new_york, consultation, harriet, frontdesk_user
):
    staff = StaffMemberFactory(role=Role.PRACTITIONER, locations=[new_york])
    works_every_day(staff, new_york)
    book(harriet, staff, new_york, consultation, local(new_york, soon(), 8, 45), frontdesk_user)
    html = render_to_string(
        "consultations/_chart_appointments.html",
        {"patient": harriet, "booking_history": patient_booking_history(patient=harriet)},
    )
    assert "08:45 · Threadline New York" in html
    assert "0 cancellations" in html and "0 no-shows" in html


# One "Start": a treatment starts with the treatment-day check ------------------------------


@pytest.fixture
def treatment_day(location, private_media, practitioner_user):
    """A treatment appointment tomorrow (recipes.build_clinic), accepted and consented."""
    clinic = recipes.build_clinic(location, practitioner_user)
    recipes.accept(clinic)
    recipes.sign(clinic)
    return clinic


def day_list_row(client, user, appointment) -> str:
    client.force_login(user)
    day = appointment.starts_at.astimezone(appointment.location.zone).date()
    html = client.get(reverse("consultations:day_list"), {"date": day.isoformat()}).content
    row = re.search(rf'data-appointment="{appointment.pk}">(.*?)</tr>', html.decode(), re.DOTALL)
    assert row is not None
    return row.group(1)


def test_start_on_a_treatment_leads_to_the_treatment_day_check(
    client, treatment_day, practitioner_user
):
    appointment = treatment_day["appointment"]
    row = day_list_row(client, practitioner_user, appointment)
    check = reverse("treatments:session_start", args=[appointment.pk])
    assert f'href="{check}"' in row and ">Start</a>" in row
    assert 'value="in_progress"' not in row  # not a second Start that only sets a status
    arrive_for(appointment)
    client.force_login(practitioner_user)  # the clock moved on past the sign-in's expiry
    page = client.get(check)
    assert page.status_code == 200
    assert "Treatment-day check" in page.content.decode()


def test_a_consultations_start_still_sets_the_status(client, appointment, practitioner_user):
    row = day_list_row(client, practitioner_user, appointment)
    assert 'value="in_progress"' in row and ">Start</button>" in row
    assert "session" not in row


def test_a_treatment_in_progress_opens_its_session_instead_of_completing_by_status(
    client, treatment_day, practitioner_user
):
    session = recipes.start(treatment_day)
    row = day_list_row(client, practitioner_user, treatment_day["appointment"])
    assert "Open the session" in row and 'value="completed"' not in row
    opened = client.get(reverse("treatments:session_start", args=[session.appointment_id]))
    assert opened["Location"] == reverse("treatments:session_detail", args=[session.pk])


@pytest.mark.parametrize("status", ["in_progress", "completed"])
def test_a_crafted_status_post_cannot_start_or_complete_a_treatment_without_its_session(
    client, treatment_day, practitioner_user, status
):
    appointment = treatment_day["appointment"]
    arrive_for(appointment)
    response = post_status(client, practitioner_user, appointment, status)
    assert response.status_code == 400
    assert "treatment-day check" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    page = client.get(reverse("consultations:appointment_detail", args=[appointment.pk]))
    assert 'value="in_progress"' not in page.content.decode()


# Statuses that follow the clock ------------------------------------------------------------


def undo(client, user, appointment, reason="Pressed the wrong row"):
    client.force_login(user)
    return client.post(
        reverse("consultations:appointment_undo", args=[appointment.pk]), {"undo_reason": reason}
    )


def test_a_no_show_before_the_start_is_refused_and_not_offered(client, appointment, frontdesk_user):
    detail = reverse("consultations:appointment_detail", args=[appointment.pk])
    day_url = reverse("consultations:day_list") + f"?date={soon():%Y-%m-%d}"
    client.force_login(frontdesk_user)
    assert 'value="no_show"' not in client.get(detail).content.decode()
    assert 'value="no_show"' not in client.get(day_url).content.decode()

    response = post_status(client, frontdesk_user, appointment, "no_show")

    assert response.status_code == 400
    assert "A no-show can be recorded only once the appointment has begun (10:00" in (
        response.content.decode()
    )
    assert refreshed(appointment).status == AppointmentStatus.BOOKED
    assert appointment.status_changes.count() == 1


def test_the_desk_undoes_a_no_show_the_same_day_and_the_history_keeps_both(
    client, appointment, frontdesk_user
):
    arrive_for(appointment)
    post_status(client, frontdesk_user, appointment, "no_show")
    detail = client.get(reverse("consultations:appointment_detail", args=[appointment.pk]))
    assert "Undo the no-show" in detail.content.decode()

    response = undo(client, frontdesk_user, appointment, reason="She was in the waiting room")

    assert response.status_code == 302
    assert refreshed(appointment).status == AppointmentStatus.BOOKED
    changes = list(appointment.status_changes.values_list("from_status", "to_status", "note"))
    assert changes[-2:] == [
        ("booked", "no_show", ""),
        ("no_show", "booked", "Undone: She was in the waiting room"),
    ]
    page = client.get(reverse("consultations:appointment_detail", args=[appointment.pk]))
    body = page.content.decode()
    assert "Booked → No-show" in body and "No-show → Booked" in body
    assert "Undone: She was in the waiting room" in body
    assert "Check in" in body


@pytest.mark.parametrize(("step", "back_to"), [("arrived", "booked"), ("cancelled", "booked")])
def test_a_check_in_or_a_cancellation_made_today_is_undone_to_what_it_was(
    client, appointment, frontdesk_user, step, back_to
):
    # What counts is the day of the change, not of the appointment.
    post_status(client, frontdesk_user, appointment, step, reason="Ill")

    assert undo(client, frontdesk_user, appointment).status_code == 302

    undone = refreshed(appointment)
    assert undone.status == back_to and undone.cancel_reason == ""


def test_an_undo_without_a_reason_is_refused_and_changes_nothing(
    client, appointment, frontdesk_user
):
    post_status(client, frontdesk_user, appointment, "cancelled", reason="Flu")

    response = undo(client, frontdesk_user, appointment, reason="   ")

    assert response.status_code == 400
    assert "Say why the change is undone." in response.content.decode()
    assert refreshed(appointment).status == AppointmentStatus.CANCELLED
    assert appointment.status_changes.count() == 2


def test_a_change_made_on_an_earlier_day_cannot_be_undone(client, appointment, frontdesk_user):
    post_status(client, frontdesk_user, appointment, "cancelled", reason="Flu")
    travel_to(timezone.now() + timedelta(days=1))

    response = undo(client, frontdesk_user, appointment)

    assert response.status_code == 400
    assert "Only a change made today can be undone" in response.content.decode()
    assert refreshed(appointment).status == AppointmentStatus.CANCELLED


def test_a_cancellation_whose_time_was_booked_since_cannot_be_undone(
    client, appointment, doctor, london, consultation, frontdesk_user
):
    post_status(client, frontdesk_user, appointment, "cancelled", reason="Flu")
    book(PatientFactory(), doctor, london, consultation, appointment.starts_at, frontdesk_user)

    response = undo(client, frontdesk_user, appointment)

    assert response.status_code == 400
    assert "It cannot come back" in response.content.decode()
    assert "is already booked at that time" in response.content.decode()
    assert refreshed(appointment).status == AppointmentStatus.CANCELLED


def test_a_booked_appointment_has_nothing_to_undo(client, appointment, frontdesk_user):
    response = undo(client, frontdesk_user, appointment)

    assert response.status_code == 400
    assert "has no check-in, no-show or cancellation to undo" in response.content.decode()
    assert appointment.status_changes.count() == 1


def test_an_undo_on_another_locations_appointment_is_not_found_and_changes_nothing(
    client, far_appointment, frontdesk_user, manager_user
):
    booking.set_appointment_status(
        appointment=far_appointment,
        status="cancelled",
        reason="Flu",
        actor=Actor.system(user=manager_user),
    )

    response = undo(client, frontdesk_user, far_appointment)

    assert response.status_code == 404
    assert refreshed(far_appointment).status == AppointmentStatus.CANCELLED


def test_a_move_appears_in_the_appointments_own_history_with_who_moved_it(
    client, appointment, london, frontdesk_user
):
    new_time = local(london, soon(8), 14, 30)
    booking.reschedule_appointment(
        appointment=appointment, starts_at=new_time, actor=Actor.system(user=frontdesk_user)
    )
    client.force_login(frontdesk_user)

    body = client.get(
        reverse("consultations:appointment_detail", args=[appointment.pk])
    ).content.decode()

    old = local(london, soon(), 10)
    assert "Moved" in body
    assert f"From {old:%a %d %b} 10:00 to {new_time:%a %d %b} 14:30" in body
    assert frontdesk_user.get_full_name() in body


def test_the_week_view_opens_on_a_practitioner_who_works_that_week_here(
    client, london, frontdesk_user
):
    # By name they come away, then without hours here, then working: the view skips two.
    away = StaffMemberFactory(
        role=Role.PRACTITIONER, locations=[london], user__first_name="Aaron", user__last_name="Aa"
    )
    works_every_day(away, london)
    TimeOffFactory(
        staff=away,
        starts_at=timezone.now() - timedelta(days=10),
        ends_at=timezone.now() + timedelta(days=10),
    )
    StaffMemberFactory(
        role=Role.PRACTITIONER, locations=[london], user__first_name="Abel", user__last_name="Ab"
    )
    working = StaffMemberFactory(
        role=Role.PRACTITIONER, locations=[london], user__first_name="Zora", user__last_name="Zz"
    )
    works_every_day(working, london)
    client.force_login(frontdesk_user)

    response = client.get(reverse("consultations:calendar_week"))

    assert response.status_code == 200
    assert response.context["practitioner"] == working
