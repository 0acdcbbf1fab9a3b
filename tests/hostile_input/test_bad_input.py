"""Every endpoint in the table: bad input gets a clear error and changes nothing."""

from __future__ import annotations

import pytest

from tests.hostile_input.endpoints import (
    ENDPOINTS,
)
from tests.hostile_input.harness import (
    cases_for,
    check_valid_data_is_accepted,
    run_case,
)
from tests.hostile_input.snapshot import (
    snapshot,
)

pytestmark = pytest.mark.django_db

# -- 1. bad input: a clear error, and nothing changes ------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_bad_input_gets_a_clear_error_and_changes_nothing(endpoint, world, clients):
    client = clients[endpoint.role]
    url = endpoint.url(world)
    check_valid_data_is_accepted(client, endpoint, url, world)
    before = snapshot()
    failures = []
    for case in cases_for(endpoint, world):
        problem = run_case(client, endpoint, url, case, before)
        if problem:
            failures.append(f"{case.id}: {problem}")
    assert not failures, f"{endpoint.name}: {len(failures)} bad answers\n" + "\n".join(failures)
