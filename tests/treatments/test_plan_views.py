"""The planner's pages: a patient's plans, the planner, status changes, new versions, roles."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services as consultation_services
from consultations.screening import services as screening_services
from tests.factories import (
    LocationFactory,
    PatientFactory,
    ProtocolPresetFactory,
    StaffMemberFactory,
    StockLotFactory,
    ThreadProductFactory,
)
from tests.recipes import (
    ALERTING_HISTORY,
    CALM,
    accept,
    build_clinic,
    frontal_photo,
    post_json,
    receive,
    save_url,
    save_vectors,
    saved_payload,
    screened_patient,
    sign,
    vector,
)
from treatments.models import PlanStatus, TreatmentPlan
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db


def planner_url(plan):
    return reverse("treatments:planner", args=[plan.pk])


def page_data(response) -> dict:
    """The JSON the planner's script reads, as the page carries it."""
    html = response.content.decode()
    block = html.split('<script id="planner-data" type="application/json">')[1]
    return json.loads(block.split("</script>")[0])


def two_vectors(product):
    return [
        vector(product),
        vector(product, side="right", entry=[0.38, 0.55], end=[0.24, 0.4]),
    ]


# Starting a plan through the screening gate ---------------------------------------------


def test_a_closed_gate_shows_the_reason_and_the_next_step_and_starts_no_plan(
    client, practitioner_user
):
    patient = PatientFactory(first_name="Una", last_name="Screened")
    client.force_login(practitioner_user)
    url = reverse("treatments:plan_list", args=[patient.pk])

    page = client.get(url).content.decode()
    assert "The patient has not been screened." in page
    assert "Run a suitability screening." in page
    assert "Start a treatment plan" not in page

    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "No plan was started. The patient has not been screened." in response.content.decode()
    assert not TreatmentPlan.objects.exists()


def test_a_screening_without_a_decision_keeps_the_gate_closed(client, practitioner_user, doctor):
    patient = PatientFactory()
    actor = Actor.system(user=doctor.user)
    consultation_services.submit_medical_history(patient=patient, answers={}, actor=actor)
    consultation = consultation_services.start_consultation(
        patient=patient, practitioner=doctor, actor=actor
    )
    consultation_services.save_assessment(
        consultation=consultation,
        details={"fitzpatrick": 2, "glogau": 2},
        areas={"midface": {"laxity": 2}},
        actor=actor,
    )
    screening_services.run_screening(consultation=consultation, body_image=CALM, actor=actor)
    client.force_login(practitioner_user)

    url = reverse("treatments:plan_list", args=[patient.pk])
    page = client.get(url).content.decode()
    assert "The last screening has no decision yet." in page
    client.post(url)
    assert not TreatmentPlan.objects.exists()


def test_an_open_gate_starts_a_draft_version_1_and_opens_the_planner(
    client, practitioner_user, gated_patient, doctor, location
):
    client.force_login(practitioner_user)
    url = reverse("treatments:plan_list", args=[gated_patient.pk])
    assert "Start a treatment plan" in client.get(url).content.decode()

    response = client.post(url)

    plan = TreatmentPlan.objects.get()
    assert response["Location"] == planner_url(plan)
    assert (plan.version, plan.status, plan.series_id) == (1, PlanStatus.DRAFT, plan.pk)
    assert (plan.patient, plan.practitioner, plan.location) == (gated_patient, doctor, location)
    page = client.get(planner_url(plan)).content.decode()
    assert "Treatment plan, version 1" in page
    assert "Started a treatment plan (version 1)." in page


def test_the_plan_list_shows_every_version_newest_first(
    client, practitioner_user, draft_plan, cog_product, doctor
):
    save_vectors(draft_plan, two_vectors(cog_product), doctor.user)
    plan_services.set_plan_status(
        plan=draft_plan, status=PlanStatus.ACCEPTED, actor=Actor.system(user=doctor.user)
    )
    plan_services.revise_plan(plan=draft_plan, actor=Actor.system(user=doctor.user))
    client.force_login(practitioner_user)

    page = client.get(reverse("treatments:plan_list", args=[draft_plan.patient_id])).content
    page = page.decode()

    version_2 = page.index(f"Plan {draft_plan.pk}, version 2")
    version_1 = page.index(f"Plan {draft_plan.pk}, version 1")
    assert version_2 < version_1
    assert "Accepted" in page[version_1:]
    assert "Draft" in page[version_2:version_1]
    assert str(doctor) in page


# Who may do what -------------------------------------------------------------------------


def requests_for(plan):
    """(name, method, url, body) for every planner page and action."""
    return {
        "plan_list": ("get", reverse("treatments:plan_list", args=[plan.patient_id]), None),
        "plan_start": ("post", reverse("treatments:plan_list", args=[plan.patient_id]), {}),
        "planner": ("get", planner_url(plan), None),
        "plan_status": (
            "post",
            reverse("treatments:plan_status", args=[plan.pk]),
            {"status": "proposed"},
        ),
        "plan_revise": ("post", reverse("treatments:plan_revise", args=[plan.pk]), {}),
        "plan_calibrate": ("json", reverse("treatments:plan_calibrate", args=[plan.pk]), {}),
    }


def send(client, method, url, body):
    if method == "get":
        return client.get(url)
    if method == "json":
        return post_json(client, url, body)
    return client.post(url, body)


ALL_ACTIONS = ["plan_list", "plan_start", "planner", "plan_status", "plan_revise", "plan_calibrate"]


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_anonymous_visitors_are_sent_to_sign_in(client, draft_plan, action):
    method, url, body = requests_for(draft_plan)[action]
    response = send(client, method, url, body)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_the_front_desk_is_refused_and_sees_no_patient_data(
    client, frontdesk_user, draft_plan, action
):
    client.force_login(frontdesk_user)
    method, url, body = requests_for(draft_plan)[action]

    response = send(client, method, url, body)

    assert response.status_code == 403
    page = response.content.decode()
    assert draft_plan.patient.last_name not in page
    assert draft_plan.patient.record_number not in page
    assert TreatmentPlan.objects.count() == 1
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.DRAFT


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("plan_list", 200),
        ("plan_start", 302),
        ("planner", 200),
        ("plan_status", 302),
        ("plan_revise", 302),
        ("plan_calibrate", 400),  # allowed, but an empty request is not a calibration
    ],
)
def test_practitioners_may_use_every_planner_page(
    client, practitioner_user, draft_plan, cog_product, doctor, action, expected
):
    save_vectors(draft_plan, two_vectors(cog_product), doctor.user)
    client.force_login(practitioner_user)
    method, url, body = requests_for(draft_plan)[action]
    assert send(client, method, url, body).status_code == expected


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("plan_list", 200),
        ("plan_start", 403),
        ("planner", 200),
        ("plan_status", 403),
        ("plan_revise", 403),
        ("plan_calibrate", 403),
    ],
)
def test_managers_read_plans_but_change_nothing(
    client, manager_user, draft_plan, cog_product, doctor, action, expected
):
    save_vectors(draft_plan, two_vectors(cog_product), doctor.user)
    client.force_login(manager_user)
    method, url, body = requests_for(draft_plan)[action]

    response = send(client, method, url, body)

    assert response.status_code == expected
    assert TreatmentPlan.objects.count() == 1
    draft_plan.refresh_from_db()
    assert (draft_plan.status, draft_plan.revision) == (PlanStatus.DRAFT, 2)


def test_a_manager_sees_the_planner_read_only(
    client, manager_user, draft_plan, cog_product, doctor
):
    save_vectors(draft_plan, two_vectors(cog_product), doctor.user)
    client.force_login(manager_user)

    response = client.get(planner_url(draft_plan))

    page = response.content.decode()
    assert "Read only: practitioners edit treatment plans." in page
    assert 'data-action="save"' not in page
    assert "Accept the plan" not in page
    assert page_data(response)["plan"]["editable"] is False
    assert len(page_data(response)["vectors"]) == 2
    assert (
        "Start a treatment plan"
        not in client.get(
            reverse("treatments:plan_list", args=[draft_plan.patient_id])
        ).content.decode()
    )


def test_a_plan_at_another_location_is_not_found(client, practitioner_user):
    elsewhere = LocationFactory(name="Far Away Clinic")
    colleague = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere])
    plan = plan_services.create_plan(
        patient=screened_patient(colleague),
        practitioner=colleague,
        location=elsewhere,
        actor=Actor.system(user=colleague.user),
    )
    client.force_login(practitioner_user)
    assert client.get(planner_url(plan)).status_code == 404
    assert client.post(reverse("treatments:plan_status", args=[plan.pk]), {}).status_code == 404
    listing = client.get(reverse("treatments:plan_list", args=[plan.patient_id])).content
    assert "(another location)" in listing.decode()


def test_opening_the_planner_is_audited_as_a_view_of_a_clinical_record(
    client, practitioner_user, draft_plan
):
    client.force_login(practitioner_user)
    client.get(planner_url(draft_plan))
    event = AuditEvent.objects.get(action=AuditAction.VIEW, object_id=str(draft_plan.pk))
    assert event.patient_id == draft_plan.patient_id
    assert event.actor == practitioner_user


# The planner page ---------------------------------------------------------------------


def test_the_planner_carries_products_stock_presets_and_only_this_patients_photos(
    client,
    practitioner_user,
    draft_plan,
    cog_product,
    mono_product,
    doctor,
    location,
    private_media,
):
    retired = ThreadProductFactory(name="Retired Cog", is_active=False)
    receive(cog_product, location, quantity=12, days=365)
    StockLotFactory(  # expired (received before it expired): does not count
        product=cog_product,
        location=location,
        lot_number="OLD-1",
        expires_on=timezone.localdate() - timedelta(days=1),
        quantity_received=5,
        quantity_on_hand=5,
    )
    receive(
        cog_product, LocationFactory(name="Other Site"), quantity=50, days=365
    )  # elsewhere: does not count
    ProtocolPresetFactory(
        name="Midface, 2 cogs per side",
        vectors=[
            vector(cog_product),
            # As the model's comment writes it: "product_id" rather than "product".
            {
                **{k: v for k, v in vector(cog_product).items() if k != "product"},
                "product_id": cog_product.pk,
            },
            vector(retired),
        ],
    )
    ProtocolPresetFactory(name="Switched off", vectors=[], is_active=False)
    mine = frontal_photo(draft_plan.patient, doctor.user)
    archived = frontal_photo(draft_plan.patient, doctor.user)
    archived.is_archived = True
    archived.save()
    frontal_photo(screened_patient(doctor), doctor.user)  # someone else's
    client.force_login(practitioner_user)

    data = page_data(client.get(planner_url(draft_plan)))

    products = {p["name"]: p for p in data["products"]}
    assert set(products) == {cog_product.name, mono_product.name}
    assert products[cog_product.name]["on_hand"] == 12
    assert products[mono_product.name]["on_hand"] == 0
    assert products[cog_product.name]["reach_mm"] == 100
    [preset] = data["presets"]
    assert preset["name"] == "Midface, 2 cogs per side"
    assert len(preset["vectors"]) == 2
    assert preset["left_out"] == 1
    assert all(v["product"] == cog_product.pk for v in preset["vectors"])
    assert [p["id"] for p in data["photos"]] == [mine.pk]
    assert data["photos"][0]["url"] == reverse("consultations:photo_image", args=[mine.pk])
    assert data["plan"]["editable"] is True
    assert data["plan"]["mm_per_unit"] == 230.0


def test_a_retired_product_still_shows_on_the_vectors_that_use_it(
    client, practitioner_user, draft_plan, cog_product, doctor
):
    save_vectors(draft_plan, [vector(cog_product)], doctor.user)
    cog_product.is_active = False
    cog_product.save()
    client.force_login(practitioner_user)

    response = client.get(planner_url(draft_plan))

    data = page_data(response)
    assert [(p["name"], p["active"]) for p in data["products"]] == [(cog_product.name, False)]
    assert "No products are in use" in response.content.decode()


def test_the_planner_page_uses_the_same_number_of_queries_for_5_and_40_vectors(
    client, practitioner_user, draft_plan, cog_product, mono_product, doctor, location
):
    receive(cog_product, location, quantity=30, days=365)
    ProtocolPresetFactory(name="Midface", vectors=[vector(cog_product)])
    client.force_login(practitioner_user)
    client.get(planner_url(draft_plan))  # the session's first request may differ

    def queries_with(count):
        vectors = [
            vector(cog_product if n % 2 else mono_product, entry=[0.6, 0.3 + n / 100])
            for n in range(count)
        ]
        save_vectors(draft_plan, vectors, doctor.user)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(planner_url(draft_plan))
        assert response.status_code == 200
        assert len(page_data(response)["vectors"]) == count
        return len(captured)

    assert queries_with(5) == queries_with(40)


# Status, freezing and new versions -----------------------------------------------------


def test_proposing_and_taking_back_to_draft(
    client, practitioner_user, draft_plan, cog_product, doctor
):
    save_vectors(draft_plan, two_vectors(cog_product), doctor.user)
    client.force_login(practitioner_user)
    status_url = reverse("treatments:plan_status", args=[draft_plan.pk])

    response = client.post(status_url, {"status": "proposed"}, follow=True)
    assert "Proposed to the patient." in response.content.decode()
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.PROPOSED

    client.post(status_url, {"status": "draft"})
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.DRAFT

    response = client.post(status_url, {"status": "superseded"}, follow=True)
    assert "Choose propose, accept or back to draft." in response.content.decode()
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.DRAFT


def test_an_empty_plan_cannot_be_accepted(client, practitioner_user, draft_plan):
    client.force_login(practitioner_user)
    response = client.post(
        reverse("treatments:plan_status", args=[draft_plan.pk]), {"status": "accepted"}, follow=True
    )
    assert "An empty plan cannot be accepted." in response.content.decode()
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.DRAFT


def test_accepting_freezes_and_a_new_version_copies_then_supersedes_the_old_one(
    client, practitioner_user, draft_plan, cog_product, doctor
):
    client.force_login(practitioner_user)
    assert (
        post_json(
            client, save_url(draft_plan), {"revision": 1, "vectors": two_vectors(cog_product)}
        ).status_code
        == 200
    )
    client.post(reverse("treatments:plan_status", args=[draft_plan.pk]), {"status": "accepted"})
    draft_plan.refresh_from_db()
    assert draft_plan.status == PlanStatus.ACCEPTED

    # Frozen: the planner is read only and a save is refused.
    page = client.get(planner_url(draft_plan)).content.decode()
    assert "version 1 is accepted and frozen" in page
    assert "Start a new version" in page
    refused = post_json(client, save_url(draft_plan), {"revision": 2, "vectors": []})
    assert refused.status_code == 400
    assert saved_payload(draft_plan) == two_vectors(cog_product)

    # A new version starts as a draft copy and opens in the planner.
    response = client.post(reverse("treatments:plan_revise", args=[draft_plan.pk]))
    new = TreatmentPlan.objects.get(series=draft_plan, version=2)
    assert response["Location"] == planner_url(new)
    assert new.status == PlanStatus.DRAFT
    assert saved_payload(new) == two_vectors(cog_product)
    # Asking again continues that draft rather than starting a third version.
    again = client.post(reverse("treatments:plan_revise", args=[draft_plan.pk]))
    assert again["Location"] == planner_url(new)
    assert TreatmentPlan.objects.count() == 2

    # Accepting the new version supersedes the old one, which stays readable.
    changed = two_vectors(cog_product)[:1]
    assert (
        post_json(client, save_url(new), {"revision": new.revision, "vectors": changed}).status_code
        == 200
    )
    client.post(reverse("treatments:plan_status", args=[new.pk]), {"status": "accepted"})
    draft_plan.refresh_from_db()
    new.refresh_from_db()
    assert (draft_plan.status, new.status) == (PlanStatus.SUPERSEDED, PlanStatus.ACCEPTED)
    old_page = client.get(planner_url(draft_plan))
    assert old_page.status_code == 200
    assert "version 1 is superseded and frozen" in old_page.content.decode()
    assert len(page_data(old_page)["vectors"]) == 2
    assert saved_payload(new) == changed


def test_a_new_version_is_refused_when_the_gate_has_closed_since(
    client, practitioner_user, draft_plan, cog_product, doctor
):
    save_vectors(draft_plan, two_vectors(cog_product), doctor.user)
    plan_services.set_plan_status(
        plan=draft_plan, status=PlanStatus.ACCEPTED, actor=Actor.system(user=doctor.user)
    )
    # A new medical history means the screening must be looked at again.
    consultation_services.submit_medical_history(
        patient=draft_plan.patient, answers={}, actor=Actor.system(user=doctor.user)
    )
    client.force_login(practitioner_user)

    response = client.post(reverse("treatments:plan_revise", args=[draft_plan.pk]), follow=True)

    assert "No new version was started." in response.content.decode()
    assert "The medical history changed after the last screening." in response.content.decode()
    assert TreatmentPlan.objects.count() == 1


# The medical alerts and the way on to consent ----------------------------------------------


@pytest.fixture
def alerting_clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user, history=ALERTING_HISTORY)


def test_the_planner_shows_the_patients_allergies_and_blood_thinners(
    client, alerting_clinic, practitioner_user
):
    client.force_login(practitioner_user)
    html = client.get(planner_url(alerting_clinic["plan"])).content.decode()
    assert 'data-testid="medical-alerts"' in html
    assert "Local anaesthetics" in html and "Penicillin" in html and "Apixaban" in html


def test_an_accepted_plan_leads_to_taking_consent_and_then_to_the_signed_consent(
    client, alerting_clinic, practitioner_user
):
    client.force_login(practitioner_user)
    draft = client.get(planner_url(alerting_clinic["plan"])).content.decode()
    assert 'data-testid="plan-consent"' not in draft
    plan = accept(alerting_clinic)
    html = client.get(planner_url(plan)).content.decode()
    assert f'href="{reverse("treatments:consent_sign", args=[plan.pk])}"' in html
    consent = sign(alerting_clinic)
    html = client.get(planner_url(plan)).content.decode()
    assert f'href="{reverse("treatments:consent_detail", args=[consent.pk])}"' in html
    assert "Signed consent" in html


def test_a_manager_reading_an_accepted_plan_without_consent_is_told_so(
    client, alerting_clinic, manager_user
):
    plan = accept(alerting_clinic)
    client.force_login(manager_user)
    html = client.get(planner_url(plan)).content.decode()
    assert "No signed consent yet" in html
    assert reverse("treatments:consent_sign", args=[plan.pk]) not in html


@pytest.mark.parametrize(
    ("country", "time_zone", "unit_price", "cost"),
    [
        ("GB", "Europe/London", "£1,250.00 each", "£5,000.00"),
        ("US", "America/New_York", "$1,250.00 each", "$5,000.00"),
    ],
)
def test_the_planner_shows_prices_in_the_locations_currency(
    client, practitioner_user, draft_plan, location, doctor, country, time_zone, unit_price, cost
):
    product = ThreadProductFactory(name="Costly Cog", unit_price="1250.00")
    save_vectors(draft_plan, two_vectors(product), doctor.user)
    location.country, location.time_zone, location.currency = country, time_zone, ""
    location.save()  # the currency follows the country
    currency = {"GB": "GBP", "US": "USD"}[country]
    client.force_login(practitioner_user)

    response = client.get(planner_url(draft_plan))
    html = response.content.decode()
    assert unit_price in html
    assert f"estimated cost <strong data-summary-cost>{cost}</strong>" in html
    assert f'<span class="text-body-secondary" data-testid="currency">({currency})</span>' in html
    # The script writes the cost again as the summary changes, in the same format.
    before, after = ("£", "") if country == "GB" else ("$", "")
    assert page_data(response)["currency"] == {"code": currency, "before": before, "after": after}
