from playwright.sync_api import expect

from consultations.models import Patient
from tests.factories import TEST_PASSWORD, PatientFactory
from tests.recipes import main_navigation, sign_in_page


def register(page, first, last, born, phone):
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Date of birth").fill(born)
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Phone", exact=True).fill(phone)
    page.get_by_role("button", name="Register").click()


def test_front_desk_registers_finds_and_is_warned_about_a_second_registration(page, frontdesk_user):
    PatientFactory(first_name="Zara", last_name="Ahmed")
    sign_in_page(page, "desk", TEST_PASSWORD)
    main_navigation(page).get_by_role("link", name="Patients").click()

    register(page, "Zoë", "Ångström", "1980-04-05", "07911 123456")
    expect(page.get_by_test_id("patient-name")).to_have_text("Zoë Ångström")
    record_number = Patient.objects.get(last_name="Ångström").record_number
    expect(page.get_by_role("status")).to_contain_text(
        f"Registered Zoë Ångström as {record_number}."
    )

    # Results as you type, without pressing Enter, accents ignored.
    main_navigation(page).get_by_role("link", name="Patients").click()
    page.get_by_label("Find a patient").press_sequentially("zoe ang", delay=40)
    results = page.get_by_test_id("patient-results")
    expect(results.get_by_role("link", name="Zoë Ångström")).to_be_visible()
    expect(results.get_by_role("link", name="Zara Ahmed")).to_have_count(0)

    # Same person again: warned, nothing saved until confirmed.
    register(page, "Zoe", "Angstrom", "1980-04-05", "+44 7911 123456")
    warning = page.get_by_test_id("possible-duplicates")
    expect(warning).to_contain_text("This may be someone already registered")
    expect(warning.get_by_role("link", name="Zoë Ångström")).to_be_visible()
    assert Patient.objects.filter(date_of_birth="1980-04-05").count() == 1
