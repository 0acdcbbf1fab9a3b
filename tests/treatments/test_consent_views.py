"""The consent pages: signing on the tablet, reading a signed consent, withdrawal."""

import re

import pytest
from django.urls import get_resolver, reverse
from PIL import Image

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from tests import recipes
from tests.factories import (
    LocationFactory,
    PatientFactory,
    StaffMemberFactory,
    ThreadProductFactory,
)
from tests.recipes import (
    accept,
    blank_png,
    build_clinic,
    consent_form,
    data_url,
    image_bytes,
    screened_plan,
    sign,
    signature_png,
    start,
)
from treatments.models import (
    DEFAULT_RISKS,
    ConsentTemplate,
    ConsentWithdrawal,
    SignedConsent,
    TreatmentSession,
)
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def sign_url(plan):
    return reverse("treatments:consent_sign", args=[plan.pk])


def detail_url(consent):
    return reverse("treatments:consent_detail", args=[consent.pk])


def withdraw_url(consent):
    return reverse("treatments:consent_withdraw", args=[consent.pk])


def page_text(response) -> str:
    return response.content.decode()


# Who may do what ------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_is_stored(client, clinic):
    plan = accept(clinic)
    consent = sign(clinic, plan)
    for response in [
        client.get(sign_url(plan)),
        client.post(sign_url(plan), consent_form(clinic)),
        client.get(detail_url(consent)),
        client.post(withdraw_url(consent), {"reason": "Changed her mind"}),
    ]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert SignedConsent.objects.count() == 1
    assert not ConsentWithdrawal.objects.exists()


def test_the_front_desk_is_refused_and_sees_no_patient_data(client, clinic, frontdesk_user):
    plan = accept(clinic)
    consent = sign(clinic, plan)
    client.force_login(frontdesk_user)
    for response in [
        client.get(sign_url(plan)),
        client.post(sign_url(plan), consent_form(clinic)),
        client.get(detail_url(consent)),
        client.post(withdraw_url(consent), {"reason": "Changed her mind"}),
    ]:
        assert response.status_code == 403
        assert "Duras" not in page_text(response)
        assert "agree to" not in page_text(response)
    assert SignedConsent.objects.count() == 1
    assert not ConsentWithdrawal.objects.exists()


def test_a_manager_reads_a_signed_consent_but_cannot_sign_or_withdraw(client, clinic, manager_user):
    plan = accept(clinic)
    consent = sign(clinic, plan)
    client.force_login(manager_user)
    response = client.get(detail_url(consent))
    assert response.status_code == 200
    assert consent.rendered_text in page_text(response)
    assert "Record the withdrawal" not in page_text(response)
    assert client.get(sign_url(plan)).status_code == 403
    assert client.post(sign_url(plan), consent_form(clinic)).status_code == 403
    assert client.post(withdraw_url(consent), {"reason": "x"}).status_code == 403
    assert SignedConsent.objects.count() == 1
    assert not ConsentWithdrawal.objects.exists()


# Signing ------------------------------------------------------------------------


def test_the_signing_page_shows_the_plan_the_filled_in_text_risks_and_two_pads_without_navigation(
    client, clinic
):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    response = client.get(sign_url(plan))
    assert response.status_code == 200
    html = page_text(response)
    assert "Threadline · Consent" in html
    assert 'aria-label="Main navigation"' not in html  # the tablet shows no way into the records
    assert "I, Marguerite Duras, agree to Thread lift with absorbable threads" in html
    assert html.count('name="risks"') == len(clinic["template"].risks)
    assert "Facial-nerve or parotid-gland injury" in html
    assert "No treatment; fillers; energy devices; a surgical facelift." in html
    for use in ["clinical", "teaching", "marketing"]:
        assert f'name="photo_{use}" id="photo-{use}-yes" value="yes" required' in html
    assert html.count("<canvas") == 2
    assert 'name="patient_signature"' in html and 'name="practitioner_signature"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="face-diagram"' in html
    assert html.count("PDO Cog 19G 100") >= 2  # the vector table: one row per vector
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, patient_id=clinic["patient"].pk, object_id=str(plan.pk)
    ).exists()


def test_the_signing_page_keeps_to_the_content_security_policy(client, clinic):
    client.force_login(clinic["user"])
    html = page_text(client.get(sign_url(accept(clinic))))
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), "inline script"
    assert not re.search(r"<style", html), "inline stylesheet"
    assert not re.search(r"\sstyle=", html), "style attribute"
    assert not re.search(r"\son[a-z]+=", html), "event-handler attribute"
    assert "/static/js/signature-pad.js" in html


def test_a_practitioner_signs_with_drawn_signatures_and_the_exact_text_is_stored(client, clinic):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    shown = consent_services.fill_consent_text(clinic["template"], plan)
    response = client.post(
        sign_url(plan),
        consent_form(clinic, photo_teaching="yes"),
        HTTP_USER_AGENT="Tablet browser 1.0",
        REMOTE_ADDR="10.1.2.3",
    )
    consent = SignedConsent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(consent)
    assert consent.rendered_text == shown
    assert consent.risks_initialled == list(clinic["template"].risks)
    assert consent.photo_consents == {"clinical": True, "teaching": True, "marketing": False}
    assert consent.practitioner == clinic["doctor"]
    assert (consent.ip_address, consent.user_agent) == ("10.1.2.3", "Tablet browser 1.0")
    with consent.patient_signature.open("rb") as stored:
        assert Image.open(stored).format == "PNG"
    assert consent_services.verify_consent(consent)

    page = client.get(response["Location"])
    html = page_text(page)
    assert "Fingerprint verified" in html
    assert consent.fingerprint in html
    assert shown in html
    assert html.count('src="data:image/png;base64,') == 2
    assert "Tablet browser 1.0" in html and "10.1.2.3" in html
    assert reverse("treatments:consent_pdf", args=[consent.pk]) in html
    assert "(Europe/London)" in html


def bigger_than_a_megabyte() -> str:
    return data_url(signature_png() + b"\0" * (1024 * 1024 + 16))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"patient_signature": ""}, "The patient&#x27;s signature is empty"),
        ({"patient_signature": None}, "The patient&#x27;s signature is empty"),
        ({"practitioner_signature": data_url(blank_png())}, "signature is blank"),
        (
            {"patient_signature": data_url(image_bytes("JPEG"), "image/jpeg")},
            "The patient&#x27;s signature is empty",
        ),
        (
            {"patient_signature": data_url(image_bytes("GIF"), "image/gif")},
            "The patient&#x27;s signature is empty",
        ),
        ({"patient_signature": "my signature"}, "The patient&#x27;s signature is empty"),
        ({"patient_signature": "data:image/png;base64,%%%not base64"}, "signature is empty"),
        (
            {"patient_signature": data_url(image_bytes("GIF"))},  # labelled PNG, but it is not
            "The patient&#x27;s signature is not a PNG image",
        ),
        ({"patient_signature": bigger_than_a_megabyte()}, "signature is larger than 1 MB"),
        ({"risks": DEFAULT_RISKS[:-1]}, "Initial every risk: A temporary result"),
        ({"photo_marketing": None}, "Answer each photography question"),
        ({"photo_marketing": "maybe"}, "Answer each photography question"),
    ],
)
def test_signing_is_refused_with_a_clear_message_and_nothing_is_saved(
    client, clinic, change, message
):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    response = client.post(sign_url(plan), consent_form(clinic, **change))
    assert response.status_code == 400
    html = page_text(response)
    assert "Nothing was signed" in html
    assert message in html
    assert SignedConsent.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.SIGN).exists()


def test_a_refused_form_keeps_the_ticked_risks_and_photo_answers(client, clinic):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    response = client.post(sign_url(plan), consent_form(clinic, patient_signature=""))
    html = page_text(response)
    assert html.count(" checked>") == len(clinic["template"].risks) + 3


def hidden_value(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def test_a_refused_signature_keeps_the_other_valid_one_on_the_page(client, clinic):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    practitioner = data_url(signature_png(strokes=2))
    response = client.post(
        sign_url(plan),
        consent_form(
            clinic, patient_signature=data_url(blank_png()), practitioner_signature=practitioner
        ),
    )
    assert response.status_code == 400
    html = page_text(response)
    assert "The patient&#x27;s signature is blank" in html
    assert 'id="patient_signature-error"' in html
    assert hidden_value(html, "patient_signature") == ""
    assert hidden_value(html, "practitioner_signature") == practitioner
    assert 'id="practitioner_signature-error"' not in html
    assert SignedConsent.objects.count() == 0


def test_both_signatures_are_kept_when_only_a_risk_was_missed(client, clinic):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    form = consent_form(clinic, risks=DEFAULT_RISKS[:-1])
    html = page_text(client.post(sign_url(plan), form))
    assert hidden_value(html, "patient_signature") == form["patient_signature"]
    assert hidden_value(html, "practitioner_signature") == form["practitioner_signature"]
    assert SignedConsent.objects.count() == 0


@pytest.mark.parametrize(
    "refused",
    [
        data_url(blank_png()),
        data_url(image_bytes("GIF")),
        "data:image/png;base64,%%%not base64",
        "javascript:alert(1)",
    ],
)
def test_a_refused_signature_is_never_carried_back(client, clinic, refused):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    form = consent_form(clinic, patient_signature=refused, practitioner_signature=refused)
    html = page_text(client.post(sign_url(plan), form))
    assert hidden_value(html, "patient_signature") == ""
    assert hidden_value(html, "practitioner_signature") == ""


def test_a_kept_signature_posted_again_signs_the_consent(client, clinic):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    html = page_text(client.post(sign_url(plan), consent_form(clinic, patient_signature="")))
    kept = hidden_value(html, "practitioner_signature")
    response = client.post(sign_url(plan), consent_form(clinic, practitioner_signature=kept))
    assert response.status_code == 302
    assert SignedConsent.objects.count() == 1


def test_a_plan_that_is_not_accepted_cannot_be_signed(client, clinic):
    plan = clinic["plan"]  # still a draft
    client.force_login(clinic["user"])
    page = page_text(client.get(sign_url(plan)))
    assert "Plan version 1 is draft: only an accepted plan can be consented to." in page
    assert "Sign the consent" not in page
    response = client.post(sign_url(plan), consent_form(clinic))
    assert response.status_code == 400
    assert "only an accepted plan can be consented to" in page_text(response)
    assert SignedConsent.objects.count() == 0


def test_without_a_published_consent_form_the_page_asks_for_a_manager(client, clinic):
    plan = accept(clinic)
    ConsentTemplate.objects.update(is_current=False)  # as if none was ever published
    client.force_login(clinic["user"])
    page = page_text(client.get(sign_url(plan)))
    assert "a clinic manager must publish one" in page
    assert "Sign the consent" not in page
    response = client.post(sign_url(plan), consent_form(clinic, template=""))
    assert response.status_code == 400
    assert SignedConsent.objects.count() == 0


def test_wording_published_while_the_patient_reads_is_not_signed_unseen(client, clinic):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    shown = consent_form(clinic)  # the form as the page showed it
    consent_services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="New wording for {patient}.",
        risks=clinic["template"].risks,
        alternatives="No treatment.",
        actor=Actor.system(user=clinic["user"]),
    )
    response = client.post(sign_url(plan), shown)
    assert response.status_code == 400
    assert "This consent form has a newer version." in page_text(response)
    assert "New wording for Marguerite Duras." in page_text(response)  # shown for reading now
    assert SignedConsent.objects.count() == 0


def test_text_that_changed_since_the_page_was_shown_is_refused(client, clinic):
    plan = accept(clinic)
    client.force_login(clinic["user"])
    response = client.post(sign_url(plan), consent_form(clinic, text_sha256="0" * 64))
    assert response.status_code == 400
    assert "The consent text changed while this page was open" in page_text(response)
    assert SignedConsent.objects.count() == 0


@pytest.fixture
def plan_elsewhere(clinic):
    """An accepted, signed plan of another patient at a location the doctor does not work at."""
    elsewhere = LocationFactory(name="Elsewhere")
    other = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere])
    plan = screened_plan(
        patient=PatientFactory(last_name="Otherpatient"),
        doctor=other,
        location=elsewhere,
        product=ThreadProductFactory(name="PCL Mono 27G 50"),
    )
    plan = plan_services.set_plan_status(
        plan=plan, status="accepted", actor=Actor.system(user=other.user)
    )
    consent = consent_services.sign_consent(
        plan=plan,
        template=clinic["template"],
        risks_initialled=list(clinic["template"].risks),
        photo_consents={"clinical": True, "teaching": False, "marketing": False},
        patient_signature=signature_png(),
        practitioner_signature=signature_png(2),
        practitioner=other,
        actor=Actor.system(user=other.user),
    )
    return plan, consent


def test_a_plan_or_consent_at_another_location_is_not_found(client, clinic, plan_elsewhere):
    plan, consent = plan_elsewhere
    client.force_login(clinic["user"])
    form = consent_form(clinic, plan=plan)
    assert client.get(sign_url(plan)).status_code == 404
    assert client.post(sign_url(plan), form).status_code == 404
    assert client.get(detail_url(consent)).status_code == 404
    assert client.post(withdraw_url(consent), {"reason": "x"}).status_code == 404
    assert SignedConsent.objects.count() == 1
    assert not ConsentWithdrawal.objects.exists()


# Immutability ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_no_request_edits_or_deletes_a_signed_consent(client, clinic, method):
    consent = sign(clinic, accept(clinic))
    client.force_login(clinic["user"])
    response = getattr(client, method)(detail_url(consent), {"rendered_text": "Something else"})
    assert response.status_code == 405
    stored = SignedConsent.objects.get(pk=consent.pk)
    assert stored.rendered_text == consent.rendered_text
    assert consent_services.verify_consent(stored)


def test_no_url_edits_or_deletes_a_consent(clinic):
    consent_names = {
        name for name in get_resolver().reverse_dict if isinstance(name, str) and "consent" in name
    }
    for name in consent_names:
        assert "edit" not in name and "delete" not in name and "update" not in name, name


def test_the_admin_has_no_page_to_change_or_delete_a_signed_consent(client, clinic, manager_user):
    consent = sign(clinic, accept(clinic))
    client.force_login(manager_user)
    assert client.get(reverse("admin:index")).status_code == 200  # the manager reaches the admin
    for path in [
        "/admin/treatments/signedconsent/",
        f"/admin/treatments/signedconsent/{consent.pk}/change/",
        f"/admin/treatments/signedconsent/{consent.pk}/delete/",
    ]:
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"post": "yes"}).status_code == 404, path
    assert SignedConsent.objects.filter(pk=consent.pk).exists()


def test_a_reprint_shows_the_same_text_and_fingerprint(client, clinic):
    consent = sign(clinic, accept(clinic))
    client.force_login(clinic["user"])
    first, second = (page_text(client.get(detail_url(consent))) for _ in range(2))
    for html in (first, second):
        assert consent.rendered_text in html
        assert consent.fingerprint in html
        assert "Fingerprint verified" in html
    # Publishing new wording later does not change what was signed.
    consent_services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="Entirely new wording for {patient}.",
        risks=["Swelling"],
        alternatives="None.",
        actor=Actor.system(user=clinic["user"]),
    )
    third = page_text(client.get(detail_url(consent)))
    assert consent.rendered_text in third and "Entirely new wording" not in third
    views = AuditEvent.objects.filter(
        action=AuditAction.VIEW, object_id=str(consent.pk), patient_id=clinic["patient"].pk
    )
    assert views.count() == 3


def test_a_tampered_signature_file_shows_that_the_fingerprint_does_not_match(client, clinic):
    consent = sign(clinic, accept(clinic))
    with consent.patient_signature.storage.open(consent.patient_signature.name, "wb") as stored:
        stored.write(signature_png(strokes=1))
    client.force_login(clinic["user"])
    html = page_text(client.get(detail_url(consent)))
    assert "Fingerprint DOES NOT MATCH" in html
    assert "Fingerprint verified" not in html


# Withdrawal ------------------------------------------------------------------------


def test_withdrawal_records_reason_and_time_and_then_the_session_cannot_start(client, clinic):
    plan = accept(clinic)
    consent = sign(clinic, plan)
    client.force_login(clinic["user"])
    response = client.post(withdraw_url(consent), {"reason": "Changed her mind after reading"})
    assert response.status_code == 302
    withdrawal = ConsentWithdrawal.objects.get(consent=consent)
    assert withdrawal.reason == "Changed her mind after reading"
    assert withdrawal.recorded_by == clinic["user"] and withdrawal.withdrawn_at is not None

    html = page_text(client.get(detail_url(consent)))
    assert "Consent withdrawn" in html and "Changed her mind after reading" in html
    assert "Record the withdrawal" not in html
    assert "Fingerprint verified" in html  # the signed record itself is untouched

    start_url = reverse("treatments:session_start", args=[clinic["appointment"].pk])
    response = client.get(start_url, {"plan": plan.pk})
    assert "No signed consent to plan version 1 (or it was withdrawn)" in page_text(response)
    assert not TreatmentSession.objects.exists()


def test_a_withdrawal_needs_a_reason_and_happens_once(client, clinic):
    consent = sign(clinic, accept(clinic))
    client.force_login(clinic["user"])
    response = client.post(withdraw_url(consent), {"reason": "   "})
    assert response.status_code == 400
    assert "Record the reason the patient gave." in page_text(response)
    assert not ConsentWithdrawal.objects.exists()
    client.post(withdraw_url(consent), {"reason": "Not today"})
    response = client.post(withdraw_url(consent), {"reason": "Again"})
    assert response.status_code == 400
    assert "This consent is already withdrawn." in page_text(response)
    assert ConsentWithdrawal.objects.get().reason == "Not today"


def test_a_signed_consent_offers_to_start_the_patients_treatment_session(client, clinic):
    consent = sign(clinic, accept(clinic))
    client.force_login(clinic["user"])
    html = page_text(client.get(detail_url(consent)))
    start_url = reverse("treatments:session_start", args=[clinic["appointment"].pk])
    check_link = f'href="{start_url}?plan={consent.plan_id}"'
    assert check_link in html
    session = start(clinic, consent.plan)
    assert session.consent == consent
    client.force_login(clinic["user"])  # the clock moved on to the appointment
    html = page_text(client.get(detail_url(consent)))
    assert check_link not in html  # that appointment has its session now
    assert reverse("treatments:session_detail", args=[session.pk]) in html


def test_the_consent_pages_show_the_patients_allergies_and_blood_thinners(
    client, location, private_media, practitioner_user
):
    clinic = build_clinic(location, practitioner_user, history=recipes.ALERTING_HISTORY)
    plan = accept(clinic)
    client.force_login(practitioner_user)
    consent = sign(clinic)
    for url in (sign_url(plan), detail_url(consent)):
        html = page_text(client.get(url))
        assert 'data-testid="medical-alerts"' in html, url
        assert "Local anaesthetics" in html and "Apixaban" in html, url
