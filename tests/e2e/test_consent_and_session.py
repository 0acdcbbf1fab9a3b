import re

import pytest
from playwright.sync_api import expect

from tests.clock import arrive_for
from tests.factories import TEST_PASSWORD
from tests.recipes import (
    accept,
    build_clinic,
    sign_in_page,
)
from treatments.models import PlacedThreads, SignedConsent, StockLot, TreatmentSession
from treatments.services import consent as consent_services
from treatments.session_forms import lot_label


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def draw_signature(page, pad) -> None:
    """Sign like a hand would: press, move through a few points inside the pad, release."""
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + box["width"] * x, box["y"] + box["height"] * y

    for stroke in [
        [(0.10, 0.70), (0.20, 0.25), (0.30, 0.75), (0.40, 0.30), (0.50, 0.70)],
        [(0.55, 0.40), (0.65, 0.75), (0.75, 0.30), (0.90, 0.65)],
    ]:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(*point), steps=8)
        page.mouse.up()


def test_a_practitioner_takes_consent_then_records_the_session(page, clinic):
    plan = accept(clinic)
    lot = clinic["lot"]
    csp_errors = []
    page.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    sign_in_page(page, "doctor", TEST_PASSWORD)
    page.goto(f"/plans/{plan.pk}/consent/")
    # The tablet shows the consent alone: no way into the rest of the records.
    expect(page.get_by_text("Threadline · Consent")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main navigation")).to_have_count(0)
    expect(page.get_by_test_id("consent-text")).to_contain_text(
        "I, Marguerite Duras, agree to Thread lift with absorbable threads"
    )
    expect(page.get_by_test_id("vectors").get_by_role("row")).to_have_count(3)

    # Submitting unsigned is refused and nothing is stored.
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_test_id("errors")).to_contain_text("signature is empty")
    assert SignedConsent.objects.count() == 0

    risks = page.locator('input[name="risks"]')
    expect(risks).to_have_count(len(clinic["template"].risks))
    for number in range(risks.count()):
        risks.nth(number).check()
    for question, answer in [
        ("Photos for my clinical record", "Yes"),
        ("Photos for teaching", "No"),
        ("Photos in the clinic's marketing", "No"),
    ]:
        page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label(
            answer, exact=True
        ).check()

    draw_signature(page, page.get_by_test_id("patient_signature-pad"))
    expect(page.locator("#patient_signature-status")).to_have_text(re.compile("^Signed"))
    # A false start: clear and sign again.
    page.get_by_role("button", name="Clear the practitioner's countersignature").click()
    draw_signature(page, page.get_by_test_id("practitioner_signature-pad"))
    page.get_by_role("button", name="Clear the practitioner's countersignature").click()
    expect(page.locator("#practitioner_signature-status")).to_have_text("Not signed yet.")
    draw_signature(page, page.get_by_test_id("practitioner_signature-pad"))
    page.get_by_role("button", name="Sign the consent").click()

    expect(page.get_by_test_id("fingerprint-status")).to_contain_text("Fingerprint verified")
    consent = SignedConsent.objects.get()
    assert consent.photo_consents == {"clinical": True, "teaching": False, "marketing": False}
    assert consent.rendered_text == consent_services.fill_consent_text(clinic["template"], plan)
    assert consent.user_agent  # the device is recorded
    expect(page.get_by_test_id("fingerprint")).to_have_text(consent.fingerprint)
    expect(page.get_by_test_id("patient-signature")).to_be_visible()
    expect(page.get_by_test_id("practitioner-signature")).to_be_visible()

    # The day of the treatment: the appointment's time has come, the practitioner signs in.
    arrive_for(clinic["appointment"])
    sign_in_page(page, "doctor", TEST_PASSWORD)
    page.goto(f"/consents/{consent.pk}/")
    # The treatment appointment is listed under the consent: its treatment-day check.
    page.get_by_test_id("start-session").get_by_role(
        "link", name=re.compile("Treatment-day check")
    ).click()
    expect(page.get_by_role("heading", name="Treatment-day check")).to_be_visible()
    expect(page.get_by_test_id("identity")).to_contain_text("Marguerite Duras, born")
    expect(page.get_by_test_id("findings")).to_contain_text("No findings.")
    # Submitted with nothing confirmed: refused, every missing confirmation named.
    page.get_by_role("button", name="Record the check and start the session").click()
    expect(page.get_by_test_id("errors")).to_contain_text("Confirm the patient's identity")
    expect(page.get_by_test_id("errors")).to_contain_text("Name the lots to be used.")
    assert not TreatmentSession.objects.exists()
    page.get_by_label("The patient read back their name and date of birth").check()
    page.get_by_label("Allergies confirmed with the patient").check()
    page.get_by_label("The patient confirms this medical history is current").check()
    page.get_by_label("The patient refused baseline photos: their reason").fill("Camera-shy")
    page.get_by_label(re.compile("LOT-A")).check()
    page.get_by_role("button", name="Record the check and start the session").click()

    expect(page.get_by_role("heading", name="Treatment session")).to_be_visible()
    expect(page.get_by_test_id("checked-by")).to_contain_text("Checked")
    check = TreatmentSession.objects.get().safety_check
    assert check.checked_by == clinic["user"] and check.photo_refusal_reason == "Camera-shy"
    rows = page.get_by_test_id("placement-row")
    expect(rows).to_have_count(2)
    for number in range(2):
        row = rows.nth(number)
        expect(row.get_by_label("Lot")).to_have_value(str(lot.pk))
        expect(row.get_by_label("Threads placed")).to_have_value("2")
    rows.nth(1).get_by_label("Lot").select_option(label=lot_label(lot))
    page.get_by_label("Anaesthesia", exact=True).select_option(label="Local infiltration")
    page.get_by_label("Anaesthetic agent").fill("Lidocaine 1% with adrenaline")
    page.get_by_label("Concentration (% w/v)").fill("1")
    page.get_by_label("Volume (mL)").fill("4.5")
    page.get_by_label("With adrenaline").select_option(label="Yes")
    page.get_by_label("Patient's weight (kg)").fill("64")
    page.get_by_label("Immediate outcome").fill("Good lift, symmetrical")
    page.get_by_role("button", name="Complete the session").click()

    expect(page.get_by_role("status")).to_contain_text("Session completed")
    expect(page.get_by_test_id("locked")).to_contain_text("The record is locked")
    expect(page.get_by_test_id("placed")).to_contain_text("LOT-A")
    expect(page.get_by_test_id("reviews").get_by_role("listitem")).to_have_count(3)
    assert TreatmentSession.objects.get().is_locked
    assert PlacedThreads.objects.count() == 2
    assert StockLot.objects.get(pk=lot.pk).quantity_on_hand == 6

    # A correction afterwards is an addendum.
    page.get_by_label("Add an addendum").fill("Patient tolerated the procedure well.")
    page.get_by_role("button", name="Add the addendum").click()
    expect(page.get_by_test_id("addenda")).to_contain_text("Patient tolerated the procedure well.")

    print_link = page.get_by_role("link", name="Print aftercare (PDF)")
    expect(print_link).to_be_visible()
    response = page.request.get(print_link.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    assert not csp_errors, csp_errors


def ink_on(page, test_id: str) -> int:
    """How many pixels of the pad's canvas carry ink."""
    return page.get_by_test_id(test_id).evaluate(
        """canvas => {
            const context = canvas.getContext("2d");
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 3; i < data.length; i += 4) { inked += data[i] > 0 ? 1 : 0; }
            return inked;
        }"""
    )


def test_a_refused_signature_keeps_the_other_one_drawn_on_the_pad(page, clinic):
    plan = accept(clinic)
    sign_in_page(page, "doctor", TEST_PASSWORD)
    page.goto(f"/plans/{plan.pk}/consent/")
    risks = page.locator('input[name="risks"]')
    for number in range(risks.count()):
        risks.nth(number).check()
    for use in ["clinical", "teaching", "marketing"]:
        page.locator(f"#photo-{use}-no").check()
    # The practitioner countersigns; the patient has not signed yet.
    draw_signature(page, page.get_by_test_id("practitioner_signature-pad"))
    page.get_by_role("button", name="Sign the consent").click()

    expect(page.get_by_test_id("errors")).to_contain_text("The patient's signature is empty")
    assert SignedConsent.objects.count() == 0
    # The countersignature is drawn back on its pad, ready to send again; the patient's is empty.
    expect(page.get_by_test_id("practitioner_signature-pad")).to_have_attribute(
        "data-signature-drawn-back", ""
    )
    assert ink_on(page, "practitioner_signature-pad") > 500
    assert ink_on(page, "patient_signature-pad") == 0
    expect(page.locator("#practitioner_signature-status")).to_have_text(
        re.compile("^Signed .*kept")
    )
    expect(page.locator("#patient_signature-status")).to_have_text("Not signed yet.")
    expect(page.locator("#patient_signature-error")).to_contain_text("signature is empty")

    draw_signature(page, page.get_by_test_id("patient_signature-pad"))
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_test_id("fingerprint-status")).to_contain_text("Fingerprint verified")
    assert SignedConsent.objects.count() == 1


def test_a_kept_signature_can_be_cleared_and_signed_again(page, clinic):
    plan = accept(clinic)
    sign_in_page(page, "doctor", TEST_PASSWORD)
    page.goto(f"/plans/{plan.pk}/consent/")
    draw_signature(page, page.get_by_test_id("patient_signature-pad"))
    page.get_by_role("button", name="Sign the consent").click()
    expect(page.get_by_test_id("errors")).to_contain_text("practitioner's signature is empty")
    expect(page.get_by_test_id("patient_signature-pad")).to_have_attribute(
        "data-signature-drawn-back", ""
    )
    page.get_by_role("button", name="Clear the patient's signature").click()
    assert ink_on(page, "patient_signature-pad") == 0
    expect(page.locator("#patient_signature-status")).to_have_text("Not signed yet.")
    assert page.locator('input[name="patient_signature"]').input_value() == ""
