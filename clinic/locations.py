"""Which location a signed-in user is working at: their choice, kept in the session."""

from django.http import HttpRequest

from clinic.access import AnyUser, reachable_locations
from clinic.models import Location

SESSION_KEY = "current_location_id"


def locations_for(user: AnyUser) -> list[Location]:
    """Where the user may work (see clinic.access.reachable_locations), to choose from."""
    return list(reachable_locations(user))


def my_locations(request: HttpRequest) -> list[Location]:
    """Where the signed-in user may work, read once per request (the navigation's list and
    the current location come from the same query)."""
    # Kept on the request object, which Django's HttpRequest type does not declare.
    if not hasattr(request, "_my_locations"):
        request._my_locations = locations_for(request.user)  # type: ignore[attr-defined]
    cached: list[Location] = request._my_locations  # type: ignore[attr-defined]
    return cached


def current_location(request: HttpRequest) -> Location | None:
    """The location chosen in this session, else the first one the user works at."""
    choices = my_locations(request)
    chosen = next((loc for loc in choices if loc.pk == request.session.get(SESSION_KEY)), None)
    return chosen or (choices[0] if choices else None)
