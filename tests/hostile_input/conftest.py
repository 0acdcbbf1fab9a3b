from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from clinic.two_factor import BACKUP_CODES_SESSION_KEY
from tests.hostile_input.world import (
    World,
    build_world,
)

# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def world(location, frontdesk_user, practitioner_user, manager_user, private_media) -> World:
    return build_world(location, frontdesk_user, practitioner_user, manager_user)


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def clients(world) -> dict[str, Client]:
    made = {
        "frontdesk": signed_in(world.frontdesk),
        "practitioner": signed_in(world.doctor_user),
        "manager": signed_in(world.manager),
        "anonymous": signed_in(None),
        "enroller": signed_in(world.enroller),
        "verifier": signed_in(world.verifier),
        "backup": signed_in(world.frontdesk),
    }
    # Enrolment starts on the first visit (an unconfirmed app): the form then confirms it.
    made["enroller"].get(reverse("two_factor_setup"))
    # Fresh backup codes waiting to be acknowledged.
    session = made["backup"].session
    session[BACKUP_CODES_SESSION_KEY] = ["abcd2345", "efgh6789"]
    session.save()
    return made
