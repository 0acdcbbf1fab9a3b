import re

from playwright.sync_api import expect

from clinic.actors import Actor
from consultations.booking import services as booking
from consultations.models import Appointment
from tests.factories import TEST_PASSWORD, PatientFactory
from tests.recipes import appointment_type, at, local_day, practitioner_at, sign_in_page


def open_calendar(page):
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Calendar", exact=True
    ).click()


def test_front_desk_books_a_free_slot_then_is_shown_the_conflict_and_the_next_free_slots(
    page, frontdesk_user, location
):
    okafor = practitioner_at(location, "Ada", "Okafor")  # every day 09:00–17:00
    appointment_type("Consultation", minutes=30)
    iris = PatientFactory(first_name="Iris", last_name="Murdoch")
    june = PatientFactory(first_name="June", last_name="Carter")
    tomorrow = local_day(location, 1)

    sign_in_page(page, "desk", TEST_PASSWORD)
    open_calendar(page)
    page.get_by_role("link", name="Next day").click()
    expect(page.get_by_test_id("calendar-date")).to_contain_text(
        f"{tomorrow:%A} {tomorrow.day} {tomorrow:%B}"
    )
    expect(page).to_have_url(re.compile(rf"date={tomorrow.isoformat()}"))

    page.get_by_role("link", name="Book with Ada Okafor at 10:00").click()
    expect(page.get_by_label("Date and time")).to_have_value(f"{tomorrow.isoformat()}T10:00")
    expect(page.get_by_label("Practitioner")).to_have_value(str(okafor.pk))
    # A colleague opens the same free slot at the same moment.
    colleague = page.context.new_page()
    colleague.goto(page.url)

    page.get_by_label("Patient record number").fill(iris.record_number)
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(
        "Booked Consultation for Iris Murdoch with Ada Okafor"
    )
    booked = page.get_by_test_id("appointment").filter(has_text="Iris Murdoch")
    expect(booked).to_contain_text("10:00–10:30")
    expect(page.get_by_role("link", name="Book with Ada Okafor at 10:00")).to_have_count(0)

    colleague.get_by_label("Patient record number").fill(june.record_number)
    colleague.get_by_role("button", name="Book", exact=True).click()

    expect(colleague.get_by_test_id("booking-conflict")).to_contain_text(
        "Ada Okafor is already booked at that time."
    )
    next_slots = colleague.get_by_test_id("next-free-slots").get_by_role("button")
    expect(next_slots).to_have_count(5)
    expect(next_slots.first).to_contain_text("10:30 with Ada Okafor")
    assert Appointment.objects.count() == 1

    # One click on the first free slot books June there.
    next_slots.first.click()
    expect(colleague.get_by_role("status")).to_contain_text("Booked Consultation for June Carter")
    expect(colleague.get_by_test_id("appointment")).to_have_count(2)
    expect(colleague.get_by_test_id("appointment").filter(has_text="June Carter")).to_contain_text(
        "10:30–11:00"
    )


def test_front_desk_drags_an_appointment_to_a_free_time_and_onto_a_taken_one(
    page, frontdesk_user, location
):
    okafor = practitioner_at(location, "Ada", "Okafor")
    kind = appointment_type("Consultation", minutes=30)
    tomorrow = local_day(location, 1)
    iris = booking.book_appointment(
        patient=PatientFactory(first_name="Iris", last_name="Murdoch"),
        practitioner=okafor,
        location=location,
        appointment_type=kind,
        starts_at=at(location, tomorrow, 10),
        actor=Actor.system(),
    )
    booking.book_appointment(
        patient=PatientFactory(first_name="June", last_name="Carter"),
        practitioner=okafor,
        location=location,
        appointment_type=kind,
        starts_at=at(location, tomorrow, 13),
        actor=Actor.system(),
    )

    sign_in_page(page, "desk", TEST_PASSWORD)
    page.goto(f"/calendar/?date={tomorrow.isoformat()}")
    appointment = page.get_by_test_id("appointment").filter(has_text="Iris Murdoch")
    appointment.drag_to(page.get_by_role("link", name="Book with Ada Okafor at 11:00"))

    feedback = page.get_by_test_id("calendar-feedback")
    expect(feedback).to_contain_text("Moved Iris Murdoch's Consultation to")
    expect(appointment).to_contain_text("11:00–11:30")
    iris.refresh_from_db()
    assert iris.starts_at == at(location, tomorrow, 11)

    # Onto June's time: refused with the next free slots, one of which moves it.
    june = page.get_by_test_id("appointment").filter(has_text="June Carter")
    page.get_by_test_id("appointment").filter(has_text="Iris Murdoch").drag_to(june)
    expect(feedback.get_by_role("alert")).to_contain_text(
        "Ada Okafor is already booked at that time."
    )
    feedback.get_by_role("button", name=re.compile(r"Move to .* 13:30 with Ada Okafor")).click()
    expect(feedback).to_contain_text("Moved Iris Murdoch's Consultation to")
    expect(page.get_by_test_id("appointment").filter(has_text="Iris Murdoch")).to_contain_text(
        "13:30–14:00"
    )
