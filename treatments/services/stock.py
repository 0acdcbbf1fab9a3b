"""Stock: receiving lots of thread products at a location, and changing a lot's status, audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, Location
from treatments.models import (
    LotStatus,
    LotStatusChange,
    StockLot,
    ThreadProduct,
)

LOT_STATUS_REASON_MAX_LENGTH = 2000


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


@transaction.atomic
def change_lot_status(*, lot: StockLot, status: str, reason: str, actor: Actor) -> LotStatusChange:
    """Quarantine, recall or release a lot, keeping who, when and why (never overwritten).

    Quarantined and recalled lots cannot be used in a session (see lot_problems).
    """
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if status not in LotStatus.values:
        errors["status"] = ["Choose active, quarantined or recalled."]
    if not reason:
        errors["reason"] = ["Say why the lot's status changes."]
    elif len(reason) > LOT_STATUS_REASON_MAX_LENGTH:
        errors["reason"] = [f"Keep the reason under {LOT_STATUS_REASON_MAX_LENGTH} characters."]
    if errors:
        raise ValidationError(errors)
    locked = StockLot.objects.select_for_update().get(pk=lot.pk)
    if locked.status == status:
        raise ValidationError(
            {"status": [f"Lot {locked.lot_number} is already {LotStatus(status).label.lower()}."]}
        )
    change = LotStatusChange.objects.create(
        lot=locked,
        previous_status=locked.status,
        status=status,
        reason=reason,
        changed_by=actor.user,
    )
    locked.status = status
    locked.save(update_fields=["status"])
    lot.status = status
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        summary=f"Lot {locked.lot_number} ({locked.product.name}) "
        f"{LotStatus(change.previous_status).label.lower()} to "
        f"{LotStatus(status).label.lower()}: {reason[:150]}",
    )
    return change


def lot_problems(lots: Iterable[StockLot], *, on: date) -> list[str]:
    """Why each of these lots may not be used on `on` (the location's date), one line
    per problem, naming the lot; empty when every lot may be used.

    The one place that says whether a lot can go into a patient: the treatment-day
    check and the completion of a session both ask it. A lot past its expiry date
    cannot, nor can a quarantined or recalled one.
    """
    problems = []
    for lot in lots:
        if lot.status != LotStatus.ACTIVE:
            problems.append(
                f"Lot {lot.lot_number} is {LotStatus(lot.status).label.lower()} and cannot be used."
            )
        elif lot.expires_on < on:
            problems.append(
                f"Lot {lot.lot_number} of {lot.product.name} has expired "
                f"(expiry date {lot.expires_on:%d %b %Y}): do not use it."
            )
    return problems
