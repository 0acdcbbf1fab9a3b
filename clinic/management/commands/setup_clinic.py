"""Set up a real clinic: organisation, first location, first manager, default clinical content.

For scripts every answer has a flag and the password comes from the environment
(SETUP_MANAGER_PASSWORD); anything missing is asked for when run at a terminal.
Running it again with the same answers changes nothing. No demo patients or demo
accounts, and it runs with DEBUG off.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.actors import Actor
from clinic.site.first_day import ClinicDetails, ClinicSetup, set_up_clinic

PASSWORD_VARIABLE = "SETUP_MANAGER_PASSWORD"  # noqa: S105  (the variable's name, not a password)

# flag, question, default
QUESTIONS: list[tuple[str, str, str]] = [
    ("clinic_name", "Clinic (organisation) name", ""),
    ("location_name", "First location's name", ""),
    ("time_zone", "Its time zone (IANA, e.g. Europe/London)", "Europe/London"),
    ("address", "Its postal address (use \\n between lines)", ""),
    ("phone", "Its phone number", ""),
    ("emergency_phone", "Out-of-hours emergency phone printed on aftercare", ""),
    ("country", "Country code (GB, US, …)", "GB"),
    ("currency", "Currency prices are shown in (ISO 4217; empty for the country's)", ""),
    ("manager_username", "First manager's username", ""),
    ("manager_email", "First manager's email", ""),
]


class Command(BaseCommand):
    help = (
        "Set up a new clinic: the organisation, its first location and manager, and the "
        "default consent form, aftercare, presets and appointment types (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        for name, question, _default in QUESTIONS:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=question)
        parser.add_argument(
            "--no-input",
            action="store_false",
            dest="interactive",
            help=f"Ask nothing: answers from the flags, the password from {PASSWORD_VARIABLE}.",
        )

    def handle(self, *args: Any, interactive: bool = True, **options: Any) -> None:
        interactive = interactive and sys.stdin.isatty()
        answers = {
            name: self._answer(options.get(name), question, default, interactive)
            for name, question, default in QUESTIONS
        }
        answers["address"] = answers["address"].replace("\\n", "\n")
        password = os.environ.get(PASSWORD_VARIABLE, "")
        if not password and interactive:
            password = getpass.getpass("First manager's password: ")
        if not password:
            raise CommandError(
                f"The manager's password is missing: set {PASSWORD_VARIABLE} or run at a terminal."
            )
        try:
            setup = set_up_clinic(
                details=ClinicDetails(**answers, manager_password=password),
                actor=Actor.system(),
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self._report(setup)

    def _answer(self, given: str | None, question: str, default: str, interactive: bool) -> str:
        if given is not None:
            return given
        if interactive:
            suffix = f" [{default}]" if default else ""
            return input(f"{question}{suffix}: ").strip() or default
        return default

    def _report(self, setup: ClinicSetup) -> None:
        content = setup.content
        if not setup.created and not setup.appointment_types and not content.created:
            self.stdout.write(f"{setup.organisation} is already set up: nothing changed.")
        else:
            for what in setup.created:
                self.stdout.write(f"Created {what}.")
            self.stdout.write(
                f"Installed {setup.appointment_types} appointment types, "
                f"{content.consent_forms} consent form, {content.aftercare} aftercare "
                f"instructions and {content.presets} protocol presets."
            )
        for waiting in content.presets_waiting or []:
            self.stdout.write(
                f"Waiting: the preset {waiting}. Add your thread products in Clinic settings, "
                "then run setup_clinic again to install it."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{setup.location} is ready. Next, in Clinic settings: rooms, staff and their "
                "working hours, thread products; then receive stock on the Stock page."
            )
        )
