from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from tests.hostile_input.endpoints import (
    ENDPOINTS,
    ENDPOINTS_BY_NAME,
    patient_valid,
    plan_save_valid,
)
from tests.hostile_input.harness import (
    encode_json,
    json_error,
    send,
)
from tests.hostile_input.snapshot import (
    snapshot,
)

pytestmark = pytest.mark.django_db

# -- 4. sizes, content types, methods, CSRF ----------------------------------------------------


def assert_json_refusal_changes_nothing(client, url, *, data, content_type, **extra):
    before = snapshot()
    response = client.post(url, data=data, content_type=content_type, **extra)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert json_error(response), response.content[:300]
    assert snapshot() == before
    return response


def test_a_plan_save_over_256_kb_is_refused_with_a_message(world, clients):
    endpoint = ENDPOINTS_BY_NAME["treatments:plan_save"]
    body = encode_json(plan_save_valid(world))
    padded = body[:-1] + b" " * (256 * 1024 + 1 - len(body)) + b"}"
    assert len(padded) == 256 * 1024 + 1 and json.loads(padded)
    response = assert_json_refusal_changes_nothing(
        clients["practitioner"], endpoint.url(world), data=padded, content_type="application/json"
    )
    assert "too large" in json_error(response)


def test_an_appointment_move_over_10_kb_is_refused_with_a_message(world, clients):
    endpoint = ENDPOINTS_BY_NAME["consultations:appointment_move"]
    body = encode_json(endpoint.valid(world))
    padded = body[:-1] + b" " * (10 * 1024 + 1 - len(body)) + b"}"
    response = assert_json_refusal_changes_nothing(
        clients["frontdesk"], endpoint.url(world), data=padded, content_type="application/json"
    )
    assert "too large" in json_error(response)


def test_a_form_over_djangos_limits_is_refused_and_saves_nothing(world, clients, settings):
    endpoint = ENDPOINTS_BY_NAME["consultations:patient_create"]
    client = clients["frontdesk"]
    url = endpoint.url(world)
    over = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    for name, data in {
        "over the size limit": {**patient_valid(world), "address": "x" * over},
        "too many fields": {
            **patient_valid(world),
            **{f"f{n}": "1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)},
        },
    }.items():
        before = snapshot()
        response = send(client, endpoint, url, data)
        assert response.status_code == 400, (name, response.status_code)
        assert snapshot() == before, name


JSON_ENDPOINTS = [
    "treatments:plan_save",
    "treatments:plan_calibrate",
    "consultations:appointment_move",
]


@pytest.mark.parametrize("name", JSON_ENDPOINTS)
def test_json_endpoints_refuse_a_body_that_is_not_json(name, world, clients):
    endpoint = ENDPOINTS_BY_NAME[name]
    client, url = clients[endpoint.role], endpoint.url(world)
    valid = endpoint.valid(world)
    form_encoded = urlencode({key: json.dumps(value) for key, value in valid.items()})
    assert_json_refusal_changes_nothing(
        client, url, data=form_encoded, content_type="application/x-www-form-urlencoded"
    )
    # multipart/form-data, as a browser's form would send it.
    before = snapshot()
    response = client.post(url, {key: json.dumps(value) for key, value in valid.items()})
    assert 400 <= response.status_code < 500 and json_error(response), response.content[:300]
    assert snapshot() == before
    assert_json_refusal_changes_nothing(client, url, data="hello", content_type="text/plain")


@pytest.mark.parametrize("name", JSON_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_json_endpoints_refuse_json_sent_as_another_content_type(
    name, content_type, world, clients
):
    """A cross-site form can send text/plain or urlencoded bodies, never application/json."""
    endpoint = ENDPOINTS_BY_NAME[name]
    assert_json_refusal_changes_nothing(
        clients[endpoint.role],
        endpoint.url(world),
        data=encode_json(endpoint.valid(world)),
        content_type=content_type,
    )


POST_ONLY = [
    "choose_location",
    "consultations:patient_archive",
    "consultations:patient_restore",
    "consultations:photo_upload",
    "consultations:appointment_move",
    "consultations:appointment_status",
    "consultations:consultation_start",
    "consultations:consultation_for_appointment",
    "consultations:screening_decide",
    "treatments:plan_save",
    "treatments:plan_status",
    "treatments:plan_revise",
    "treatments:plan_calibrate",
    "treatments:consent_withdraw",
    "treatments:session_complete",
    "treatments:session_addendum",
    "two_factor_new_backup_codes",
    "staff_reset_two_factor",
]


def test_get_on_post_only_endpoints_is_405_and_changes_nothing(world, clients):
    wrong = []
    # Signed in first: signing in records the time on the user's row.
    senders = {name: clients[ENDPOINTS_BY_NAME[name].role] for name in POST_ONLY}
    before = snapshot()
    for name in POST_ONLY:
        endpoint = ENDPOINTS_BY_NAME[name]
        response = senders[name].get(endpoint.url(world))
        if response.status_code != 405:
            wrong.append(f"{name}: {response.status_code}")
    assert not wrong, wrong
    assert snapshot() == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_on_forms_are_405(method, world, clients):
    wrong = []
    for endpoint in ENDPOINTS:
        if endpoint.role == "anonymous":
            continue
        response = getattr(clients[endpoint.role], method)(endpoint.url(world))
        if response.status_code != 405:
            wrong.append(f"{endpoint.name}: {response.status_code}")
    assert not wrong, wrong


@pytest.mark.parametrize(
    "name",
    ["consultations:patient_create", "consultations:appointment_book", "treatments:plan_save"],
)
def test_a_post_without_the_csrf_token_is_refused(name, world):
    endpoint = ENDPOINTS_BY_NAME[name]
    user = {"frontdesk": world.frontdesk, "practitioner": world.doctor_user}[endpoint.role]
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user)
    before = snapshot()
    response = send(client, endpoint, endpoint.url(world), endpoint.valid(world))
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    "token",
    ["<script>alert(1)</script>", "a" * 500, "%00" * 30, "..%2F..%2Fetc%2Fpasswd", "' OR 1=1 --"],
)
def test_a_calendar_feed_token_of_any_shape_is_not_found(token, world):
    before = snapshot()
    response = Client(raise_request_exception=False).get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "token",
    [
        "<script>alert(1)</script>",
        "a" * 500,
        "%00" * 30,
        "..%2F..%2Fetc%2Fpasswd",
        "' OR 1=1 --",
        "A" * 43,  # the right shape, guessed
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_patient_link_token_of_any_shape_opens_nothing(token, method, world):
    before = snapshot()
    client = Client(raise_request_exception=False)
    response = getattr(client, method)(f"/p/{token}/", {"anything": "<script>"})
    assert response.status_code == 404
    assert world.patient.first_name.encode() not in response.content
    assert snapshot() == before
