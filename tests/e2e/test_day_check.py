"""The treatment-day check in a browser: a history changed on the day blocks the start."""

import pytest
from playwright.sync_api import expect

from tests.clock import arrive_for
from tests.factories import TEST_PASSWORD
from tests.recipes import accept, build_clinic, sign, sign_in_page
from treatments.models import TreatmentSession


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    clinic = build_clinic(location, practitioner_user)
    accept(clinic)
    sign(clinic)
    return clinic


def test_a_history_updated_to_pregnant_at_the_chair_blocks_the_start_with_the_rules_advice(
    page, clinic
):
    # The live server is up before the clock moves (a cold browser may take a while).
    page.goto("/accounts/login/", timeout=60_000)
    arrive_for(clinic["appointment"])
    sign_in_page(page, "doctor", TEST_PASSWORD)
    page.goto(f"/appointments/{clinic['appointment'].pk}/")
    page.get_by_role("link", name="Treatment-day check").click()
    expect(page.get_by_role("heading", name="Treatment-day check")).to_be_visible()
    expect(page.get_by_test_id("blocking")).to_have_count(0)

    # The patient says she is pregnant: the history is taken again on the spot.
    page.get_by_test_id("update-history").click()
    page.get_by_label("Pregnant or trying to conceive").check()
    page.get_by_role("button", name="Submit my answers").click()

    # Back at the check, the rules ran again on the new version.
    expect(page.get_by_role("heading", name="Treatment-day check")).to_be_visible()
    expect(page.get_by_test_id("history")).to_contain_text("Version 2")
    blocking = page.get_by_test_id("blocking")
    expect(blocking).to_contain_text("Not today. Pregnant or breastfeeding")
    expect(blocking).to_contain_text(
        "Do not treat now; offer a new consultation after pregnancy and breastfeeding."
    )

    # Everything else confirmed, the start is still refused with the rule's advice.
    page.get_by_label("The patient read back their name and date of birth").check()
    page.get_by_label("Allergies confirmed with the patient").check()
    page.get_by_label("The patient confirms this medical history is current").check()
    page.get_by_label("The patient refused baseline photos: their reason").fill("Camera-shy")
    page.get_by_label("PDO Cog 19G 100: LOT-A", exact=False).check()
    page.get_by_role("button", name="Record the check and start the session").click()
    errors = page.get_by_test_id("errors")
    expect(errors).to_contain_text("The session was not started")
    expect(errors).to_contain_text(
        "Do not treat now; offer a new consultation after pregnancy and breastfeeding."
    )
    assert not TreatmentSession.objects.exists()
