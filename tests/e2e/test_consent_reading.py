import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from clinic.actors import Actor
from tests.e2e.test_pages_fit_and_are_accessible import fits_and_passes_axe
from tests.factories import TEST_PASSWORD
from tests.recipes import build_clinic, sign_in_page
from treatments.models import ConsentReading
from treatments.services import plans as plan_services


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    clinic = build_clinic(location, practitioner_user)
    patient = clinic["patient"]
    patient.email = "marguerite@mail.example"
    patient.contact_by_email = True
    patient.save()
    clinic["plan"] = plan_services.set_plan_status(
        plan=clinic["plan"], status="proposed", actor=Actor.system(user=practitioner_user)
    )
    return clinic


def test_the_patient_reads_the_consent_on_a_phone_and_the_practitioner_sees_it(page, phone, clinic):
    plan = clinic["plan"]
    sign_in_page(page, "doctor", TEST_PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("button", name="Send the consent to read at home").click()
    expect(page.get_by_text("is on its way to Marguerite")).to_be_visible()
    link = re.search(r"https?://[^/\s]+(/p/[A-Za-z0-9_-]{43}/)", mail.outbox[-1].body)
    assert link

    csp_errors = []
    patient = phone
    patient.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    patient.goto(link.group(1))
    expect(patient.get_by_role("heading", name="Hello Marguerite")).to_be_visible()
    expect(patient.get_by_test_id("consent-text")).to_contain_text(
        "I, Marguerite, agree to Thread lift with absorbable threads"
    )
    expect(patient.get_by_test_id("not-signing")).to_contain_text("You do not sign")
    # Readable on the phone: nothing wider than the screen, nothing axe finds.
    assert fits_and_passes_axe(patient) == []

    button = patient.get_by_role("button", name="I have read this to the end")
    button.scroll_into_view_if_needed()
    button.click()
    expect(patient.get_by_test_id("read-confirmed")).to_contain_text(
        "you have read this to the end"
    )
    assert not csp_errors
    assert ConsentReading.objects.get().read_to_end_at is not None

    page.goto(f"/plans/{plan.pk}/")
    expect(page.get_by_test_id("consent-reading-status")).to_contain_text(
        re.compile(r"opened .*; read to the end ")
    )
