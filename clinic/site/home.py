"""The page everyone lands on after signing in."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.models import Location


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
