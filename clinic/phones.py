"""Phone numbers as a location's country writes them: one check for patients' and the
clinic's own numbers, and an error that shows the format expected there.

A number is accepted when libphonenumber (Google's, through the `phonenumbers`
package) finds it valid, typed as dialled in the location's country or with its
country code: the same test django-phonenumber-field applies to a patient's number.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from phonenumber_field.formfields import PhoneNumberField

# How the error names a country's numbers ("Enter a UK phone number ..."); others by code.
COUNTRY_ADJECTIVES = {
    "GB": "UK",
    "US": "US",
    "IE": "Irish",
    "AU": "Australian",
    "NZ": "New Zealand",
    "CA": "Canadian",
    "DE": "German",
    "FR": "French",
    "ES": "Spanish",
    "IT": "Italian",
    "NL": "Dutch",
    "BE": "Belgian",
    "AT": "Austrian",
    "CH": "Swiss",
}


def known_region(country: str | None) -> str | None:
    """The country code if libphonenumber knows its numbering plan, else None."""
    code = (country or "").upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def phone_format_message(country: str | None) -> str:
    """What a refused number is told: the country's format, shown both ways by example."""
    region = known_region(country)
    example = phonenumbers.example_number(region) if region else None
    if region is None or example is None:
        return "Enter a phone number with its country code, such as +44 20 7946 0321."
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(
        example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    adjective = COUNTRY_ADJECTIVES.get(region, region)
    return f"Enter a {adjective} phone number such as {national} or {international}."


def validate_phone(value: str, country: str | None) -> str:
    """The number in E.164 (+442079460321) if it is a valid number as typed in `country`
    (or with a country code); ValidationError saying the expected format otherwise."""
    region = known_region(country)
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(phone_format_message(country), code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class LocalPhoneField(PhoneNumberField):
    """A form's phone number, typed as people dial it in `country` (the location's)."""

    def __init__(self, *args: Any, country: str | None = None, **kwargs: Any) -> None:
        region = known_region(country or settings.PHONENUMBER_DEFAULT_REGION)
        message = phone_format_message(region)
        # "invalid": not a number at all; "invalid_phone_number": the package's validator.
        kwargs["error_messages"] = {
            "invalid": message,
            "invalid_phone_number": message,
            **kwargs.get("error_messages", {}),
        }
        super().__init__(*args, region=region, **kwargs)
