import hashlib
import os
import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import factory.random
import pytest
import time_machine
from django.db import connection

from clinic.models import Role
from tests.clock import stop_travelling
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
    # Text messages land in clinic.text_messages.outbox (the `text_outbox` fixture),
    # as emails land in Django's mail outbox.
    settings.TEXT_MESSAGE_BACKEND = "locmem"


def pytest_report_header(config):
    clock = config.getoption("--clock") or "the real clock"
    return f"clock: {clock}; generated data: --faker-seed={config.stash[FAKER_SEED]}"


@pytest.fixture(autouse=True)
def _generated_data_seeded_per_test(request):
    """Each test's fake names depend on the seed and the test alone, not on the order of tests."""
    factory.random.reseed_random(f"{request.config.stash[FAKER_SEED]}:{request.node.nodeid}")


@pytest.fixture(autouse=True)
def text_outbox():
    """The text messages sent during this test, emptied before it starts."""
    from clinic import text_messages

    text_messages.outbox.clear()
    return text_messages.outbox


@pytest.fixture(autouse=True)
def _clock_back_after_each_test():
    """A test that moved the clock forward (tests.clock.travel_to) moves it back when done."""
    yield
    stop_travelling()


BASE_DIR = Path(__file__).resolve().parents[1]


def schema_digest() -> str:
    """A digest of what builds the test database's schema: our migrations and the pinned
    packages (whose migrations come with them)."""
    digest = hashlib.sha256()
    sources = [*sorted(BASE_DIR.glob("*/migrations/*.py")), BASE_DIR / "requirements.txt"]
    for path in sources:
        digest.update(str(path.relative_to(BASE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """PostgreSQL's test databases are named after the schema they were built from.

    `--reuse-db` (in pyproject.toml) keeps them between runs, and Django's keepdb applies
    new migrations but never notices an edited or removed one: a new name after any change
    means a stale schema is never reused. SQLite's in-memory test database is built afresh
    by every run; a file named by TEST_SQLITE_PATH is named like PostgreSQL's.
    """
    from django.conf import settings

    for database in settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        if database["ENGINE"] == "django.db.backends.sqlite3" and not test.get("NAME"):
            continue
        name = test.get("NAME") or f"test_{database['NAME']}"
        test["NAME"] = f"{name}_{schema_digest()}"


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
def sqlite_on_disk(transactional_db, tmp_path):
    """SQLite on a file for a test whose threads write at once, as in production.

    The in-memory test database reaches other threads through SQLite's shared cache, which
    refuses a second writer outright ("database table is locked") where a file in WAL mode
    queues it for the busy timeout: the behaviour these tests are about. For the test's
    duration every connection points at a copy of the test database on a file; the copy is
    as empty as the test database itself (the test is transactional). On PostgreSQL, or when
    TEST_SQLITE_PATH already puts the tests on a file, nothing changes.
    """
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    settings = connection.settings_dict  # the one dict every thread's connection is made from
    in_memory = settings["NAME"]
    # An in-memory database lives as long as a connection to it: this one keeps it.
    keeper = sqlite3.connect(in_memory, uri=True)
    on_disk = sqlite3.connect(tmp_path / "threads.sqlite3")
    keeper.backup(on_disk)
    on_disk.close()
    settings["NAME"] = str(tmp_path / "threads.sqlite3")
    connection.close()
    try:
        yield
    finally:
        connection.close()
        settings["NAME"] = in_memory
        connection.ensure_connection()
        keeper.close()


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
