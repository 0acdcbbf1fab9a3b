import os
import random
from datetime import UTC, datetime

import factory.random
import pytest
import time_machine

from clinic.models import Role
from tests.factories import LocationFactory, StaffMemberFactory, UserFactory

FAKER_SEED = pytest.StashKey[int]()


def pytest_addoption(parser):
    group = parser.getgroup("threadline")
    group.addoption(
        "--clock",
        default=os.environ.get("THREADLINE_TEST_CLOCK", ""),
        help="Run every test as if the clock read this UTC time (ISO 8601), ticking on from "
        "there, e.g. --clock=2028-02-29T23:30:00 (default: the real clock).",
    )
    group.addoption(
        "--faker-seed",
        type=int,
        default=None,
        help="Seed for generated names, dates of birth and other fake data (default: a new "
        "one each run, printed in the header so a failure can be replayed).",
    )


def pytest_configure(config):
    from django.conf import settings

    # Dates and generated names must never decide whether a test passes: any run
    # can be replayed at an awkward moment (a month's last day, 29 February, a
    # clock change) and with the names of an earlier run.
    clock = config.getoption("--clock")
    if clock:
        moment = datetime.fromisoformat(clock)
        traveller = time_machine.travel(
            moment if moment.tzinfo else moment.replace(tzinfo=UTC), tick=True
        )
        traveller.start()
        config.add_cleanup(traveller.stop)
    seed = config.getoption("--faker-seed")
    if seed is None:
        # Chosen once by the main process; pytest-xdist's workers inherit it.
        seed = int(os.environ.setdefault("THREADLINE_FAKER_SEED", str(random.randrange(10**6))))
    config.stash[FAKER_SEED] = seed

    # Hashing every test user's password with the production hasher costs
    # seconds per test; the hasher itself is Django's concern, not ours.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Two-factor sign-in has its own tests; elsewhere a password alone signs in,
    # whatever DEBUG says.
    settings.TWO_FACTOR_REQUIRED_ROLES = []


def pytest_report_header(config):
    clock = config.getoption("--clock") or "the real clock"
    return f"clock: {clock}; generated data: --faker-seed={config.stash[FAKER_SEED]}"


@pytest.fixture(autouse=True)
def _generated_data_seeded_per_test(request):
    """Each test's fake names depend on the seed and the test alone, not on the order of tests."""
    factory.random.reseed_random(f"{request.config.stash[FAKER_SEED]}:{request.node.nodeid}")


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
