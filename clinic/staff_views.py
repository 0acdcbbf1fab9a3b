"""The staff list for clinic managers, and resetting a lost two-factor device."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, StaffMember
from clinic.permissions import require_permission
from clinic.two_factor import remove_second_factor


@require_permission("clinic.manage_clinic")
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    """Everyone on the staff: role, locations and whether two-factor sign-in is set up."""
    staff = StaffMember.objects.select_related("user").prefetch_related("locations")
    enrolled = set(
        TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True).distinct()
    )
    return render(
        request,
        "clinic/staff_list.html",
        {
            "rows": [(member, member.user_id in enrolled) for member in staff],
        },
    )


@require_permission("clinic.manage_clinic")
@require_POST
def reset_two_factor(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget a staff member's authenticator app and backup codes (a lost or new phone):
    they set up two-factor sign-in again the next time they sign in."""
    member = get_object_or_404(StaffMember.objects.select_related("user"), pk=pk)
    if member.user_id == request.user.pk:
        messages.error(
            request,
            "You cannot reset your own two-factor sign-in: ask another clinic manager.",
        )
        return redirect("staff_list")
    with transaction.atomic():
        remove_second_factor(member.user)
        record_event(
            action=AuditAction.UPDATE,
            actor=Actor.from_request(request),
            obj=member,
            summary=f"Reset two-factor sign-in of {member} ({member.user.get_username()})",
        )
    messages.success(
        request,
        f"Two-factor sign-in of {member} was reset: they set it up again when they next sign in.",
    )
    return redirect("staff_list")
