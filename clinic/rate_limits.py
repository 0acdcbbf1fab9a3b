"""Limits on how often one address, token or contact may call the public pages.

Counts live in the database (`RequestCount`), so two app servers behind a load
balancer share them. Windows are fixed (aligned to the epoch), which is simple and
can let up to twice the limit through across a window's edge; the limits below are
set with that in mind.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clinic.models import RequestCount

# Counts older than this are deleted when a key starts a new window.
KEEP_COUNTS_FOR = timedelta(days=2)


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def _stored_key(key: str) -> str:
    """Keys may hold a contact or a token: the table keeps only their digest."""
    return hashlib.sha256(key.encode()).hexdigest()


def allow(*, key: str, limit: int, window: timedelta) -> bool:
    """Count one request for `key`; True while the window's count stays within `limit`.

    Every call counts, refused ones too, so hammering does not reopen the door.
    """
    if window < timedelta(seconds=1) or limit < 1:
        raise ValueError(
            "A rate limit needs a window of a second or more and a limit of 1 or more."
        )
    stored = _stored_key(key)
    now = timezone.now()
    start = _window_start(now, window)
    with transaction.atomic():
        counted = RequestCount.objects.filter(key=stored, window_start=start).update(
            count=F("count") + 1
        )
        if not counted:
            try:
                with transaction.atomic():
                    RequestCount.objects.create(key=stored, window_start=start, count=1)
            except IntegrityError:  # another server started the window a moment ago
                RequestCount.objects.filter(key=stored, window_start=start).update(
                    count=F("count") + 1
                )
            RequestCount.objects.filter(key=stored, window_start__lt=now - KEEP_COUNTS_FOR).delete()
        count = RequestCount.objects.values_list("count", flat=True).get(
            key=stored, window_start=start
        )
    return count <= limit
