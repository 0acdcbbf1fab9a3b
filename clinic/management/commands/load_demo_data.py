"""Fill an empty database with a small living clinic; running it again changes nothing."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.roles import Role
from clinic.site.demo import DEMO_PASSWORD, STAFF, load_demo_everything


class Command(BaseCommand):
    help = "Load the demo clinic (idempotent) and print the demo sign-ins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load demo accounts even with DEBUG off (never on a real clinic's database).",
        )

    def handle(self, *args: Any, allow_production: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Demo data has well-known passwords: refusing with DEBUG off "
                "(pass --allow-production for a throwaway server)."
            )
        created = load_demo_everything()
        if any(created.values()):
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo clinic loaded: {created['patients'] + created['stories']} patients "
                    f"({created['stories']} of them at each stage from a booked consultation "
                    "to a review, with one adverse event and one recalled lot), "
                    f"{created['appointments']} appointments in the coming week, "
                    f"{created['treatments']} thread products, stock lots and presets. "
                    "Nothing was emailed."
                )
            )
        else:
            self.stdout.write("Demo clinic already present.")
        self.stdout.write(f"\nDemo sign-ins (the password for all: {DEMO_PASSWORD})\n")
        rows = [("Username", "Role", "Name", "Locations")] + [
            (username, Role(role).label, f"{first} {last}", ", ".join(locations))
            for username, first, last, role, locations, _ in STAFF
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write(f"  {'  '.join([*cells, row[3]])}")
