import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import get_resolver, reverse

from clinic.models import AuditAction, AuditEvent, Role
from tests.recipes import iter_patterns, sample_path

BASE_DIR = Path(__file__).resolve().parents[2]

# The only pages an anonymous visitor may open.
PUBLIC_URL_NAMES = {
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "healthz",
    # Fetched by calendar apps: its secret token is the key; a wrong one is a bare 404.
    "consultations:calendar_feed",
    # A patient's link: its token is the key; a wrong one is a plain "does not work" page.
    "consultations:patient_link",
    # Online booking, where a location allows it: no patient data in the address.
    "online_booking:start",
    "online_booking:times",
    "online_booking:hold",
    "online_booking:details",
    "online_booking:booked",
}


def all_url_patterns():
    return [
        (name, sample_path(regex)) for regex, name in iter_patterns(get_resolver().url_patterns)
    ]


def test_the_url_walk_finds_the_project_pages():
    names = {name for name, _ in all_url_patterns()}
    assert {"home", "healthz", "login", "audit_trail", "admin:index"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path"), all_url_patterns(), ids=lambda v: str(v))
def test_every_page_but_the_public_ones_sends_anonymous_visitors_to_login(client, name, path):
    response = client.get(path)
    if name in PUBLIC_URL_NAMES:
        assert response.status_code != 302 or "/accounts/login/" not in response["Location"]
    else:
        assert response.status_code == 302, f"{path} answered {response.status_code}"
        location = response["Location"]
        if location.startswith("/admin/login/"):
            # The admin sends to its own login address, which redirects to ours.
            location = client.get(location)["Location"]
        assert location.split("?")[0] == reverse("login")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        (Role.FRONT_DESK, ["Home"], ["Audit trail", "Clinic settings"]),
        (Role.PRACTITIONER, ["Home"], ["Audit trail", "Clinic settings"]),
        (Role.MANAGER, ["Home", "Audit trail", "Clinic settings"], []),
    ],
)
def test_each_role_lands_on_its_home_page_with_only_its_navigation(
    client, users_by_role, role, visible, hidden
):
    client.force_login(users_by_role[role])
    response = client.get(reverse("home"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"Signed in as {role.label}" in body
    nav_labels = re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)</a>', body)
    assert set(visible) <= set(nav_labels)
    assert not set(hidden) & set(nav_labels)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER])
def test_the_audit_trail_is_refused_to_non_managers_naming_the_role_needed(
    client, users_by_role, role
):
    client.force_login(users_by_role[role])
    response = client.get(reverse("audit_trail"))
    assert response.status_code == 403
    assert "This page is for the Clinic manager role." in response.content.decode()
    denial = AuditEvent.objects.filter(action=AuditAction.DENIED).get()
    assert denial.actor == users_by_role[role]
    assert "/audit/" in denial.summary


@pytest.mark.django_db
def test_a_manager_reads_the_audit_trail_filtered_by_action(client, manager_user, frontdesk_user):
    AuditEvent.objects.create(
        actor=frontdesk_user, actor_name="desk", action=AuditAction.PRINT, summary="Printed a sheet"
    )
    AuditEvent.objects.create(
        actor=frontdesk_user,
        actor_name="desk",
        action=AuditAction.EXPORT,
        summary="Exported a record",
    )
    client.force_login(manager_user)
    body = client.get(reverse("audit_trail"), {"action": "print"}).content.decode()
    assert "Printed a sheet" in body
    assert "Exported a record" not in body


@pytest.mark.django_db
def test_the_audit_trail_shows_hostile_text_escaped(client, manager_user):
    AuditEvent.objects.create(
        action=AuditAction.LOGIN_FAILED, summary="Failed sign-in as “<script>alert(1)</script>”"
    )
    client.force_login(manager_user)
    body = client.get(reverse("audit_trail")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_is_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


HEALTHZ_SCRIPT = """
import django
django.setup()
from django.test import Client
response = Client().get("/healthz", HTTP_HOST="localhost")
print(response.status_code, response.content.decode().strip())
"""


@pytest.mark.parametrize(
    "database_url",
    [
        "postgres://postgres@127.0.0.1:1/threadline_nowhere",
        "sqlite:////nonexistent-dir/threadline.sqlite3",
    ],
)
def test_healthz_answers_503_when_the_database_is_unreachable(database_url):
    result = subprocess.run(
        [sys.executable, "-c", HEALTHZ_SCRIPT],
        cwd=BASE_DIR,
        env={
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "DATABASE_URL": database_url,
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().endswith("503 database unreachable"), result.stderr[-2000:]


@pytest.mark.django_db
def test_a_user_switches_between_their_own_locations(client, location):
    from tests.factories import LocationFactory, StaffMemberFactory

    other = LocationFactory(name="Zeta site")
    staff = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location, other])
    client.force_login(staff.user)
    assert "selected>Zeta site" not in client.get(reverse("home")).content.decode()
    response = client.post(reverse("choose_location"), {"location": other.pk, "next": "/patients/"})
    assert response["Location"] == "/patients/"
    assert (
        f'<option value="{other.pk}" selected>Zeta site'
        in client.get(reverse("home")).content.decode()
    )


@pytest.mark.django_db
def test_a_user_cannot_switch_to_a_location_they_do_not_work_at(client, frontdesk_user):
    from tests.factories import LocationFactory

    elsewhere = LocationFactory(name="Not mine")
    client.force_login(frontdesk_user)
    response = client.post(reverse("choose_location"), {"location": elsewhere.pk})
    assert response.status_code == 400
    assert "current_location_id" not in client.session


@pytest.mark.django_db
def test_switching_location_never_redirects_off_site(client, location):
    from tests.factories import LocationFactory, StaffMemberFactory

    other = LocationFactory(name="Zeta site")
    staff = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location, other])
    client.force_login(staff.user)
    response = client.post(
        reverse("choose_location"), {"location": other.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")
