"""Database sessions that end after SESSION_COOKIE_AGE without a request, renewed at most
about once a minute (SESSION_ENGINE).

Django renews a database session's expiry only when it saves the session;
SESSION_SAVE_EVERY_REQUEST made that a write on every request (BEGIN, UPDATE, COMMIT).
Here a session remembers the expiry it was read with and is saved again only once that
expiry is more than `renew_after_seconds()` old. The idle window therefore closes between
SESSION_COOKIE_AGE less that slack and SESSION_COOKIE_AGE after the last request, never
later; the page's idle warning (static/js/session-timeout.js) counts from the early end.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

# The most a session's stored expiry may lag behind its last request.
MAX_RENEW_AFTER_SECONDS = 60


def renew_after_seconds() -> int:
    """The slack: a minute, or less for a short idle window (a fifteenth of it)."""
    return min(MAX_RENEW_AFTER_SECONDS, int(settings.SESSION_COOKIE_AGE) // 15)


class SessionStore(DatabaseSessionStore):
    stored_expiry: datetime | None = None

    def load(self) -> dict[str, Any]:
        # As Django's load(), keeping the expiry read with the data (the stubs do not
        # declare _get_session_from_db).
        stored: Session | None = self._get_session_from_db()  # type: ignore[attr-defined]
        if stored is None:
            return {}
        self.stored_expiry = stored.expire_date
        data: dict[str, Any] = self.decode(stored.session_data)
        # Read from settings, not get_expiry_age(): that reads the session being loaded.
        renewed_by = timezone.now() + timedelta(
            seconds=settings.SESSION_COOKIE_AGE - renew_after_seconds()
        )
        if data and stored.expire_date < renewed_by:
            self.modified = True  # SessionMiddleware saves it, with a new expiry
        return data
