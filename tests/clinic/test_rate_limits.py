from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.models import RequestCount
from clinic.rate_limits import allow
from tests.clock import travel_to

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def test_requests_within_the_limit_pass_and_the_next_one_is_refused():
    answers = [allow(key="address:203.0.113.9", limit=3, window=MINUTE) for _ in range(4)]

    assert answers == [True, True, True, False]


def test_refused_requests_still_count_so_hammering_keeps_the_door_shut():
    for _ in range(10):
        allow(key="address:203.0.113.9", limit=2, window=MINUTE)

    assert RequestCount.objects.get().count == 10
    assert not allow(key="address:203.0.113.9", limit=2, window=MINUTE)


def test_each_key_has_its_own_count():
    for _ in range(3):
        allow(key="address:203.0.113.9", limit=3, window=MINUTE)

    assert not allow(key="address:203.0.113.9", limit=3, window=MINUTE)
    assert allow(key="address:198.51.100.4", limit=3, window=MINUTE)


def test_the_next_window_starts_counting_afresh_and_old_counts_are_dropped():
    for _ in range(4):
        allow(key="token:abc", limit=3, window=MINUTE)

    travel_to(timezone.now() + timedelta(days=3))

    assert allow(key="token:abc", limit=3, window=MINUTE)
    assert RequestCount.objects.count() == 1


def test_the_table_keeps_a_digest_never_the_address_or_token_itself():
    allow(key="contact:someone@example.com", limit=3, window=MINUTE)

    stored = RequestCount.objects.get().key
    assert "someone" not in stored
    assert len(stored) == 64


@pytest.mark.parametrize(("limit", "window"), [(0, MINUTE), (3, timedelta(0))])
def test_a_limit_of_nothing_is_a_programming_error(limit, window):
    with pytest.raises(ValueError):
        allow(key="address:203.0.113.9", limit=limit, window=window)
