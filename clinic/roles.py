"""Roles are Django groups; this module holds what each role may do.

`ROLE_PERMISSIONS` is the one table of role rights. Migration 0002 creates the
groups from it, and every later `migrate` (and the test runner's flush) brings
them back in line through a post_migrate hook, so a new app adds its
permissions here and nowhere else.
"""

from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.models import Group, User
from django.db import models


class Role(models.TextChoices):
    """Each role is also a Django group of the same name, holding the role's rights below."""

    PRACTITIONER = "practitioner", "Practitioner"
    FRONT_DESK = "front_desk", "Front desk"
    MANAGER = "manager", "Clinic manager"


CLINIC_SETTINGS = [
    f"clinic.{verb}_{model}"
    for model in ["location", "room", "staffmember", "workinghours", "timeoff"]
    for verb in ["add", "change", "view"]
]

# Register and find patients, keep their demographics, hand over the intake form.
PATIENT_DESK = [
    "consultations.view_patient",
    "consultations.add_patient",
    "consultations.change_patient",
    "consultations.add_medicalhistory",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.FRONT_DESK: [
        "clinic.view_demographics",
        "clinic.manage_bookings",
        *PATIENT_DESK,
    ],
    Role.PRACTITIONER: [
        "clinic.view_demographics",
        "clinic.manage_bookings",
        "clinic.view_clinical",
        "clinic.record_clinical",
        *PATIENT_DESK,
        "treatments.view_treatmentplan",
        "treatments.add_treatmentplan",
        "treatments.change_treatmentplan",
        "treatments.view_threadproduct",
        "treatments.view_protocolpreset",
    ],
    Role.MANAGER: [
        "clinic.view_demographics",
        "clinic.manage_bookings",
        "clinic.view_clinical",
        *PATIENT_DESK,
        "consultations.archive_patient",
        *[
            f"treatments.{verb}_{model}"
            for model in ["threadproduct", "stocklot", "protocolpreset"]
            for verb in ["add", "change", "view"]
        ],
        "treatments.view_treatmentplan",
        "consultations.add_appointmenttype",
        "consultations.change_appointmenttype",
        "consultations.view_appointmenttype",
        "clinic.manage_clinic",
        "clinic.view_reports",
        "clinic.view_auditevent",
        *CLINIC_SETTINGS,
    ],
}


def group_name(role: str) -> str:
    return Role(role).label


def sync_role_groups(apps: Apps = global_apps) -> None:
    """Create the role groups and give each exactly the permissions in the table.

    Permissions of models not migrated yet are skipped; the post_migrate run
    at the end of `migrate` adds them.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Inside a migration the app configs are stubs that create_permissions
        # would skip; mark them as having models for the duration of the call.
        is_stub = getattr(app_config, "models_module", None) is None
        if is_stub:
            # Any true value will do; the real one is a module.
            app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, apps=apps, verbosity=0)
        if is_stub:
            app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name(role))
        # Historical models inside a migration: not the Permission class itself.
        wanted: list[Any] = []
        for code in codes:
            app_label, codename = code.split(".")
            wanted.extend(
                permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(wanted)


def sync_role_group(user: User, role: str) -> None:
    """Put the user in the group of their role, and in no other role's group."""
    wanted = group_name(role)
    others = [group_name(r) for r in Role if group_name(r) != wanted]
    user.groups.remove(*Group.objects.filter(name__in=others))
    user.groups.add(Group.objects.get_or_create(name=wanted)[0])
    # Managers keep the clinic's settings in the admin site; nobody else uses it.
    is_manager = role == Role.MANAGER
    if user.is_staff != is_manager and not user.is_superuser:
        user.is_staff = is_manager
        user.save(update_fields=["is_staff"])
