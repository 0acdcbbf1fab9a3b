from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from clinic.models import AuditEvent, Location, Room, StaffMember, TimeOff, WorkingHours


class RoomInline(admin.TabularInline[Room, Location]):
    model = Room
    extra = 0


@admin.register(Location)
class LocationAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "time_zone",
        "jurisdiction",
        "currency",
        "paper_size",
        "phone",
        "emergency_phone",
        "cooling_off_adult_days",
        "cooling_off_minor_days",
        "online_booking",
        "is_active",
    ]
    list_filter = ["is_active", "paper_size", "jurisdiction"]
    search_fields = ["name", "address"]
    inlines = [RoomInline]

    def has_delete_permission(self, request: HttpRequest, obj: Location | None = None) -> bool:
        return False  # Appointments and stock hang off locations: deactivate instead.


@admin.register(Room)
class RoomAdmin(SimpleHistoryAdmin):
    list_display = ["name", "location", "kind", "is_active"]
    list_filter = ["location", "kind", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False


class WorkingHoursInline(admin.TabularInline[WorkingHours, StaffMember]):
    model = WorkingHours
    extra = 0


@admin.register(StaffMember)
class StaffMemberAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "role", "registration_number"]
    list_filter = ["role", "locations"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "registration_number"]
    filter_horizontal = ["locations"]
    inlines = [WorkingHoursInline]

    def has_delete_permission(self, request: HttpRequest, obj: StaffMember | None = None) -> bool:
        return False  # Clinical records name their practitioner: deactivate the user instead.


@admin.register(WorkingHours)
class WorkingHoursAdmin(SimpleHistoryAdmin):
    list_display = ["staff", "location", "weekday", "starts_at", "ends_at"]
    list_filter = ["location", "weekday"]


@admin.register(TimeOff)
class TimeOffAdmin(SimpleHistoryAdmin):
    list_display = ["staff", "starts_at", "ends_at", "reason"]
    list_filter = ["staff"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the audit trail is append-only everywhere."""

    list_display = [
        "occurred_at",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "ip_address",
        "summary",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "summary", "object_id"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
