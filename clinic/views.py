from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from clinic.locations import SESSION_KEY, locations_for
from clinic.models import AuditAction, AuditEvent, Location
from clinic.permissions import require_permission

AUDIT_PAGE_SIZE = 100


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    staff = getattr(request.user, "staff", None)
    locations = staff.locations.all() if staff else Location.objects.filter(is_active=True)
    now = timezone.now()
    return render(
        request,
        "clinic/home.html",
        {
            "staff": staff,
            "locations": [(location, now.astimezone(location.zone)) for location in locations],
        },
    )


@require_permission("clinic.view_reports")
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    """The latest audit entries, newest first, optionally of one action."""
    events = AuditEvent.objects.all()
    action = request.GET.get("action", "")
    if action in AuditAction.values:
        events = events.filter(action=action)
    return render(
        request,
        "clinic/audit_trail.html",
        {
            "events": events[:AUDIT_PAGE_SIZE],
            "actions": AuditAction.choices,
            "selected_action": action,
            "page_size": AUDIT_PAGE_SIZE,
        },
    )


@require_POST
def choose_location(request: HttpRequest) -> HttpResponse:
    """Switch the location this session works at (calendar, day list, typed dates)."""
    allowed = {str(location.pk): location for location in locations_for(request.user)}
    chosen = allowed.get(request.POST.get("location", ""))
    if chosen is None:
        return HttpResponseBadRequest("Choose one of your locations.")
    request.session[SESSION_KEY] = chosen.pk
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("home")
    return redirect(next_url)


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
