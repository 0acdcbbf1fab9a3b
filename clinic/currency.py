"""Money as a location shows it: the currency its country uses and how a price is written.

Prices (a product's unit price, a plan's estimated cost) are plain amounts; the
location they are shown at says which currency they are in (Location.currency,
an ISO 4217 code). Every price on a page or a printed document goes through
`format_money` (in templates, the `money` filter of clinic/templatetags/money.py);
the planner's script writes the same format (static/js/planner-model.js, formatMoney).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")

EURO_COUNTRIES = {
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PT", "SI", "SK",
}  # fmt: skip
# A country's currency when the manager does not name one (ISO 3166 to ISO 4217).
CURRENCY_BY_COUNTRY = {
    "GB": "GBP",
    "US": "USD",
    "AU": "AUD",
    "CA": "CAD",
    "NZ": "NZD",
    "CH": "CHF",
    **dict.fromkeys(EURO_COUNTRIES, "EUR"),
}
# Written before the amount. "A$" and the like tell dollars apart where people meet
# several; a currency not listed here is written after the amount by its code.
SYMBOLS = {
    "GBP": "£",
    "USD": "$",
    "EUR": "€",
    "AUD": "A$",
    "CAD": "CA$",
    "NZD": "NZ$",
}


def currency_for_country(country: str) -> str:
    """The ISO 4217 code of the country's currency, or "" if it must be asked for."""
    return CURRENCY_BY_COUNTRY.get(country.upper(), "")


def money_parts(currency: str) -> tuple[str, str]:
    """What is written before and after the amount: ("£", "") or ("", " CHF")."""
    if currency in SYMBOLS:
        return SYMBOLS[currency], ""
    return "", f" {currency}" if currency else ""


def format_money(amount: Decimal | int | float | str | None, currency: str) -> str:
    """£1,234.50 for GBP, $38.00 for USD, 12.00 CHF; "" when there is no amount."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    before, after = money_parts(currency)
    sign = "-" if value < 0 else ""
    return f"{sign}{before}{abs(value):,.2f}{after}"
