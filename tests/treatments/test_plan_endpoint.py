"""The planner's JSON endpoints: saving the vectors (plan_save) and calibrating (plan_calibrate)."""

import json

import pytest
from django.urls import reverse

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from tests.factories import LocationFactory, StaffMemberFactory, ThreadProductFactory
from tests.recipes import (
    frontal_photo,
    post_json,
    receive,
    save_url,
    save_vectors,
    saved_payload,
    screened_patient,
    vector,
)
from treatments.models import PlanStatus, TreatmentPlan
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved_plan(draft_plan, cog_product, doctor):
    """A draft at revision 2 holding two vectors and notes: what a refused request must keep."""
    return save_vectors(
        draft_plan,
        [
            vector(cog_product),
            vector(cog_product, side="right", entry=[0.38, 0.55], end=[0.24, 0.4]),
        ],
        doctor.user,
        notes="Two cogs per side.",
    )


def unchanged(plan, before_vectors, before_revision=2, before_notes="Two cogs per side."):
    plan.refresh_from_db()
    assert plan.revision == before_revision
    assert saved_payload(plan) == before_vectors
    assert plan.notes == before_notes
    return True


def test_a_practitioner_saves_the_vectors_and_the_revision_goes_up(
    client, practitioner_user, draft_plan, cog_product, mono_product, location
):
    receive(cog_product, location, quantity=10, days=365)
    client.force_login(practitioner_user)
    vectors = [
        vector(cog_product),
        vector(cog_product, side="right", entry=[0.38, 0.55], end=[0.24, 0.4]),
        vector(mono_product, area="nasolabial", count=5, entry=[0.42, 0.6], end=[0.4, 0.7]),
    ]

    response = post_json(
        client, save_url(draft_plan), {"revision": 1, "vectors": vectors, "notes": "Plan A"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["revision"] == 2
    assert body["summary"]["total_threads"] == 9
    assert body["summary"]["by_side"] == {"Left": 7, "Right": 2}
    assert body["summary"]["cost"] == "192.50"  # 4 × 40.00 + 5 × 6.50
    # No mono threads in stock at this location: the plan says so, and still saves.
    assert any("Stock: Planner Mono 29G 38 needs 5" in w for w in body["warnings"])
    draft_plan.refresh_from_db()
    assert draft_plan.revision == 2
    assert draft_plan.notes == "Plan A"
    assert saved_payload(draft_plan) == vectors
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(draft_plan.pk), patient_id=draft_plan.patient_id
    ).exists()


def test_saving_the_same_plan_twice_in_a_row_uses_each_new_revision(
    client, practitioner_user, draft_plan, cog_product
):
    client.force_login(practitioner_user)
    first = post_json(client, save_url(draft_plan), {"revision": 1, "vectors": []})
    second = post_json(
        client, save_url(draft_plan), {"revision": 2, "vectors": [vector(cog_product)]}
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["revision"] == 3
    assert saved_payload(TreatmentPlan.objects.get(pk=draft_plan.pk)) == [vector(cog_product)]


def bad_request(kind: str, cog, retired):
    """(body or None, raw bytes or None, words the error must contain) for each refused input."""
    good = vector(cog)
    cases = {
        "malformed JSON": (None, b'{"revision": 2, "vectors": [', "not valid JSON"),
        "not UTF-8": (None, b'{"revision": 2, "vectors": [], "notes": "\xff"}', "not valid JSON"),
        "NaN is not JSON": (None, b'{"revision": 2, "vectors": [], "x": NaN}', "not valid JSON"),
        "too large": (
            {"revision": 2, "vectors": [good], "notes": "x" * (257 * 1024)},
            None,
            "too large",
        ),
        "a list, not an object": ([good], None, "JSON object"),
        "a string, not an object": ("vectors", None, "JSON object"),
        "unknown top-level field": (
            {"revision": 2, "vectors": [good], "status": "accepted"},
            None,
            "Unknown field 'status'",
        ),
        "names a patient": (
            {"revision": 2, "vectors": [good], "patient": 1},
            None,
            "Unknown field 'patient'",
        ),
        "no revision": ({"vectors": [good]}, None, "revision is missing"),
        "revision as text": ({"revision": "2", "vectors": [good]}, None, "whole number"),
        "revision as a boolean": ({"revision": True, "vectors": [good]}, None, "whole number"),
        "no vectors": ({"revision": 2}, None, "vectors is missing"),
        "vectors not a list": ({"revision": 2, "vectors": {"a": 1}}, None, "must be a list"),
        "notes not text": ({"revision": 2, "vectors": [good], "notes": 5}, None, "notes"),
        "notes too long": ({"revision": 2, "vectors": [good], "notes": "n" * 4001}, None, "4000"),
        "point outside the diagram": (
            {"revision": 2, "vectors": [good, vector(cog, entry=[1.2, 0.5])]},
            None,
            "Vector 2: entry must lie on the diagram",
        ),
        "negative point": (
            {"revision": 2, "vectors": [vector(cog, end=[0.5, -0.01])]},
            None,
            "end must lie on the diagram",
        ),
        "point not a pair": (
            {"revision": 2, "vectors": [vector(cog, end=[0.5])]},
            None,
            "pair of numbers",
        ),
        "unknown product": (
            {"revision": 2, "vectors": [{**good, "product": 999999}]},
            None,
            "product is unknown",
        ),
        "product no longer in use": (
            {"revision": 2, "vectors": [vector(retired)]},
            None,
            "no longer in use",
        ),
        "no threads": ({"revision": 2, "vectors": [vector(cog, count=0)]}, None, "1 to 20"),
        "too many threads": ({"revision": 2, "vectors": [vector(cog, count=21)]}, None, "1 to 20"),
        "unknown area": (
            {"revision": 2, "vectors": [vector(cog, area="scalp")]},
            None,
            "area must be one of",
        ),
        "unknown vector field": (
            {"revision": 2, "vectors": [vector(cog, colour="red")]},
            None,
            "unknown field 'colour'",
        ),
        "vector without a side": (
            {"revision": 2, "vectors": [{k: v for k, v in good.items() if k != "side"}]},
            None,
            "side is missing",
        ),
        "more than 200 vectors": (
            {"revision": 2, "vectors": [good] * 201},
            None,
            "at most 200 vectors",
        ),
    }
    return cases[kind]


BAD_KINDS = [
    "malformed JSON",
    "not UTF-8",
    "NaN is not JSON",
    "too large",
    "a list, not an object",
    "a string, not an object",
    "unknown top-level field",
    "names a patient",
    "no revision",
    "revision as text",
    "revision as a boolean",
    "no vectors",
    "vectors not a list",
    "notes not text",
    "notes too long",
    "point outside the diagram",
    "negative point",
    "point not a pair",
    "unknown product",
    "product no longer in use",
    "no threads",
    "too many threads",
    "unknown area",
    "unknown vector field",
    "vector without a side",
    "more than 200 vectors",
]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    client, practitioner_user, saved_plan, cog_product, kind
):
    retired = ThreadProductFactory(name="Retired Cog", is_active=False)
    before = saved_payload(saved_plan)
    body, raw, words = bad_request(kind, cog_product, retired)
    client.force_login(practitioner_user)

    response = post_json(client, save_url(saved_plan), body, raw=raw)

    assert response.status_code == 400
    assert words in response.json()["error"]
    assert unchanged(saved_plan, before)


def test_an_oversized_body_is_refused_before_it_is_read(client, practitioner_user, saved_plan):
    before = saved_payload(saved_plan)
    client.force_login(practitioner_user)
    response = client.post(
        save_url(saved_plan),
        data="{}",
        content_type="application/json",
        CONTENT_LENGTH=str(300 * 1024),
    )
    assert response.status_code == 400
    assert "too large" in response.json()["error"]
    assert unchanged(saved_plan, before)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.MANAGER])
def test_only_practitioners_may_save_others_get_403_in_json(
    client, users_by_role, saved_plan, cog_product, role
):
    before = saved_payload(saved_plan)
    client.force_login(users_by_role[role])

    response = post_json(client, save_url(saved_plan), {"revision": 2, "vectors": []})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "Practitioner" in response.json()["error"]
    assert saved_plan.patient.last_name not in response.content.decode()
    assert unchanged(saved_plan, before)
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=users_by_role[role]).exists()


def test_a_plan_at_another_location_answers_404(client, practitioner_user, cog_product):
    elsewhere = LocationFactory(name="Elsewhere Clinic")
    colleague = StaffMemberFactory(role=Role.PRACTITIONER, locations=[elsewhere])
    patient = screened_patient(colleague)
    plan = plan_services.create_plan(
        patient=patient,
        practitioner=colleague,
        location=elsewhere,
        actor=Actor.system(user=colleague.user),
    )
    client.force_login(practitioner_user)

    response = post_json(client, save_url(plan), {"revision": 1, "vectors": [vector(cog_product)]})

    assert response.status_code == 404
    assert "error" in response.json()
    plan.refresh_from_db()
    assert plan.revision == 1
    assert not plan.vectors.exists()


def test_a_plan_that_does_not_exist_answers_404(client, practitioner_user):
    client.force_login(practitioner_user)
    response = post_json(
        client, reverse("treatments:plan_save", args=[987654]), {"revision": 1, "vectors": []}
    )
    assert response.status_code == 404


def test_a_stale_revision_gets_409_with_the_plan_as_the_server_has_it(
    client, practitioner_user, saved_plan, cog_product
):
    before = saved_payload(saved_plan)
    client.force_login(practitioner_user)

    response = post_json(
        client,
        save_url(saved_plan),
        {"revision": 1, "vectors": [vector(cog_product, count=9)], "notes": "mine"},
    )

    assert response.status_code == 409
    body = response.json()
    assert "changed by someone else" in body["error"]
    assert body["revision"] == 2
    assert body["vectors"] == before
    assert body["notes"] == "Two cogs per side."
    assert unchanged(saved_plan, before)


@pytest.mark.parametrize("status", [PlanStatus.ACCEPTED, PlanStatus.SUPERSEDED])
def test_an_accepted_or_superseded_plan_is_frozen(
    client, practitioner_user, saved_plan, cog_product, doctor, status
):
    actor = Actor.system(user=doctor.user)
    plan_services.set_plan_status(plan=saved_plan, status=PlanStatus.ACCEPTED, actor=actor)
    if status == PlanStatus.SUPERSEDED:
        newer = plan_services.revise_plan(plan=saved_plan, actor=actor)
        plan_services.set_plan_status(plan=newer, status=PlanStatus.ACCEPTED, actor=actor)
    saved_plan.refresh_from_db()
    assert saved_plan.status == status
    before = saved_payload(saved_plan)
    client.force_login(practitioner_user)

    response = post_json(client, save_url(saved_plan), {"revision": 2, "vectors": []})

    assert response.status_code == 400
    assert "frozen" in response.json()["error"]
    assert unchanged(saved_plan, before)


def test_a_get_does_not_save(client, practitioner_user, saved_plan):
    client.force_login(practitioner_user)
    assert client.get(save_url(saved_plan)).status_code == 405


def test_hostile_notes_are_stored_as_text_and_shown_escaped_on_the_planner(
    client, practitioner_user, draft_plan, cog_product
):
    hostile = '</textarea><script>alert("plan")</script>'
    hostile_vector_note = "<img src=x onerror=alert(1)>"
    client.force_login(practitioner_user)

    response = post_json(
        client,
        save_url(draft_plan),
        {
            "revision": 1,
            "vectors": [vector(cog_product, notes=hostile_vector_note)],
            "notes": hostile,
        },
    )

    assert response.status_code == 200
    draft_plan.refresh_from_db()
    assert draft_plan.notes == hostile
    assert draft_plan.vectors.get().notes == hostile_vector_note
    page = client.get(reverse("treatments:planner", args=[draft_plan.pk])).content.decode()
    assert hostile not in page
    assert hostile_vector_note not in page
    assert "&lt;/textarea&gt;&lt;script&gt;alert(&quot;plan&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # The page's data block escapes them too: nothing in it can close the <script> element.
    data = page.split('<script id="planner-data" type="application/json">')[1].split("</script>")[0]
    assert "<" not in data
    assert json.loads(data)["notes"] == hostile


# Calibration ---------------------------------------------------------------------------


def calibrate_url(plan):
    return reverse("treatments:plan_calibrate", args=[plan.pk])


def test_marking_the_pupils_on_a_frontal_photo_sets_the_plan_scale(
    client, practitioner_user, draft_plan, doctor, private_media
):
    photo = frontal_photo(draft_plan.patient, doctor.user)
    client.force_login(practitioner_user)

    response = post_json(
        client,
        calibrate_url(draft_plan),
        {"photo": photo.pk, "right_pupil": [0.4, 0.4], "left_pupil": [0.6, 0.4]},
    )

    assert response.status_code == 200
    assert response.json()["mm_per_unit"] == pytest.approx(315.0)
    draft_plan.refresh_from_db()
    assert draft_plan.mm_per_unit == pytest.approx(315.0)
    assert draft_plan.calibration_photo == photo


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("not JSON", "not valid JSON"),
        ("missing pupil", "right_pupil is missing"),
        ("unknown field", "Unknown field"),
        ("photo of another patient", "this patient's photos"),
        ("profile photo", "frontal photo"),
        ("photo id as text", "this patient's photos"),
        ("pupil off the diagram", "must lie on the diagram"),
        ("pupils too close", "further apart"),
    ],
)
def test_bad_calibrations_are_refused_and_keep_the_scale(
    client, practitioner_user, draft_plan, doctor, private_media, kind, words
):
    photo = frontal_photo(draft_plan.patient, doctor.user)
    good = {"photo": photo.pk, "right_pupil": [0.4, 0.4], "left_pupil": [0.6, 0.4]}
    raw = None
    if kind == "not JSON":
        raw = b"photo=1"
    elif kind == "missing pupil":
        del good["right_pupil"]
    elif kind == "unknown field":
        good["mm_per_unit"] = 10
    elif kind == "photo of another patient":
        other = screened_patient(doctor)
        good["photo"] = frontal_photo(other, doctor.user).pk
    elif kind == "profile photo":
        good["photo"] = frontal_photo(draft_plan.patient, doctor.user, view="left_profile").pk
    elif kind == "photo id as text":
        good["photo"] = str(photo.pk)
    elif kind == "pupil off the diagram":
        good["left_pupil"] = [1.5, 0.4]
    elif kind == "pupils too close":
        good["left_pupil"] = [0.41, 0.4]
    client.force_login(practitioner_user)

    response = post_json(client, calibrate_url(draft_plan), good, raw=raw)

    assert response.status_code == 400
    assert words in response.json()["error"]
    draft_plan.refresh_from_db()
    assert draft_plan.mm_per_unit == 230.0
    assert draft_plan.calibration_photo is None


# Shapes of JSON that once slipped past the checks and crashed the endpoint.


def test_a_product_given_as_a_list_is_refused_with_400(
    client, practitioner_user, saved_plan, cog_product
):
    before = saved_payload(saved_plan)
    client.force_login(practitioner_user)
    body = {"revision": 2, "vectors": [{**vector(cog_product), "product": [cog_product.pk]}]}
    response = post_json(client, save_url(saved_plan), body)
    assert response.status_code == 400
    assert unchanged(saved_plan, before)


def test_a_coordinate_too_large_for_a_float_is_refused_with_400(
    client, practitioner_user, saved_plan, cog_product
):
    before = saved_payload(saved_plan)
    client.force_login(practitioner_user)
    raw = json.dumps({"revision": 2, "vectors": [vector(cog_product, entry=[7, 0.5])]})
    response = post_json(
        client, save_url(saved_plan), None, raw=raw.replace("[7, 0.5]", "[1" + "0" * 400 + ", 0.5]")
    )
    assert response.status_code == 400
    assert unchanged(saved_plan, before)
