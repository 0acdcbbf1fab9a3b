import pytest
from django.test import RequestFactory

from clinic.actors import Actor
from clinic.client_address import client_address


def request_from(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_proxies_the_connections_address_counts_and_a_forwarded_header_is_ignored(
    settings,
):
    settings.PROXY_COUNT = 0

    assert client_address(request_from("203.0.113.9", "198.51.100.4")) == "203.0.113.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        # A client writing its own header: the load balancer appends what it saw.
        (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),
        (2, "203.0.113.9, 10.0.0.2", "203.0.113.9"),
        # Fewer hops than proxies: the request did not come through them.
        (2, "203.0.113.9", "10.0.0.1"),
        (1, "", "10.0.0.1"),
    ],
)
def test_behind_proxies_the_address_the_outermost_proxy_saw_counts(
    settings, proxies, forwarded, expected
):
    settings.PROXY_COUNT = proxies

    assert client_address(request_from("10.0.0.1", forwarded)) == expected


@pytest.mark.django_db
def test_the_sign_in_lockout_counts_failures_by_the_patient_facing_address_too(settings, client):
    settings.PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post(
            "/accounts/login/",
            {"username": "someone", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )

    other = client.post(
        "/accounts/login/",
        {"username": "someone", "password": "wrong"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )

    assert b"locked" not in other.content.lower()


@pytest.mark.django_db
def test_the_audit_trail_records_the_patients_own_address_behind_the_load_balancer(settings):
    settings.PROXY_COUNT = 1
    request = request_from("10.0.0.1", "203.0.113.9")

    assert Actor.from_request(request).ip_address == "203.0.113.9"
