import pytest

from clinic.models import Role
from tests.factories import LocationFactory, StaffMemberFactory, UserFactory


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
