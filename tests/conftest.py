import pytest

from clinic.models import Role
from tests.factories import LocationFactory, StaffMemberFactory, UserFactory


def pytest_configure(config):
    from django.conf import settings

    # Hashing every test user's password with the production hasher costs
    # seconds per test; the hasher itself is Django's concern, not ours.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Two-factor sign-in has its own tests; elsewhere a password alone signs in,
    # whatever DEBUG says.
    settings.TWO_FACTOR_REQUIRED_ROLES = []


@pytest.fixture
def private_media(settings, tmp_path):
    """Photos and documents written by a test go to a temporary folder, never var/."""
    root = tmp_path / "private-media"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root


@pytest.fixture
def location(db):
    return LocationFactory(name="Threadline Test Clinic")


def _staff_user(role, username, location):
    user = UserFactory(username=username)
    StaffMemberFactory(user=user, role=role, locations=[location])
    return user


@pytest.fixture
def frontdesk_user(location):
    return _staff_user(Role.FRONT_DESK, "desk", location)


@pytest.fixture
def practitioner_user(location):
    return _staff_user(Role.PRACTITIONER, "doctor", location)


@pytest.fixture
def manager_user(location):
    return _staff_user(Role.MANAGER, "boss", location)


@pytest.fixture
def users_by_role(frontdesk_user, practitioner_user, manager_user):
    return {
        Role.FRONT_DESK: frontdesk_user,
        Role.PRACTITIONER: practitioner_user,
        Role.MANAGER: manager_user,
    }
