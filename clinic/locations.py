"""Which location a signed-in user is working at: their choice, kept in the session."""

from django.http import HttpRequest

from clinic.access import AnyUser, reachable_locations
from clinic.models import Location

SESSION_KEY = "current_location_id"


def locations_for(user: AnyUser) -> list[Location]:
    """Where the user may work (see clinic.access.reachable_locations), to choose from."""
    return list(reachable_locations(user))


def current_location(request: HttpRequest) -> Location | None:
    """The location chosen in this session, else the first one the user works at."""
    # Worked out once per request and kept on the request object, which Django's
    # HttpRequest type does not declare.
    if hasattr(request, "_current_location"):
        cached: Location | None = request._current_location
        return cached
    choices = locations_for(request.user)
    chosen = next((loc for loc in choices if loc.pk == request.session.get(SESSION_KEY)), None)
    current = chosen or (choices[0] if choices else None)
    request._current_location = current  # type: ignore[attr-defined]
    return current
