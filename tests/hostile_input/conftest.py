"""The clinic every hostile-input test runs against, and a signed-in client per role."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from clinic.two_factor import BACKUP_CODES_SESSION_KEY
from tests.hostile_input.world import World, build_world


@pytest.fixture
def world(location, frontdesk_user, practitioner_user, manager_user, private_media) -> World:
    return build_world(location, frontdesk_user, practitioner_user, manager_user)


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


class SignedInClients(dict):
    """A client per role ("frontdesk", "practitioner", "manager", "anonymous", and the
    two-factor states "enroller", "verifier", "backup"), signed in when a test first asks
    for it: most tests send as one role, and setting up the others costs a page each.
    Signing in writes the user's last sign-in time: ask for a client before a snapshot."""

    def __init__(self, world: World):
        super().__init__()
        self.world = world

    def __missing__(self, role: str) -> Client:
        users = {
            "frontdesk": self.world.frontdesk,
            "practitioner": self.world.doctor_user,
            "manager": self.world.manager,
            "anonymous": None,
            "enroller": self.world.enroller,
            "verifier": self.world.verifier,
            "backup": self.world.frontdesk,
        }
        client = signed_in(users[role])
        if role == "enroller":
            # Enrolment starts on the first visit (an unconfirmed app): the form confirms it.
            client.get(reverse("two_factor_setup"))
        if role == "backup":
            # Fresh backup codes waiting to be acknowledged.
            session = client.session
            session[BACKUP_CODES_SESSION_KEY] = ["abcd2345", "efgh6789"]
            session.save()
        self[role] = client
        return client


@pytest.fixture
def clients(world) -> SignedInClients:
    return SignedInClients(world)
