from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditAction, AuditEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_correct_password_signs_in_and_lands_on_home(client, frontdesk_user):
    response = sign_in(client, "desk", TEST_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(client, frontdesk_user):
    response = sign_in(client, "desk", "not-the-password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    client, frontdesk_user, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "desk", "guessing")
    response = sign_in(client, "desk", TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_failures_below_the_limit_do_not_lock(client, frontdesk_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "desk", "guessing")
    assert sign_in(client, "desk", TEST_PASSWORD).status_code == 302


def test_sign_ins_and_failed_sign_ins_are_audited(client, frontdesk_user):
    sign_in(client, "desk", "guessing")
    sign_in(client, "desk", TEST_PASSWORD)
    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert "desk" in failed.summary
    assert failed.ip_address == "127.0.0.1"
    assert AuditEvent.objects.get(action=AuditAction.LOGIN).actor == frontdesk_user


def stored_session(client):
    return Session.objects.get(session_key=client.cookies["sessionid"].value)


def test_every_request_renews_the_fifteen_minute_idle_window(client, frontdesk_user):
    sign_in(client, "desk", TEST_PASSWORD)
    expires = stored_session(client).expire_date
    assert timedelta(minutes=14) < expires - timezone.now() <= timedelta(minutes=15)
    Session.objects.filter(pk=stored_session(client).pk).update(
        expire_date=expires - timedelta(minutes=5)
    )
    client.get(reverse("home"))
    assert stored_session(client).expire_date > expires - timedelta(seconds=1)


def test_requests_within_a_minute_of_the_last_renewal_write_nothing(client, frontdesk_user):
    sign_in(client, "desk", TEST_PASSWORD)
    expires = stored_session(client).expire_date
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    assert writes == []
    assert stored_session(client).expire_date == expires
    # Once the expiry is more than a minute old, the next request renews it.
    Session.objects.filter(pk=stored_session(client).pk).update(
        expire_date=expires - timedelta(seconds=61)
    )
    client.get(reverse("home"))
    assert stored_session(client).expire_date > expires - timedelta(seconds=1)


def test_a_session_idle_past_the_timeout_is_sent_back_to_login(client, frontdesk_user):
    sign_in(client, "desk", TEST_PASSWORD)
    Session.objects.filter(pk=stored_session(client).pk).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("short1!", "too short"),
        ("password1234", "too common"),
        ("483920174629", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused(frontdesk_user, password, complaint):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, frontdesk_user)
    assert complaint in " ".join(refused.value.messages)


def test_signing_out_needs_a_post_and_ends_the_session(client, frontdesk_user):
    client.force_login(frontdesk_user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302
