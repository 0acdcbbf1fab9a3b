"""Stock: receiving lots of thread products at a location, audited."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, Location
from treatments.models import (
    StockLot,
    ThreadProduct,
)


@transaction.atomic
def receive_stock(
    *,
    product: ThreadProduct,
    location: Location,
    lot_number: str,
    expires_on: date,
    quantity: int,
    actor: Actor,
) -> StockLot:
    """Book a delivered lot into a location's stock (in date, of a product still in use)."""
    if not product.is_active:
        raise ValidationError({"product": [f"{product.name} is no longer in use."]})
    if expires_on < timezone.localdate(timezone=location.zone):
        raise ValidationError({"expires_on": ["This lot has already expired."]})
    if StockLot.objects.filter(
        product=product, location=location, lot_number__iexact=lot_number.strip()
    ).exists():
        raise ValidationError({"lot_number": ["This lot is already in stock here."]})
    lot = StockLot(
        product=product,
        location=location,
        lot_number=lot_number.strip(),
        expires_on=expires_on,
        quantity_received=quantity,
        quantity_on_hand=quantity,
    )
    lot.full_clean()
    lot.save()
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=lot,
        summary=f"Received {quantity} × {product.name}, lot {lot.lot_number}, at {location}",
    )
    return lot
