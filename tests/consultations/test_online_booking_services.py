"""Online holds in the booking service: a held slot blocks the desk until it expires, an
expired one is offered and booked again, and a confirmation books the held time."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations.booking import online
from consultations.booking import services as booking
from consultations.booking.services import SlotUnavailable, book_appointment, next_free_slots
from consultations.models import (
    Appointment,
    AppointmentStatus,
    Patient,
)
from consultations.screening.rules import online_eligibility_problems
from tests.consultations.test_booking import at, next_weekday, works_every_day
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.django_db

PATIENT = Actor(user=None, ip_address="203.0.113.7", user_agent="phone")


@pytest.fixture
def clinic():
    location = LocationFactory(
        name="Online clinic", time_zone="Europe/London", country="GB", online_booking=True
    )
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])
    works_every_day(doctor, location)
    consultation = AppointmentTypeFactory(
        name="Online consultation", kind="consultation", duration_minutes=30, needs_room=False
    )
    return {"location": location, "doctor": doctor, "consultation": consultation}


def hold(clinic, start, **overrides):
    arguments = {
        "location": clinic["location"],
        "appointment_type": clinic["consultation"],
        "practitioner": clinic["doctor"],
        "starts_at": start,
        "actor": PATIENT,
    }
    return booking.hold_slot(**{**arguments, **overrides})


def desk_books(clinic, start, patient=None):
    return book_appointment(
        patient=patient or PatientFactory(),
        practitioner=clinic["doctor"],
        location=clinic["location"],
        appointment_type=clinic["consultation"],
        starts_at=start,
        actor=Actor.system(user=clinic["doctor"].user),
    )


def expire(held):
    Appointment.objects.filter(pk=held.pk).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )


def offered(clinic, start):
    slots = next_free_slots(
        appointment_type=clinic["consultation"],
        location=clinic["location"],
        after=start - timedelta(minutes=1),
        limit=3,
    )
    return start in [slot.starts_at for slot in slots]


def details(**overrides):
    return {
        "first_name": "Imogen",
        "last_name": "Okafor-Hale",
        "date_of_birth": timezone.localdate() - timedelta(days=365 * 40),
        "sex": "female",
        "email": "imogen.okafor@mail.example",
        "phone": "+447911123456",
        "contact_by_email": True,
        "contact_by_sms": False,
        **overrides,
    }


def test_a_hold_keeps_the_slot_without_a_patient_for_the_set_minutes_and_is_audited(
    clinic, settings
):
    settings.ONLINE_BOOKING_HOLD_MINUTES = 7
    start = at(next_weekday(1), 10)
    held = hold(clinic, start)
    assert held.status == AppointmentStatus.HELD
    assert held.patient is None
    assert held.booked_by is None
    remaining = held.hold_expires_at - timezone.now()
    assert timedelta(minutes=6) < remaining <= timedelta(minutes=7)
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_id=str(held.pk))
    assert event.actor is None
    assert event.ip_address == "203.0.113.7"


def test_a_held_slot_is_not_offered_to_the_desk_and_the_desk_cannot_book_over_it(clinic):
    start = at(next_weekday(1), 10)
    hold(clinic, start)
    assert not offered(clinic, start)
    with pytest.raises(SlotUnavailable) as taken:
        desk_books(clinic, start)
    assert "already booked" in taken.value.message
    assert Appointment.objects.filter(starts_at=start).count() == 1


def test_an_expired_hold_is_offered_again_and_the_desk_books_it(clinic):
    start = at(next_weekday(1), 10)
    held = hold(clinic, start)
    expire(held)
    assert offered(clinic, start)
    booked = desk_books(clinic, start)
    assert booked.status == AppointmentStatus.BOOKED
    held.refresh_from_db()
    assert held.status == AppointmentStatus.CANCELLED
    assert held.cancel_reason == "Online hold expired"


def test_another_patient_may_hold_the_time_of_an_expired_hold(clinic):
    start = at(next_weekday(1), 10)
    first = hold(clinic, start)
    expire(first)
    second = hold(clinic, start)
    assert second.status == AppointmentStatus.HELD
    first.refresh_from_db()
    assert first.status == AppointmentStatus.CANCELLED


def test_the_sweep_releases_every_expired_hold_and_keeps_live_ones(clinic):
    day = next_weekday(1)
    old, live = hold(clinic, at(day, 10)), hold(clinic, at(day, 11))
    expire(old)
    call_command("release_online_holds", stdout=open("/dev/null", "w"))  # noqa: SIM115
    old.refresh_from_db()
    live.refresh_from_db()
    assert old.status == AppointmentStatus.CANCELLED
    assert old.status_changes.last().note == "Online hold expired"
    assert live.status == AppointmentStatus.HELD


def test_only_a_consultation_can_be_held_and_only_where_online_booking_is_on(clinic):
    start = at(next_weekday(1), 10)
    treatment = AppointmentTypeFactory(kind="treatment", needs_room=False)
    with pytest.raises(ValidationError):
        hold(clinic, start, appointment_type=treatment)
    clinic["location"].online_booking = False
    clinic["location"].save()
    with pytest.raises(ValidationError):
        hold(clinic, start)
    assert not Appointment.objects.exists()


def test_a_hold_outside_the_practitioners_hours_is_refused(clinic):
    with pytest.raises(ValidationError):
        hold(clinic, at(next_weekday(1), 21))
    assert not Appointment.objects.exists()


def test_a_new_patient_is_registered_and_the_hold_becomes_their_booking_with_an_email(
    clinic, django_capture_on_commit_callbacks
):
    start = at(next_weekday(1), 10)
    held = hold(clinic, start)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = online.submit_online_booking(hold=held, details=details(), actor=PATIENT)
    assert not outcome.awaiting_desk
    appointment = outcome.appointment
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.patient.last_name == "Okafor-Hale"
    assert appointment.patient.preferred_location == clinic["location"]
    assert appointment.hold_expires_at is None
    [email] = [message for message in mail.outbox if message.attachments]
    assert email.to == ["imogen.okafor@mail.example"]
    [(name, content, kind)] = email.attachments
    assert name.endswith(".ics") and "BEGIN:VEVENT" in content and kind == "text/calendar"


def test_details_that_match_an_existing_patient_wait_for_the_desk_with_the_slot_kept(clinic):
    existing = PatientFactory(email="imogen.okafor@mail.example")
    held = hold(clinic, at(next_weekday(1), 10))
    outcome = online.submit_online_booking(hold=held, details=details(), actor=PATIENT)
    assert outcome.awaiting_desk
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD
    assert held.patient is None
    assert held.hold_expires_at is None  # kept until the desk decides
    assert list(outcome.request.candidates.all()) == [existing]
    assert Patient.objects.count() == 1  # nobody registered, nobody merged
    assert not mail.outbox


def test_the_desk_links_an_online_booking_to_the_matching_patient(clinic):
    existing = PatientFactory(email="imogen.okafor@mail.example")
    held = hold(clinic, at(next_weekday(1), 10))
    request = online.submit_online_booking(hold=held, details=details(), actor=PATIENT).request
    desk = Actor.system(user=clinic["doctor"].user)
    appointment = online.link_online_request(online_request=request, patient=existing, actor=desk)
    assert appointment.patient == existing
    assert appointment.status == AppointmentStatus.BOOKED
    request.refresh_from_db()
    assert request.decided_at is not None and request.patient == existing
    with pytest.raises(ValidationError):
        online.register_from_online_request(online_request=request, actor=desk)


def test_the_desk_registers_a_new_patient_when_no_match_is_the_person(clinic):
    PatientFactory(email="imogen.okafor@mail.example")
    held = hold(clinic, at(next_weekday(1), 10))
    request = online.submit_online_booking(hold=held, details=details(), actor=PATIENT).request
    appointment = online.register_from_online_request(
        online_request=request, actor=Actor.system(user=clinic["doctor"].user)
    )
    assert appointment.patient.first_name == "Imogen"
    assert Patient.objects.count() == 2


def test_the_desk_cannot_link_a_patient_who_is_not_one_of_the_matches(clinic):
    PatientFactory(email="imogen.okafor@mail.example")
    stranger = PatientFactory()
    held = hold(clinic, at(next_weekday(1), 10))
    request = online.submit_online_booking(hold=held, details=details(), actor=PATIENT).request
    with pytest.raises(ValidationError):
        online.link_online_request(online_request=request, patient=stranger, actor=Actor.system())
    held.refresh_from_db()
    assert held.status == AppointmentStatus.HELD


def test_confirming_after_expiry_books_the_time_when_it_is_still_free(clinic):
    start = at(next_weekday(1), 10)
    held = hold(clinic, start)
    expire(held)
    booking.release_expired_holds()
    outcome = online.submit_online_booking(hold=held, details=details(), actor=PATIENT)
    assert outcome.appointment.pk == held.pk
    assert outcome.appointment.status == AppointmentStatus.BOOKED


def test_confirming_after_expiry_when_the_time_was_taken_offers_the_next_and_saves_nothing(
    clinic,
):
    start = at(next_weekday(1), 10)
    held = hold(clinic, start)
    expire(held)
    desk_books(clinic, start)
    patients = Patient.objects.count()
    with pytest.raises(SlotUnavailable) as taken:
        online.submit_online_booking(hold=held, details=details(), actor=PATIENT)
    assert taken.value.next_slots
    assert start not in [slot.starts_at for slot in taken.value.next_slots]
    assert Patient.objects.count() == patients
    held.refresh_from_db()
    assert held.status == AppointmentStatus.CANCELLED


def test_a_confirmed_hold_cannot_be_confirmed_twice(clinic):
    held = hold(clinic, at(next_weekday(1), 10))
    online.submit_online_booking(hold=held, details=details(), actor=PATIENT)
    with pytest.raises(ValidationError):
        online.submit_online_booking(
            hold=held, details=details(email="x@mail.example"), actor=PATIENT
        )


def test_staff_lists_of_appointments_leave_out_holds(clinic, manager_user):
    hold(clinic, at(next_weekday(1), 10))
    assert Appointment.objects.exists()
    assert not Appointment.objects.for_user(manager_user).exists()


def test_the_online_questions_are_the_screening_rules_and_stop_on_a_yes():
    assert online_eligibility_problems({"pregnant_or_breastfeeding": False}) == []
    [problem] = online_eligibility_problems({"pregnant_or_breastfeeding": True})
    assert problem.rule_id == "pregnancy"
    assert problem.source_note  # cites what the rule rests on
    [infection] = online_eligibility_problems({"active_skin_infection": True})
    assert infection.rule_id == "active-infection"
    [england] = online_eligibility_problems({"under_18": True}, jurisdiction="GB-ENG")
    assert england.rule_id == "under-18-england"
    [elsewhere] = online_eligibility_problems({}, jurisdiction="US-NY", age=16)
    assert elsewhere.rule_id == "under-18" and elsewhere.detail == ""


# PostgreSQL: the patient's hold and the desk race for one slot --------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="races the exclusion constraints of PostgreSQL"
)
def test_a_patients_hold_and_the_desk_cannot_both_take_one_slot():
    location = LocationFactory(name="Race clinic", online_booking=True)
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])
    works_every_day(doctor, location)
    consultation = AppointmentTypeFactory(kind="consultation", needs_room=False)
    patient = PatientFactory()
    start = at(next_weekday(2), 10)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def attempt(who: str) -> None:
        barrier.wait()
        try:
            if who == "patient":
                booking.hold_slot(
                    location=location,
                    appointment_type=consultation,
                    practitioner=doctor,
                    starts_at=start,
                    actor=PATIENT,
                )
            else:
                book_appointment(
                    patient=patient,
                    practitioner=doctor,
                    location=location,
                    appointment_type=consultation,
                    starts_at=start,
                    actor=Actor.system(),
                )
            outcomes[who] = "won"
        except SlotUnavailable:
            outcomes[who] = "taken"
        except Exception as error:  # an unexpected failure must fail the test, not vanish
            outcomes[who] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(who,)) for who in ("patient", "desk")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["taken", "won"], outcomes
    standing = Appointment.objects.filter(starts_at=start).exclude(
        status__in=["cancelled", "no_show"]
    )
    assert standing.count() == 1
