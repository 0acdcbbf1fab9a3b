"""The main navigation, filtered to what the signed-in user's role may use.

Each app adds its entries here as its pages land; an entry with a
permission is shown only to users who hold it.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from clinic.idle_sessions import renew_after_seconds
from clinic.locations import current_location, my_locations


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None = None


NAV_ITEMS = [
    NavItem("Home", "home"),
    NavItem("Today", "consultations:day_list", "clinic.manage_bookings"),
    NavItem("Calendar", "consultations:calendar_day", "clinic.manage_bookings"),
    NavItem("Patients", "consultations:patient_list", "consultations.view_patient"),
    NavItem("Recall", "treatments:retreatment_recall", "clinic.manage_bookings"),
    NavItem("Stock", "treatments:stock_overview", "treatments.view_stocklot"),
    NavItem("Adverse events", "treatments:adverse_event_report", "clinic.view_reports"),
    NavItem("Audit trail", "audit_trail", "clinic.view_reports"),
    NavItem("Staff", "staff_list", "clinic.manage_clinic"),
    NavItem("Clinic settings", "admin:index", "clinic.manage_clinic"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in NAV_ITEMS:
        if item.permission is None or user.has_perm(item.permission):
            url = reverse(item.url_name)
            items.append({"label": item.label, "url": url, "active": request.path == url})
    return {
        "nav_items": items,
        "current_location": current_location(request),
        "my_locations": my_locations(request),
        "session_idle_seconds": settings.SESSION_COOKIE_AGE,
        "session_renew_seconds": renew_after_seconds(),
    }
