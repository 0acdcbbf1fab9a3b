import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AuditAction, AuditEvent, Role
from clinic.two_factor import new_backup_codes
from tests.factories import StaffMemberFactory
from tests.recipes import current_code, enrol, sign_in, sign_in_with_code

pytestmark = pytest.mark.django_db


def reset_url(user) -> str:
    return reverse("staff_reset_two_factor", args=[user.staff.pk])


def row_of(body: str, username: str) -> str:
    """The staff-list table row that shows this username."""
    rows = re.findall(r"<tr>.*?</tr>", body, flags=re.S)
    return next(row for row in rows if f"<td>{username}</td>" in row)


def test_a_manager_sees_the_staff_with_roles_locations_and_two_factor(
    client, users_by_role, location
):
    enrol(users_by_role[Role.PRACTITIONER])
    client.force_login(users_by_role[Role.MANAGER])
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("staff_list")}">Staff</a>' in home

    body = client.get(reverse("staff_list")).content.decode()
    doctor = row_of(body, "doctor")
    assert "Practitioner" in doctor
    assert location.name in doctor
    assert "<td>Set up</td>" in doctor
    assert "Reset two-factor" in doctor
    desk = row_of(body, "desk")
    assert "Front desk" in desk
    assert "<td>Not set up</td>" in desk
    assert "Reset two-factor" not in desk
    boss = row_of(body, "boss")
    assert "You" in boss
    assert "Reset two-factor" not in boss


def test_a_manager_resets_a_lost_phone_and_the_user_sets_it_up_again(
    client, users_by_role, settings
):
    doctor, manager = users_by_role[Role.PRACTITIONER], users_by_role[Role.MANAGER]
    settings.TWO_FACTOR_REQUIRED_ROLES = ["practitioner", "manager"]
    doctor_device = enrol(doctor)
    new_backup_codes(doctor)
    sign_in_with_code(client, manager, enrol(manager))

    doctors_browser = Client()
    sign_in_with_code(doctors_browser, doctor, doctor_device)

    response = client.post(reset_url(doctor))
    assert response["Location"] == reverse("staff_list")
    page = client.get(reverse("staff_list")).content.decode()
    assert f"Two-factor sign-in of {doctor.staff} was reset" in page
    assert "<td>Not set up</td>" in row_of(page, "doctor")

    assert not TOTPDevice.objects.filter(user=doctor).exists()
    assert not StaticDevice.objects.filter(user=doctor).exists()
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, actor=manager)
    assert event.summary == f"Reset two-factor sign-in of {doctor.staff} (doctor)"
    assert event.object_id == str(doctor.staff.pk)

    # The phone's old session no longer counts as verified: set up again first.
    assert doctors_browser.get(reverse("home"))["Location"].startswith(reverse("two_factor_setup"))
    fresh = Client()
    sign_in(fresh, "doctor")
    assert fresh.get(reverse("home"))["Location"].startswith(reverse("two_factor_setup"))
    # And the old app's code is no use any more.
    response = fresh.post(reverse("two_factor_verify"), {"code": current_code(doctor_device)})
    assert response["Location"].startswith(reverse("two_factor_setup"))


def test_a_manager_cannot_reset_their_own_two_factor(client, manager_user):
    sign_in_with_code(client, manager_user, enrol(manager_user))
    response = client.post(reset_url(manager_user), follow=True)
    assert "You cannot reset your own two-factor sign-in: ask another clinic manager." in (
        response.content.decode()
    )
    assert TOTPDevice.objects.filter(user=manager_user).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()
    assert "<td>Set up</td>" in row_of(response.content.decode(), "boss")


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER])
def test_front_desk_and_practitioners_may_not_see_or_reset_staff(
    client, users_by_role, location, role
):
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[location]).user
    enrol(doctor)
    client.force_login(users_by_role[role])
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("staff_list")}"' not in home
    listing = client.get(reverse("staff_list"))
    assert listing.status_code == 403
    assert "This page is for the Clinic manager role." in listing.content.decode()
    assert client.post(reset_url(doctor)).status_code == 403
    assert TOTPDevice.objects.filter(user=doctor).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, practitioner_user):
    enrol(practitioner_user)
    for response in [client.get(reverse("staff_list")), client.post(reset_url(practitioner_user))]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert TOTPDevice.objects.filter(user=practitioner_user).exists()


def test_resetting_needs_a_post(client, manager_user, practitioner_user):
    enrol(practitioner_user)
    client.force_login(manager_user)
    assert client.get(reset_url(practitioner_user)).status_code == 405
    assert TOTPDevice.objects.filter(user=practitioner_user).exists()
