import re

from playwright.sync_api import expect

from clinic.actors import Actor
from consultations.booking import services as booking
from consultations.models import Appointment
from tests.clock import arrive_for
from tests.factories import TEST_PASSWORD, PatientFactory
from tests.recipes import (
    appointment_type,
    at,
    local_day,
    main_navigation,
    practitioner_at,
    sign_in_page,
)


def test_front_desk_records_a_no_show_after_the_start_then_undoes_it_with_a_reason(
    page, frontdesk_user, location
):
    okafor = practitioner_at(location, "Ada", "Okafor")
    kind = appointment_type("Consultation", minutes=30)
    tomorrow = local_day(location, 1)
    appointment = booking.book_appointment(
        patient=PatientFactory(first_name="Iris", last_name="Murdoch"),
        practitioner=okafor,
        location=location,
        appointment_type=kind,
        starts_at=at(location, tomorrow, 10),
        actor=Actor.system(),
    )
    # Ten o'clock has come and Iris has not.
    arrive_for(appointment)

    sign_in_page(page, "desk", TEST_PASSWORD)
    main_navigation(page).get_by_role("link", name="Today", exact=True).click()
    row = page.get_by_test_id("appointment-row").filter(has_text="Iris Murdoch")
    row.get_by_role("button", name="No-show: Iris Murdoch at 10:00").click()

    expect(row.get_by_test_id("status")).to_have_text("No-show")
    assert Appointment.objects.get().status == "no_show"

    # She walks in after all: the desk takes the no-show back, saying why.
    row.get_by_role("link", name="Undo: Iris Murdoch at 10:00").click()
    undo = page.get_by_test_id("undo-form")
    undo.get_by_role("button", name=re.compile("Undo")).click()  # no reason: refused
    expect(page.get_by_label("Why is it undone?")).to_have_attribute("required", "")
    assert Appointment.objects.get().status == "no_show"
    page.get_by_label("Why is it undone?").fill("Arrived 20 minutes late, stuck in traffic")
    undo.get_by_role("button", name=re.compile("Undo")).click()

    expect(page.get_by_role("status")).to_contain_text("Iris Murdoch: undone, back to booked.")
    expect(page.get_by_test_id("status").first).to_have_text("Booked")
    history = page.get_by_test_id("status-history")
    expect(history).to_contain_text(re.compile("no-show", re.IGNORECASE))
    expect(history).to_contain_text("Arrived 20 minutes late, stuck in traffic")
    assert Appointment.objects.get().status == "booked"

    # Back on the day's list she can be checked in again.
    page.goto("/appointments/today/")
    row = page.get_by_test_id("appointment-row").filter(has_text="Iris Murdoch")
    expect(row.get_by_test_id("status")).to_have_text("Booked")
    expect(row.get_by_role("button", name="Check in: Iris Murdoch at 10:00")).to_be_visible()
