from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def sync_role_groups_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    from clinic.roles import sync_role_groups

    sync_role_groups()


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from clinic import signals  # noqa: F401  (connects the sign-in audit receivers)

        post_migrate.connect(sync_role_groups_after_migrate, sender=self)
