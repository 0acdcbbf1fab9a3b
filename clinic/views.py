"""The clinic core's own pages: choosing a location, and the health check."""

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clinic.locations import SESSION_KEY, locations_for
from clinic.redirects import safe_next_url


@require_POST
def choose_location(request: HttpRequest) -> HttpResponse:
    """Switch the location this session works at (calendar, day list, typed dates)."""
    allowed = {str(location.pk): location for location in locations_for(request.user)}
    chosen = allowed.get(request.POST.get("location", ""))
    if chosen is None:
        return HttpResponseBadRequest("Choose one of your locations.")
    request.session[SESSION_KEY] = chosen.pk
    next_url = safe_next_url(request, request.POST.get("next")) or reverse("home")
    return HttpResponseRedirect(next_url)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unreachable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
