"""The `money` filter: {{ amount|money:location.currency }} writes £1,234.50 (clinic.currency)."""

from decimal import Decimal

from django import template

from clinic.currency import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | float | str | None, currency: str) -> str:
    return format_money(amount, currency or "")
