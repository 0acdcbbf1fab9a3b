from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from clinic.backups import create_backup


class Command(BaseCommand):
    help = "Back up the database and the private media into a new folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target", nargs="?", default=str(Path(settings.BASE_DIR) / "var" / "backups")
        )

    def handle(self, *args: Any, target: str, **options: Any) -> None:
        folder = create_backup(Path(target))
        self.stdout.write(self.style.SUCCESS(f"Backup written to {folder}"))
