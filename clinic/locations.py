"""Which location a signed-in user is working at: their choice, kept in the session."""

from django.http import HttpRequest

from clinic.models import Location

SESSION_KEY = "current_location_id"


def locations_for(user) -> list[Location]:
    """Where the user works; managers and superusers may work at any active location."""
    staff = getattr(user, "staff", None)
    if user.is_superuser or (staff and staff.role == "manager"):
        return list(Location.objects.filter(is_active=True))
    if staff is None:
        return []
    return list(staff.locations.filter(is_active=True))


def current_location(request: HttpRequest) -> Location | None:
    """The location chosen in this session, else the first one the user works at."""
    if hasattr(request, "_current_location"):
        return request._current_location
    choices = locations_for(request.user)
    chosen = next((loc for loc in choices if loc.pk == request.session.get(SESSION_KEY)), None)
    request._current_location = chosen or (choices[0] if choices else None)
    return request._current_location
