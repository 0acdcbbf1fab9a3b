from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.backups import restore_backup


class Command(BaseCommand):
    help = "Replace the database and the private media with a backup folder's contents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", help="A folder written by `manage.py backup`.")
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask: the current data is replaced."
        )

    def handle(self, *args: Any, folder: str, yes: bool, **options: Any) -> None:
        if not (Path(folder) / "manifest.json").is_file():
            raise CommandError(f"{folder} is not a Threadline backup (no manifest.json).")
        if not yes:
            answer = input(
                "This replaces every record and photo with the backup's. Type 'restore': "
            )
            if answer.strip() != "restore":
                raise CommandError("Nothing was restored.")
        restore_backup(Path(folder))
        self.stdout.write(self.style.SUCCESS(f"Restored {folder}"))
