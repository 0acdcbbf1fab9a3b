from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from consultations.models import AppointmentType


@admin.register(AppointmentType)
class AppointmentTypeAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "kind",
        "duration_minutes",
        "buffer_minutes",
        "needs_room",
        "room_kind",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Appointments keep their type: retire it instead.
