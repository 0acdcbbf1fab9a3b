import os
import re
import secrets
import subprocess
import sys
from base64 import b32decode
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AuditAction, AuditEvent
from clinic.signing_keys import new_private_key_pem
from clinic.two_factor import new_backup_codes
from tests.factories import UserFactory
from tests.recipes import code_for_key, current_code, enrol, sign_in, sign_in_with_code, type_code

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


# Helpers ---------------------------------------------------------------------------


def wrong_code(device: TOTPDevice) -> str:
    """Six digits the app would not show now (nor a step before or after)."""
    accepted = {code_for_key(device.bin_key, step) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)


@pytest.fixture
def clinicians_need_two_factor(settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["practitioner", "manager"]


def patients_url() -> str:
    return reverse("consultations:patient_list")


def audit(action, contains: str) -> list[AuditEvent]:
    return [e for e in AuditEvent.objects.filter(action=action) if contains in e.summary]


# Signing in with an authenticator app ------------------------------------------------


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_a_practitioner_with_an_app_reaches_no_page_before_typing_a_code(client, practitioner_user):
    device = enrol(practitioner_user)
    assert sign_in(client, "doctor")["Location"] == reverse("home")

    for page in [reverse("home"), patients_url(), reverse("admin:index"), reverse("audit_trail")]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert (
            response["Location"]
            == f"{reverse('two_factor_verify')}?next={page.replace('/', '%2F')}"
        )
    refused_post = client.post(reverse("choose_location"), {"location": "1"})
    assert refused_post["Location"] == reverse("two_factor_verify")

    page = client.get(reverse("two_factor_verify"), {"next": patients_url()})
    assert "Enter your sign-in code" in page.content.decode()
    response = type_code(client, current_code(device), next_url=patients_url())
    assert response["Location"] == patients_url()
    assert client.get(patients_url()).status_code == 200
    [verified] = audit(AuditAction.LOGIN, "Second factor verified")
    assert verified.actor == practitioner_user


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_a_wrong_code_is_refused_and_audited(client, practitioner_user):
    device = enrol(practitioner_user)
    sign_in(client, "doctor")
    response = type_code(client, wrong_code(device))
    assert response.status_code == 200
    body = response.content.decode()
    assert "That code is not right" in body
    assert "4 attempts left before you are signed out" in body
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_verify"))
    [failure] = audit(AuditAction.LOGIN_FAILED, "Wrong second-factor code (1 of 5)")
    assert failure.actor == practitioner_user
    assert failure.ip_address == "127.0.0.1"


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_a_code_typed_too_soon_after_a_wrong_one_asks_the_user_to_wait(client, practitioner_user):
    device = enrol(practitioner_user)
    sign_in(client, "doctor")
    type_code(client, wrong_code(device))
    response = type_code(client, current_code(device))
    assert "Too many wrong codes: wait" in response.content.decode()
    # Once the wait is over (here: the failure moved a minute into the past), it works.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=1)
    )
    assert type_code(client, current_code(device))["Location"] == reverse("home")


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_five_wrong_codes_in_a_row_sign_the_user_out(client, practitioner_user):
    device = enrol(practitioner_user)
    sign_in(client, "doctor")
    for _ in range(4):
        assert type_code(client, wrong_code(device)).status_code == 200
    response = type_code(client, wrong_code(device))
    assert response["Location"] == reverse("login")
    login_page = client.get(reverse("login")).content.decode()
    assert "5 wrong codes in a row: you have been signed out." in login_page
    assert client.get(reverse("two_factor_verify"))["Location"].startswith(reverse("login"))
    assert len(audit(AuditAction.LOGIN_FAILED, "Wrong second-factor code")) == 5
    assert audit(AuditAction.LOGIN_FAILED, "Signed out after 5 wrong second-factor codes")
    assert audit(AuditAction.LOGOUT, "Signed out")


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_a_backup_code_works_once(client, practitioner_user):
    enrol(practitioner_user)
    codes = new_backup_codes(practitioner_user)
    sign_in(client, "doctor")
    # Typed as printed, in capitals or with a space: still the same code.
    typed = f"{codes[0][:4].upper()} {codes[0][4:].upper()}"
    assert type_code(client, typed)["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert audit(AuditAction.LOGIN, "Second factor verified with a backup code (9 left)")

    client.post(reverse("logout"))
    sign_in(client, "doctor")
    response = type_code(client, codes[0])
    assert "That code is not right" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


# Enrolment -------------------------------------------------------------------------------


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_a_practitioner_without_an_app_sets_one_up_before_reaching_patients(
    client, practitioner_user
):
    sign_in(client, "doctor")
    response = client.get(patients_url())
    assert response["Location"].startswith(reverse("two_factor_setup"))

    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page
    assert "Scan" in page or "scan" in page
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page).group(1)
    key = b32decode(secret.replace(" ", ""))

    response = client.post(reverse("two_factor_setup"), {"code": "123", "next": patients_url()})
    assert "Type the six digits the app shows." in response.content.decode()
    assert client.get(patients_url())["Location"].startswith(reverse("two_factor_setup"))

    response = client.post(
        reverse("two_factor_setup"), {"code": code_for_key(key), "next": patients_url()}
    )
    assert response["Location"].startswith(reverse("two_factor_backup_codes"))
    # The codes must be acknowledged before anything else opens.
    assert client.get(patients_url())["Location"].startswith(reverse("two_factor_backup_codes"))

    shown = client.get(response["Location"]).content.decode()
    codes = re.findall(r'<li class="list-group-item font-monospace fs-5">([a-z2-7 ]+)</li>', shown)
    assert len(codes) == 10
    assert "I have saved these codes" in shown
    not_ticked = client.post(reverse("two_factor_backup_codes"), {"next": patients_url()})
    assert "Tick the box once you have saved the codes." in not_ticked.content.decode()
    done = client.post(reverse("two_factor_backup_codes"), {"saved": "on", "next": patients_url()})
    assert done["Location"] == patients_url()
    assert client.get(patients_url()).status_code == 200

    # Shown once: the page does not show them again.
    assert client.get(reverse("two_factor_backup_codes")).status_code == 302
    assert TOTPDevice.objects.get(user=practitioner_user).confirmed
    assert audit(AuditAction.UPDATE, "Set up two-factor sign-in for doctor")
    assert audit(AuditAction.LOGIN, "Second factor verified")


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_a_wrong_code_at_set_up_leaves_the_app_unconfirmed(client, practitioner_user):
    sign_in(client, "doctor")
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=practitioner_user)
    response = client.post(reverse("two_factor_setup"), {"code": wrong_code(device)})
    assert "That code does not match" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_setup"))


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_reloading_the_set_up_page_keeps_the_same_key(client, practitioner_user):
    sign_in(client, "doctor")
    first = client.get(reverse("two_factor_setup")).content.decode()
    again = client.get(reverse("two_factor_setup")).content.decode()
    secret = re.compile(r'data-testid="secret">([A-Z2-7 ]+)<')
    assert secret.search(first).group(1) == secret.search(again).group(1)
    assert TOTPDevice.objects.filter(user=practitioner_user).count() == 1


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_the_session_key_changes_after_the_second_factor(client, practitioner_user):
    device = enrol(practitioner_user)
    sign_in(client, "doctor")
    before = client.cookies["sessionid"].value
    type_code(client, current_code(device))
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(reverse("home")).status_code == 200


# Who is asked -------------------------------------------------------------------------


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_front_desk_signs_in_with_a_password_alone_unless_the_setting_says_so(
    client, frontdesk_user, settings
):
    sign_in(client, "desk")
    assert client.get(patients_url()).status_code == 200

    settings.TWO_FACTOR_REQUIRED_ROLES = ["practitioner", "manager", "front_desk"]
    assert client.get(patients_url())["Location"].startswith(reverse("two_factor_setup"))


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_a_superuser_without_a_clinic_role_is_asked_like_a_manager(client):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    sign_in(client, "root")
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("two_factor_setup"))


def test_with_no_role_required_practitioners_and_managers_use_a_password_alone(
    client, users_by_role, settings
):
    settings.TWO_FACTOR_REQUIRED_ROLES = []
    for username in ["doctor", "boss"]:
        sign_in(client, username)
        assert client.get(patients_url()).status_code == 200
        client.post(reverse("logout"))


def test_someone_who_set_up_an_app_voluntarily_is_asked_for_a_code(client, frontdesk_user):
    device = enrol(frontdesk_user)
    sign_in(client, "desk")
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_verify"))
    type_code(client, current_code(device))
    assert client.get(reverse("home")).status_code == 200


def settings_in_a_fresh_process(**env: str) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "TWO_FACTOR_REQUIRED_ROLES", "TWO_FACTOR_FOR_FRONT_DESK")
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(sorted(settings.TWO_FACTOR_REQUIRED_ROLES))",
        ],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "clinic.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return (result.stdout + result.stderr).strip()


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "x",
    "CONSENT_SIGNING_KEY": new_private_key_pem(),
}


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({"DEBUG": "1"}, "[]"),
        (PRODUCTION, "['manager', 'practitioner']"),
        (
            {**PRODUCTION, "TWO_FACTOR_FOR_FRONT_DESK": "1"},
            "['front_desk', 'manager', 'practitioner']",
        ),
        ({**PRODUCTION, "TWO_FACTOR_REQUIRED_ROLES": "manager"}, "['manager']"),
        ({"DEBUG": "1", "TWO_FACTOR_FOR_FRONT_DESK": "1"}, "['front_desk']"),
    ],
    ids=["development", "production", "front-desk-too", "managers-only", "development-front-desk"],
)
def test_development_forces_nobody_and_production_forces_clinicians(env, required):
    assert settings_in_a_fresh_process(**env) == required


def test_an_unknown_role_in_the_setting_stops_the_app_from_starting():
    output = settings_in_a_fresh_process(DEBUG="1", TWO_FACTOR_REQUIRED_ROLES="doctors")
    assert "TWO_FACTOR_REQUIRED_ROLES: unknown role doctors" in output


# The user's own page ---------------------------------------------------------------------


def test_anyone_may_set_up_two_factor_from_their_own_page(client, frontdesk_user):
    client.force_login(frontdesk_user)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("two_factor_settings")}">Two-factor sign-in</a>' in home
    page = client.get(reverse("two_factor_settings")).content.decode()
    assert "Off: you sign in with your password alone." in page

    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=frontdesk_user)
    confirmed = client.post(reverse("two_factor_setup"), {"code": current_code(device)})
    shown = client.get(confirmed["Location"]).content.decode()
    next_url = re.search(r'name="next" value="([^"]*)"', shown).group(1)
    done = client.post(reverse("two_factor_backup_codes"), {"saved": "on", "next": next_url})
    assert done["Location"] == reverse("two_factor_settings")
    page = client.get(reverse("two_factor_settings")).content.decode()
    assert "On: you sign in with your password and a code" in page
    assert "You have 10 unused backup codes." in page


def test_new_backup_codes_replace_the_old_ones(client, frontdesk_user):
    device = enrol(frontdesk_user)
    old = new_backup_codes(frontdesk_user)
    sign_in_with_code(client, frontdesk_user, device)
    response = client.post(reverse("two_factor_new_backup_codes"))
    shown = client.get(response["Location"]).content.decode()
    assert old[0] not in shown.replace(" ", "")
    assert StaticDevice.objects.filter(user=frontdesk_user).count() == 1
    assert not StaticDevice.objects.filter(token_set__token=old[0]).exists()
    assert audit(AuditAction.UPDATE, "New backup codes for desk")


# Idle sessions ---------------------------------------------------------------------------


def test_stay_signed_in_renews_the_idle_window(client, frontdesk_user):
    sign_in(client, "desk")
    session = Session.objects.get(session_key=client.cookies["sessionid"].value)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + timedelta(seconds=30))
    response = client.get(reverse("keepalive"))
    assert response.status_code == 204
    session.refresh_from_db()
    assert session.expire_date - timezone.now() > timedelta(minutes=14)


def test_signed_in_pages_tell_the_warning_how_long_the_idle_window_is(client, frontdesk_user):
    assert "data-idle-seconds" not in client.get(reverse("login")).content.decode()
    sign_in(client, "desk")
    home = client.get(reverse("home")).content.decode()
    assert 'data-idle-seconds="900"' in home
    assert "js/session-timeout.js" in home


@pytest.mark.usefixtures("clinicians_need_two_factor")
def test_an_htmx_request_before_the_second_factor_loads_the_code_page_whole(
    client, practitioner_user
):
    enrol(practitioner_user)
    sign_in(client, "doctor")
    response = client.get(
        reverse("consultations:patient_list") + "?q=smith",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/patients/?q=smi"},
    )
    assert response.status_code == 204
    assert (
        response["HX-Redirect"] == reverse("two_factor_verify") + "?next=%2Fpatients%2F%3Fq%3Dsmi"
    )
