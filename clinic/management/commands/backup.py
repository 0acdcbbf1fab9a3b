from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from clinic.backups import create_backup


class Command(BaseCommand):
    help = "Back up the database and the private media into a new folder."

    def add_arguments(self, parser):
        parser.add_argument(
            "target", nargs="?", default=str(Path(settings.BASE_DIR) / "var" / "backups")
        )

    def handle(self, *args, target: str, **options):
        folder = create_backup(Path(target))
        self.stdout.write(self.style.SUCCESS(f"Backup written to {folder}"))
