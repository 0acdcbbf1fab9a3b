import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.site.large_clinic import seed_large_clinic


class Command(BaseCommand):
    help = "Fill an EMPTY database with a large clinic for benchmarks and load tests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production", action="store_true", help="Seed even with DEBUG off."
        )

    def handle(self, *args: Any, allow_production: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError("Seeding invents patients: refusing with DEBUG off.")
        started = time.monotonic()
        try:
            counts = seed_large_clinic(stdout=self.stdout)
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded in {elapsed:.0f} s: {summary}."))
