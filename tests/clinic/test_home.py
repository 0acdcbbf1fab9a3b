"""The home page of each role: what the front desk, a practitioner and a manager see first."""

import itertools
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import Role
from consultations import services as consultation_services
from consultations.models import AppointmentStatus, Screening
from tests.clock import travel_to
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    StaffMemberFactory,
    StockLotFactory,
    ThreadProductFactory,
)
from tests.recipes import (
    LOCAL_LIDOCAINE,
    accept,
    at,
    build_clinic,
    completed_session,
    local_day,
    screened_patient,
    sign,
    two_vector_plan,
)
from tests.recipes import start as start_session
from treatments.models import AdverseEvent, LotRecall, TreatmentPlan

pytestmark = pytest.mark.django_db

# Words that would tell the desk something clinical (DESIGN.md, least privilege).
CLINICAL_WORDS = [
    "screen",
    "plan",
    "draft",
    "outcome",
    "adverse",
    "allerg",
    "anticoagul",
    "pregnan",
    "medical history",
    "gais",
    "suitable",
    "lot",
]


def main_text(response) -> str:
    """The page's own content, without the navigation, as a person reads it."""
    body = response.content.decode()
    main = body[body.index('<main id="main"') : body.index("</main>")]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def section(response, testid: str) -> str:
    body = response.content.decode()
    start = body.index(f'data-testid="{testid}"')
    return body[start : body.index("</ul>", start)]


def midday(location):
    """Noon today at the location: the day's lists have a morning behind and an afternoon ahead."""
    travel_to(at(location, local_day(location, 0), 12))


@pytest.fixture
def types():
    return {
        "consultation": AppointmentTypeFactory(name="Consultation", duration_minutes=5),
        "treatment": AppointmentTypeFactory(name="Lift", kind="treatment", duration_minutes=5),
        "review": AppointmentTypeFactory(name="3-month review", kind="review", duration_minutes=5),
    }


def book(location, when, kind_type, *, practitioner=None, patient=None, **fields):
    return AppointmentFactory(
        location=location,
        starts_at=when,
        appointment_type=kind_type,
        practitioner=practitioner or StaffMemberFactory(locations=[location]),
        patient=patient or PatientFactory(),
        **fields,
    )


def give_history(patient, by, **answers):
    return consultation_services.submit_medical_history(
        patient=patient, answers=answers, actor=Actor.system(user=by)
    )


# -- front desk -------------------------------------------------------------------------------


def test_the_front_desk_sees_todays_list_with_check_in_and_the_patient_search_box(
    client, frontdesk_user, location, types
):
    midday(location)
    arriving = book(location, timezone.now() + timedelta(minutes=10), types["consultation"])
    later = book(location, timezone.now() + timedelta(hours=3), types["consultation"])
    client.force_login(frontdesk_user)
    response = client.get(reverse("home"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'action="{reverse("consultations:patient_list")}" role="search"' in body
    assert 'name="q"' in body and "Find a patient" in body
    day = body[body.index('data-testid="home-day"') :]
    assert arriving.patient.full_name in day and later.patient.full_name in day
    check_in = reverse("consultations:appointment_status", args=[later.pk])
    assert f'action="{check_in}"' in day
    assert "Check in" in day


def test_checking_in_from_the_home_page_comes_back_to_it(client, frontdesk_user, location, types):
    midday(location)
    arriving = book(location, timezone.now() + timedelta(minutes=10), types["consultation"])
    client.force_login(frontdesk_user)
    response = client.post(
        reverse("consultations:appointment_status", args=[arriving.pk]),
        {"status": "arrived", "next": reverse("home")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    arriving.refresh_from_db()
    assert arriving.status == AppointmentStatus.ARRIVED
    assert arriving.patient.full_name not in section(client.get(reverse("home")), "arrivals-due")


def test_the_front_desk_sees_who_is_due_at_the_desk_and_who_is_late(
    client, frontdesk_user, location, types
):
    midday(location)
    late = book(location, timezone.now() - timedelta(minutes=20), types["consultation"])
    due = book(location, timezone.now() + timedelta(minutes=15), types["consultation"])
    afternoon = book(location, timezone.now() + timedelta(hours=3), types["consultation"])
    here = book(
        location,
        timezone.now() - timedelta(minutes=5),
        types["consultation"],
        status=AppointmentStatus.ARRIVED,
    )
    client.force_login(frontdesk_user)
    arrivals = section(client.get(reverse("home")), "arrivals-due")
    assert late.patient.full_name in arrivals and due.patient.full_name in arrivals
    assert afternoon.patient.full_name not in arrivals
    assert here.patient.full_name not in arrivals
    assert reverse("consultations:appointment_status", args=[late.pk]) in arrivals


def test_the_front_desk_is_asked_to_confirm_tomorrows_bookings_no_reminder_will_confirm(
    client, frontdesk_user, location, types
):
    midday(location)
    tomorrow = local_day(location, 1)
    no_email = book(
        location,
        at(location, tomorrow, 10),
        types["consultation"],
        patient=PatientFactory(email=""),
    )
    declined = book(
        location,
        at(location, tomorrow, 11),
        types["consultation"],
        patient=PatientFactory(contact_by_email=False),
    )
    reminded = book(
        location,
        at(location, tomorrow, 12),
        types["consultation"],
        patient=PatientFactory(contact_by_email=True),
    )
    client.force_login(frontdesk_user)
    unconfirmed = section(client.get(reverse("home")), "unconfirmed")
    assert no_email.patient.full_name in unconfirmed
    assert declined.patient.full_name in unconfirmed
    assert reminded.patient.full_name not in unconfirmed
    assert "tel:+44" in unconfirmed
    assert reverse("consultations:appointment_detail", args=[no_email.pk]) in unconfirmed


@pytest.mark.parametrize(
    ("backend", "asked_to_call"), [("http", False), ("disabled", True)], ids=["texts", "no texts"]
)
def test_a_patient_reminded_by_text_is_confirmed_only_while_texts_can_go_out(
    client, settings, frontdesk_user, location, types, backend, asked_to_call
):
    settings.TEXT_MESSAGE_BACKEND = backend
    midday(location)
    texted = book(
        location,
        at(location, local_day(location, 1), 10),
        types["consultation"],
        patient=PatientFactory(email="", phone="+447911123456", contact_by_sms=True),
    )
    client.force_login(frontdesk_user)
    unconfirmed = section(client.get(reverse("home")), "unconfirmed")
    assert (texted.patient.full_name in unconfirmed) is asked_to_call


def test_the_front_desk_is_asked_for_the_intake_forms_of_patients_booked_this_week(
    client, frontdesk_user, location, types, settings
):
    midday(location)
    soon = local_day(location, 3)
    never_filled = book(location, at(location, soon, 10), types["treatment"])
    filled_long_ago = book(location, at(location, soon, 11), types["consultation"])
    filled = book(location, at(location, soon, 12), types["consultation"])
    review = book(location, at(location, soon, 13), types["review"])
    give_history(filled.patient, frontdesk_user)
    old = give_history(filled_long_ago.patient, frontdesk_user)
    type(old).objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - timedelta(days=settings.SCREENING_VALID_DAYS + 1)
    )
    client.force_login(frontdesk_user)
    forms = section(client.get(reverse("home")), "forms-due")
    assert never_filled.patient.full_name in forms
    assert filled_long_ago.patient.full_name in forms
    assert filled.patient.full_name not in forms
    assert review.patient.full_name not in forms
    assert reverse("consultations:intake_form", args=[never_filled.patient_id]) in forms


def test_the_front_desk_home_shows_nothing_clinical(
    client, frontdesk_user, practitioner_user, location, types, private_media
):
    clinic = build_clinic(location, practitioner_user)
    patient = screened_patient(
        clinic["doctor"], history={"allergy_local_anaesthetic": True, "anticoagulants": True}
    )
    two_vector_plan(
        patient=patient, doctor=clinic["doctor"], location=location, product=clinic["cog"]
    )
    midday(location)
    book(location, timezone.now() + timedelta(minutes=10), types["treatment"], patient=patient)
    book(location, at(location, local_day(location, 1), 9), types["review"], patient=patient)
    StockLotFactory(location=location, product=clinic["cog"], expires_on=local_day(location, 5))
    client.force_login(frontdesk_user)
    response = client.get(reverse("home"))
    text = main_text(response).lower()
    assert patient.full_name.lower() in text
    for word in CLINICAL_WORDS:
        assert not re.search(rf"\b{word}", text), f"the desk's home page says {word!r}"


# -- practitioner -----------------------------------------------------------------------------


def test_a_practitioner_sees_their_day_and_who_is_waiting_for_them(
    client, practitioner_user, location, types
):
    midday(location)
    me = practitioner_user.staff
    waiting = book(
        location,
        timezone.now() - timedelta(minutes=10),
        types["treatment"],
        practitioner=me,
        status=AppointmentStatus.ARRIVED,
    )
    consulting = book(
        location,
        timezone.now() + timedelta(minutes=5),
        types["consultation"],
        practitioner=me,
        status=AppointmentStatus.ARRIVED,
    )
    later = book(location, timezone.now() + timedelta(hours=2), types["review"], practitioner=me)
    someone_elses = book(location, timezone.now() + timedelta(hours=1), types["consultation"])
    client.force_login(practitioner_user)
    response = client.get(reverse("home"))
    body = response.content.decode()
    day = body[body.index('data-testid="home-day"') :]
    assert later.patient.full_name in day and waiting.patient.full_name in day
    assert someone_elses.patient.full_name not in body
    queue = section(response, "waiting")
    assert waiting.patient.full_name in queue and later.patient.full_name not in queue
    assert reverse("treatments:session_start", args=[waiting.pk]) in queue
    assert reverse("consultations:consultation_for_appointment", args=[consulting.pk]) in queue


def test_a_practitioner_sees_their_plans_still_in_draft_linked_to_the_planner(
    client, practitioner_user, location, private_media
):
    clinic = build_clinic(location, practitioner_user)
    other = StaffMemberFactory(locations=[location])
    theirs = two_vector_plan(
        patient=screened_patient(other), doctor=other, location=location, product=clinic["cog"]
    )
    client.force_login(practitioner_user)
    drafts = section(client.get(reverse("home")), "draft-plans")
    assert reverse("treatments:planner", args=[clinic["plan"].pk]) in drafts
    assert f"{clinic['patient'].full_name}, plan version 1" in drafts
    assert theirs.patient.full_name not in drafts
    accept(clinic)
    drafts = section(client.get(reverse("home")), "draft-plans")
    assert "No plan of yours is in draft." in drafts


def test_a_practitioner_sees_reviews_held_without_an_outcome_and_records_it_from_there(
    client, practitioner_user, location, types, private_media
):
    clinic = build_clinic(location, practitioner_user)
    sign(clinic, accept(clinic))
    session = completed_session(
        start_session(clinic), lot=clinic["lot"], by=clinic["user"], details={**LOCAL_LIDOCAINE}
    )
    review = book(
        location,
        clinic["appointment"].blocked_until + timedelta(minutes=5),
        types["review"],
        practitioner=clinic["doctor"],
        patient=clinic["patient"],
    )
    client.force_login(practitioner_user)
    due = section(client.get(reverse("home")), "reviews-due")
    assert clinic["patient"].full_name in due
    assert reverse("treatments:outcome_new", args=[session.pk]) in due
    response = client.post(
        reverse("treatments:outcome_new", args=[session.pk]),
        {
            "gais_practitioner": 2,
            "gais_patient": 2,
            "satisfaction": 9,
            "notes": "",
            "appointment": review.pk,
        },
    )
    assert response.status_code == 302
    due = section(client.get(reverse("home")), "reviews-due")
    assert "Every review of yours has its outcome." in due


def test_a_practitioner_sees_booked_treatments_their_screening_will_be_too_old_for(
    client, practitioner_user, location, types, settings
):
    me = practitioner_user.staff
    fading = screened_patient(me)
    fresh = screened_patient(me)
    never = PatientFactory()
    Screening.objects.filter(patient=fading).update(
        screened_at=timezone.now() - timedelta(days=settings.SCREENING_VALID_DAYS - 5)
    )
    in_ten_days = local_day(location, 10)
    for hour, patient in [(9, fading), (10, fresh), (11, never)]:
        book(
            location,
            at(location, in_ten_days, hour),
            types["treatment"],
            practitioner=me,
            patient=patient,
        )
    client.force_login(practitioner_user)
    due = section(client.get(reverse("home")), "screenings-due")
    assert fading.full_name in due and "screening valid until" in due
    assert never.full_name in due and "no decided screening" in due
    assert fresh.full_name not in due
    assert reverse("consultations:consultation_start", args=[fading.pk]) in due


# -- manager ----------------------------------------------------------------------------------


def test_a_manager_sees_lots_expiring_or_low_and_open_recalls_at_every_location(
    client, manager_user, location
):
    elsewhere = LocationFactory(name="Manchester")
    expiring = StockLotFactory(location=location, expires_on=local_day(location, 10))
    StockLotFactory(
        location=location, product=expiring.product, expires_on=local_day(location, 200)
    )
    scarce = ThreadProductFactory(name="PLLA Mono 27G", reorder_level=50)
    StockLotFactory(location=elsewhere, product=scarce, quantity_received=3)
    recalled = StockLotFactory(location=elsewhere, product=expiring.product)
    recall = LotRecall.objects.create(
        lot=recalled, reason="Sterility", announced_on=local_day(location, 0)
    )
    client.force_login(manager_user)
    response = client.get(reverse("home"))
    body = response.content.decode()
    assert f"Lot {expiring.lot_number}" in body
    assert reverse("treatments:lot_detail", args=[expiring.pk]) in body
    assert "PLLA Mono 27G: 3 usable on hand, reorder level 50" in body
    assert reverse("treatments:recall_detail", args=[recall.pk]) in body
    assert f"Open recall of lot {recalled.lot_number}" in body


def test_a_manager_sees_this_months_adverse_events(client, manager_user, location, private_media):
    doctor_user = StaffMemberFactory(locations=[location], role=Role.PRACTITIONER).user
    clinic = build_clinic(location, doctor_user)
    sign(clinic, accept(clinic))
    session = completed_session(start_session(clinic), lot=clinic["lot"], by=clinic["user"])
    today = local_day(location, 0)
    AdverseEvent.objects.create(
        session=session, event_type="bruising", severity="mild", onset_on=today
    )
    AdverseEvent.objects.create(
        session=session,
        event_type="infection",
        severity="moderate",
        onset_on=today.replace(day=1) - timedelta(days=1),
    )
    client.force_login(manager_user)
    events = section(client.get(reverse("home")), "adverse-events")
    assert "Bruising, mild" in events
    assert "Infection" not in events
    assert reverse("treatments:session_detail", args=[session.pk]) in events


def test_a_manager_sees_todays_bookings_per_location_each_on_its_own_calendar(
    client, manager_user, location, types
):
    new_york = LocationFactory(name="New York", time_zone="America/New_York", country="US")
    midday(location)
    for hour in (9, 10, 11):
        book(location, at(location, local_day(location, 0), hour), types["consultation"])
    book(new_york, at(new_york, local_day(new_york, 0), 9), types["consultation"])
    book(
        new_york,
        at(new_york, local_day(new_york, 0), 10),
        types["consultation"],
        status=AppointmentStatus.CANCELLED,
    )
    book(new_york, at(new_york, local_day(new_york, 1), 10), types["consultation"])
    client.force_login(manager_user)
    body = client.get(reverse("home")).content.decode()
    counts = dict(
        re.findall(
            r'data-location="(\d+)">.*?data-testid="bookings-today">(\d+)<', body, flags=re.S
        )
    )
    assert counts == {str(location.pk): "3", str(new_york.pk): "1"}


# -- the local time -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER, Role.MANAGER])
def test_each_location_shows_its_own_local_time(client, users_by_role, location, role):
    new_york = LocationFactory(name="New York", time_zone="America/New_York", country="US")
    users_by_role[role].staff.locations.add(new_york)
    # A moment at which London and New York read different hours (4 or 5 apart).
    moment = datetime.combine(timezone.localdate(), time(15, 0), tzinfo=UTC)
    travel_to(moment)
    client.force_login(users_by_role[role])
    body = client.get(reverse("home")).content.decode()
    shown = dict(
        re.findall(
            r'data-location="(\d+)">.*?data-testid="local-time">([0-9:]+)<', body, flags=re.S
        )
    )
    new_york_time = moment.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    london_time = moment.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M")
    assert shown[str(new_york.pk)] == new_york_time
    assert shown[str(location.pk)] == london_time
    assert new_york_time != london_time


def test_the_desk_at_new_york_sees_todays_times_on_new_yorks_clock(client, types):
    new_york = LocationFactory(name="New York", time_zone="America/New_York", country="US")
    desk = StaffMemberFactory(role=Role.FRONT_DESK, locations=[new_york]).user
    midday(new_york)
    booked = book(new_york, at(new_york, local_day(new_york, 0), 14, 30), types["consultation"])
    client.force_login(desk)
    day = client.get(reverse("home")).content.decode()
    row = day[day.index(f'data-appointment="{booked.pk}"') :]
    assert "14:30–14:35" in row[:600]


# -- a constant number of queries -----------------------------------------------------------


def queries_for(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def listed(client, testid: str) -> int:
    return section(client.get(reverse("home")), testid).count("<li")


def desk_work(location, types, count: int) -> None:
    """`count` of each thing the desk's home lists."""
    now = timezone.now()
    tomorrow = local_day(location, 1)
    for n in range(count):
        book(location, now - timedelta(minutes=n), types["consultation"])
        book(location, now + timedelta(minutes=n), types["consultation"], room=None)
        book(
            location,
            at(location, tomorrow, 8) + timedelta(minutes=5 * n),
            types["treatment"],
            patient=PatientFactory(email=""),
        )


def practitioner_work(location, types, me, plan_screening, numbers: range) -> None:
    """One of each thing the practitioner's home lists per number (numbers never reused: the
    practitioner's appointments must not overlap)."""
    now = timezone.now()
    for n in numbers:
        book(
            location,
            now - timedelta(hours=3) + timedelta(minutes=5 * n),
            types["consultation"],
            practitioner=me,
            status=AppointmentStatus.ARRIVED if n % 2 else AppointmentStatus.BOOKED,
        )
        book(location, now - timedelta(days=1 + n), types["review"], practitioner=me)
        book(
            location,
            at(location, local_day(location, 1 + n % 13), 9) + timedelta(minutes=5 * n),
            types["treatment"],
            practitioner=me,
        )
        TreatmentPlan.objects.create(
            patient=plan_screening.patient,
            practitioner=me,
            location=location,
            screening=plan_screening,
        )


PRODUCT_NUMBERS = itertools.count()


def manager_work(locations, types, count: int) -> None:
    for location in locations:
        for n in range(count):
            book(location, timezone.now() + timedelta(minutes=n), types["consultation"])
            lot = StockLotFactory(
                location=location,
                product=ThreadProductFactory(name=f"Product {next(PRODUCT_NUMBERS)}"),
                expires_on=local_day(location, 3 + n),
                quantity_received=2,
            )
            LotRecall.objects.create(
                lot=lot, reason="Sterility", announced_on=local_day(location, 0)
            )


def test_the_front_desk_home_costs_the_same_queries_with_2_or_25_of_everything(
    client, frontdesk_user, location, types
):
    midday(location)
    client.force_login(frontdesk_user)
    desk_work(location, types, 2)
    few = queries_for(client)
    desk_work(location, types, 23)
    assert queries_for(client) == few
    assert listed(client, "unconfirmed") == 25
    assert listed(client, "forms-due") == 75


def test_the_practitioner_home_costs_the_same_queries_with_2_or_25_of_everything(
    client, practitioner_user, location, types
):
    midday(location)
    me = practitioner_user.staff
    screening = Screening.objects.get(patient=screened_patient(me))
    client.force_login(practitioner_user)
    practitioner_work(location, types, me, screening, range(2))
    few = queries_for(client)
    practitioner_work(location, types, me, screening, range(2, 25))
    assert queries_for(client) == few
    assert listed(client, "draft-plans") == 25
    assert listed(client, "reviews-due") == 25
    assert listed(client, "waiting") == 12


def test_the_manager_home_costs_the_same_queries_with_2_or_25_of_everything(
    client, manager_user, location, types, private_media
):
    elsewhere = LocationFactory(name="Manchester")
    doctor_user = StaffMemberFactory(locations=[location], role=Role.PRACTITIONER).user
    clinic = build_clinic(location, doctor_user)
    sign(clinic, accept(clinic))
    session = completed_session(start_session(clinic), lot=clinic["lot"], by=clinic["user"])
    client.force_login(manager_user)

    def events(count):
        for _ in range(count):
            AdverseEvent.objects.create(
                session=session,
                event_type="swelling",
                severity="mild",
                onset_on=local_day(location, 0),
            )

    manager_work([location, elsewhere], types, 2)
    events(2)
    few = queries_for(client)
    manager_work([location, elsewhere], types, 23)
    events(23)
    more_places = [LocationFactory(name=f"Site {n}") for n in range(3)]
    manager_work(more_places, types, 2)
    assert queries_for(client) == few
    assert listed(client, "adverse-events") == 25
