from datetime import date

from django.urls import reverse
from playwright.sync_api import expect

from clinic.actors import Actor
from consultations import services
from consultations.models import Screening
from consultations.screening.rules import BODY_IMAGE_QUESTIONS
from tests.factories import TEST_PASSWORD, PatientFactory
from tests.recipes import sign_in_page


def test_a_practitioner_assesses_screens_decides_and_prints(page, practitioner_user):
    patient = PatientFactory(first_name="Edith", last_name="Head", date_of_birth=date(1982, 6, 9))
    services.submit_medical_history(
        patient=patient,
        answers={"anticoagulants": True, "anticoagulant_details": "Rivaroxaban 20 mg"},
        actor=Actor.system(user=practitioner_user),
    )
    # Opened as the chart's "Start a consultation" button does (posting to consultation_start).
    consultation = services.start_consultation(
        patient=patient,
        practitioner=practitioner_user.staff,
        actor=Actor.system(user=practitioner_user),
    )

    sign_in_page(page, "doctor", TEST_PASSWORD)
    page.goto(reverse("consultations:consultation_detail", args=[consultation.pk]))
    expect(page.get_by_role("heading", name="Consultation", exact=True)).to_be_visible()
    # The history's flags are in view while assessing.
    expect(page.get_by_test_id("history-flags")).to_contain_text("Blood thinners: Rivaroxaban")

    jawline = page.get_by_role("group", name="Jawline / jowl")
    jawline.get_by_label("Concern").fill("Heavy jowls")
    jawline.get_by_label("Goal").fill("A cleaner jawline")
    jawline.get_by_label("Laxity").select_option(label="2: moderate")
    page.get_by_label("Fitzpatrick skin type").select_option("3")
    page.get_by_label("Glogau photo-ageing type").select_option("2")
    page.get_by_role("button", name="Save the assessment").click()
    expect(page.get_by_role("status")).to_contain_text("Assessment saved.")
    expect(jawline.get_by_label("Concern")).to_have_value("Heavy jowls")

    page.get_by_role("link", name="Run the screening").click()
    for _key, question, kind in BODY_IMAGE_QUESTIONS:
        answer = "No" if kind == "yesno" else "1: Not at all"
        page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    page.get_by_role("button", name="Run the screening").click()

    expect(page.get_by_test_id("outcome")).to_have_text("Outcome: Suitable with precautions")
    expect(page.get_by_test_id("findings-relative")).to_contain_text(
        "Do not stop anticoagulants without the prescriber's advice"
    )
    expect(page.get_by_test_id("planning-gate")).to_contain_text("no decision yet")

    page.get_by_label("Accept the outcome").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_test_id("decision")).to_contain_text("Outcome accepted by")
    expect(page.get_by_test_id("planning-gate")).to_contain_text("Screening allows planning.")
    assert Screening.objects.get(patient=patient).decision == "accepted"

    summary_url = page.get_by_role("link", name="Print the summary (PDF)").get_attribute("href")
    response = page.request.get(summary_url)
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
