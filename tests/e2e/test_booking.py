import re

from playwright.sync_api import expect

from clinic.actors import Actor
from consultations.booking import services as booking
from consultations.models import Appointment
from tests.factories import TEST_PASSWORD, PatientFactory
from tests.recipes import (
    appointment_type,
    at,
    local_day,
    main_navigation,
    practitioner_at,
    sign_in_page,
)


def open_calendar(page):
    main_navigation(page).get_by_role("link", name="Calendar", exact=True).click()


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

    page.get_by_role("combobox", name="Patient").fill(iris.record_number)
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(
        "Booked Consultation for Iris Murdoch with Ada Okafor"
    )
    booked = page.get_by_test_id("appointment").filter(has_text="Iris Murdoch")
    expect(booked).to_contain_text("10:00–10:30")
    expect(page.get_by_role("link", name="Book with Ada Okafor at 10:00")).to_have_count(0)

    colleague.get_by_role("combobox", name="Patient").fill(june.record_number)
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


def test_front_desk_books_by_name_choosing_the_patient_with_the_keyboard(
    page, frontdesk_user, location
):
    practitioner_at(location, "Ada", "Okafor")
    appointment_type("Consultation", minutes=30)
    PatientFactory(first_name="Irene", last_name="Murdock", phone="+447911000111")
    iris = PatientFactory(first_name="Iris", last_name="Murdoch", phone="+447911000222")
    tomorrow = local_day(location, 1)

    sign_in_page(page, "desk", TEST_PASSWORD)
    page.goto(f"/calendar/?date={tomorrow.isoformat()}")
    page.get_by_role("link", name="Book with Ada Okafor at 11:00").click()

    box = page.get_by_role("combobox", name="Patient")
    box.press_sequentially("mur")
    matches = page.get_by_role("listbox", name="Matching patients").get_by_role("option")
    expect(matches).to_have_count(2)
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("patient-picker-status")).to_contain_text("2 patients match.")

    # Down to Iris (whichever row she is on), checking the active option as it moves.
    row = next(i for i in range(2) if "Iris Murdoch" in matches.nth(i).inner_text())
    for _ in range(row + 1):
        box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", f"patient-option-{iris.pk}")
    expect(matches.nth(row)).to_have_attribute("aria-selected", "true")
    expect(matches.nth(row)).to_contain_text("phone ending 222")
    box.press("Enter")

    expect(box).to_have_value(f"Iris Murdoch ({iris.record_number})")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("listbox", name="Matching patients")).to_be_hidden()
    assert Appointment.objects.count() == 0  # Enter chose the patient; it did not book
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(
        "Booked Consultation for Iris Murdoch with Ada Okafor"
    )
    booked = page.get_by_test_id("appointment").filter(has_text="Iris Murdoch")
    expect(booked).to_contain_text("11:00–11:30")
    assert Appointment.objects.get().patient == iris


def test_escape_closes_the_matches_and_bad_input_gets_a_clear_message(
    page, frontdesk_user, location
):
    practitioner_at(location, "Ada", "Okafor")
    appointment_type("Consultation", minutes=30)
    PatientFactory(first_name="Iris", last_name="Murdoch")

    sign_in_page(page, "desk", TEST_PASSWORD)
    page.goto("/appointments/new/")
    box = page.get_by_role("combobox", name="Patient")
    status = page.get_by_test_id("patient-picker-status")
    matches = page.get_by_role("listbox", name="Matching patients").get_by_role("option")

    box.press_sequentially("murd")
    expect(matches).to_have_count(1)
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("listbox", name="Matching patients")).to_be_hidden()

    for typed, message in (
        ("<script>alert(1)</script>", "No patient matches."),
        ("%_", "Type at least two letters or digits"),
        ("mur%h", "No patient matches."),
        ("mu_doch", "No patient matches."),
        ("Murdoch" + "x" * 293, "Type at most 100 characters to find a patient."),
    ):
        box.fill(typed)
        expect(status).to_contain_text(message)
        expect(matches).to_have_count(0)

    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_test_id("booking-errors")).to_be_visible()
    assert Appointment.objects.count() == 0


def test_front_desk_registers_a_new_patient_from_the_booking_form_and_keeps_the_slot(
    page, frontdesk_user, location
):
    practitioner_at(location, "Ada", "Okafor")
    appointment_type("Consultation", minutes=30)
    tomorrow = local_day(location, 1)

    sign_in_page(page, "desk", TEST_PASSWORD)
    page.goto(f"/calendar/?date={tomorrow.isoformat()}")
    page.get_by_role("link", name="Book with Ada Okafor at 14:00").click()
    page.get_by_role("link", name="Register a new patient").click()

    expect(page.get_by_test_id("booking-slot")).to_contain_text("for Ada Okafor")
    page.get_by_label("First name").fill("Vita")
    page.get_by_label("Last name").fill("Sackville")
    page.get_by_label("Date of birth").fill("1982-03-09")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Email", exact=True).fill("vita@mail.example")
    page.get_by_role("button", name="Register").click()

    box = page.get_by_role("combobox", name="Patient")
    expect(box).to_have_value(re.compile(r"^Vita Sackville \(TL\d+\)$"))
    expect(page.get_by_label("Date and time")).to_have_value(f"{tomorrow.isoformat()}T14:00")
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Booked Consultation for Vita Sackville")
    assert Appointment.objects.get().patient.last_name == "Sackville"


def test_without_javascript_the_record_number_still_books(
    browser, live_server, frontdesk_user, location
):
    practitioner_at(location, "Ada", "Okafor")
    appointment_type("Consultation", minutes=30)
    iris = PatientFactory(first_name="Iris", last_name="Murdoch")
    tomorrow = local_day(location, 1)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 800, "height": 1200}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in_page(page, "desk", TEST_PASSWORD)
        page.goto(f"/calendar/?date={tomorrow.isoformat()}")
        page.get_by_role("link", name="Book with Ada Okafor at 09:30").click()
        page.get_by_role("textbox", name="Patient").fill(iris.record_number)
        page.get_by_role("button", name="Book", exact=True).click()

        expect(page.get_by_role("status")).to_contain_text("Booked Consultation for Iris Murdoch")
        assert Appointment.objects.get().patient == iris
    finally:
        context.close()
