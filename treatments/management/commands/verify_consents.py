"""`manage.py verify_consents`: check every signed consent and the chain that links them."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from treatments.services.consent import check_all_consents


class Command(BaseCommand):
    help = (
        "Check every signed consent (content, seal, chain link, stored PDF copy): one line "
        "per problem, and a non-zero exit status if there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--require-some",
            action="store_true",
            help="Fail when there is no signed consent to check (where some are expected, as "
            "in the demo clinic).",
        )

    def handle(self, *args: Any, require_some: bool = False, **options: Any) -> None:
        checked = failed = 0
        for check in check_all_consents():
            checked += 1
            if check.intact:
                continue
            failed += 1
            consent = check.consent
            for problem in check.problems:
                self.stderr.write(
                    f"consent {consent.pk} (patient {consent.patient.record_number}, "
                    f"fingerprint {consent.fingerprint}): {problem}"
                )
        if failed:
            raise CommandError(f"{failed} of {checked} signed consents failed the check.")
        if not checked:
            if require_some:
                raise CommandError("No consent has been signed yet, though some were expected.")
            self.stdout.write("No consent has been signed yet: nothing to check.")
        elif checked == 1:
            self.stdout.write(self.style.SUCCESS("The one signed consent is intact."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"All {checked} signed consents are intact, and so is their chain."
                )
            )
