"""A patient answers the medical history from a link on their phone (390x844)."""

from django.urls import reverse
from playwright.sync_api import expect

from clinic.actors import Actor
from consultations import patient_links
from consultations.models import LinkPurpose
from tests.e2e.test_pages_fit_and_are_accessible import fits_and_passes_axe
from tests.factories import TEST_PASSWORD, PatientFactory
from tests.recipes import sign_in_page


def test_a_patient_answers_the_history_on_a_phone_and_the_practitioner_reviews_it(
    phone, page, location, frontdesk_user, practitioner_user
):
    patient = PatientFactory(first_name="Maren", last_name="Oyelaran-Quist")
    issued = patient_links.issue_link(
        patient=patient,
        purpose=LinkPurpose.MEDICAL_HISTORY,
        location=location,
        actor=Actor(user=frontdesk_user),
    )
    form = phone

    form.goto(reverse("consultations:patient_link", args=[issued.token]))
    expect(form.get_by_role("heading", name="Your medical history")).to_be_visible()
    expect(form.get_by_text("Hello Maren.")).to_be_visible()
    expect(form.get_by_text("Oyelaran-Quist")).to_have_count(0)
    # Nothing wider than the phone's screen.
    assert fits_and_passes_axe(form) == []

    # Part of it, saved as it is typed; the tab reloaded: the answers are back.
    form.get_by_label("Takes aspirin, including a daily low dose").check()
    form.get_by_label("Notes").fill("Half-way through")
    form.get_by_label("Notes").blur()
    expect(form.get_by_text("Your answers so far are saved.")).to_be_visible()
    form.reload()
    expect(form.get_by_label("Takes aspirin, including a daily low dose")).to_be_checked()
    expect(form.get_by_label("Notes")).to_have_value("Half-way through")

    form.get_by_label("Notes").fill("Finished on my phone")
    form.get_by_role("button", name="Send my answers to the clinic").click()
    expect(form.get_by_test_id("form-sent")).to_have_text("Thank you, Maren")

    sign_in_page(page, "doctor", TEST_PASSWORD)
    to_review = page.get_by_test_id("histories-to-review")
    to_review.get_by_role("link", name="Maren Oyelaran-Quist, medical history version 1").click()
    expect(page.get_by_test_id("history-review")).to_contain_text(
        "Submitted by the patient from a link on"
    )
    expect(page.get_by_test_id("history-review")).to_contain_text("to review")
    expect(page.get_by_role("cell", name="Finished on my phone")).to_be_visible()
    page.get_by_role("button", name="Mark as reviewed").click()
    expect(page.get_by_role("status")).to_contain_text("marked reviewed")
    expect(page.get_by_test_id("history-review")).to_contain_text("reviewed")
