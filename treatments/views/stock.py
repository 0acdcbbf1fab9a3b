"""Stock pages for managers: what is on the shelf, receiving a delivery, tracing a lot.

Stock belongs to a location: the overview and receiving work at the user's
current location; a trace looks across every location the user works at.
Lots are never deleted (a recall needs them), so nothing here deletes.
Every write goes through treatments.services.receive_stock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.locations import current_location
from clinic.models import AuditAction, Location
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from treatments.models import (
    PlacedThreads,
    StockLot,
    ThreadProduct,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services import stock as stock_services
from treatments.stock_forms import LotTraceForm, ReceiveLotForm

# A product is low on stock at a location when fewer unexpired threads than this are on hand.
LOW_STOCK_THRESHOLD = 10
# Lots expiring within this many days are listed to be used first.
EXPIRING_WITHIN_DAYS = 30


def location_today(location: Location | None) -> date:
    """Today on the location's calendar (a clinic ahead of the server must not lag a day)."""
    return timezone.localdate(timezone=location.zone) if location else timezone.localdate()


@dataclass
class LowStock:
    product: ThreadProduct
    on_hand: int
    lots: list[StockLot] = field(default_factory=list)


@require_permission("treatments.view_stocklot")
@require_GET
def stock_overview(request: HttpRequest) -> HttpResponse:
    """The current location's lots: in date, expiring soon, low per product, expired."""
    location = current_location(request)
    today = location_today(location)
    soon = today + timedelta(days=EXPIRING_WITHIN_DAYS)
    lots = (
        list(
            StockLot.objects.filter(location=location)
            .select_related("product")
            .order_by("expires_on", "product__name", "lot_number")
        )
        if location
        else []
    )
    in_date = [lot for lot in lots if lot.expires_on >= today]
    expired = sorted(
        (lot for lot in lots if lot.expires_on < today),
        key=lambda lot: (lot.expires_on, lot.lot_number),
        reverse=True,
    )
    expiring_soon = [lot for lot in in_date if lot.expires_on <= soon and lot.quantity_on_hand]
    # Low stock: every active product this location stocks (has ever received),
    # counting only unexpired threads on hand.
    stocked: dict[int, LowStock] = {}
    for lot in lots:
        if not lot.product.is_active:
            continue
        entry = stocked.setdefault(lot.product_id, LowStock(product=lot.product, on_hand=0))
        if lot.expires_on >= today:
            entry.on_hand += lot.quantity_on_hand
            if lot.quantity_on_hand:
                entry.lots.append(lot)
    low_stock = sorted(
        (entry for entry in stocked.values() if entry.on_hand < LOW_STOCK_THRESHOLD),
        key=lambda entry: (entry.on_hand, entry.product.name),
    )
    return render(
        request,
        "treatments/stock/overview.html",
        {
            "location": location,
            "today": today,
            "in_date": in_date,
            "expiring_soon": expiring_soon,
            "expired": expired,
            "low_stock": low_stock,
            "low_stock_threshold": LOW_STOCK_THRESHOLD,
            "expiring_within_days": EXPIRING_WITHIN_DAYS,
            "can_receive": request.user.has_perm("treatments.add_stocklot"),
            "can_trace": request.user.has_perm("clinic.view_reports"),
        },
    )


@require_permission("treatments.add_stocklot")
@require_http_methods(["GET", "POST"])
def receive_lot(request: SignedInRequest) -> HttpResponse:
    """Book a delivered lot into the current location's stock."""
    location = current_location(request)
    form = ReceiveLotForm(
        request.POST if request.method == "POST" else None,
        location=location,
        today=location_today(location),
    )
    # The form refuses to be valid without a location; the type checker needs telling.
    if request.method == "POST" and form.is_valid() and location is not None:
        details = form.cleaned_data
        try:
            lot = stock_services.receive_stock(
                product=details["product"],
                location=location,
                lot_number=details["lot_number"],
                expires_on=details["expires_on"],
                quantity=details["quantity"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        except IntegrityError:
            # Someone received the same lot a moment ago (the form checked, then they won).
            form.add_error("lot_number", "This lot was just received by someone else.")
        else:
            messages.success(
                request,
                f"Received {lot.quantity_received} × {lot.product.name}, lot {lot.lot_number} "
                f"(expires {lot.expires_on:%d %b %Y}), at {location}.",
            )
            return redirect("treatments:stock_overview")
    return render(
        request,
        "treatments/stock/receive.html",
        {"form": form, "location": location},
        status=400 if request.method == "POST" else 200,
    )


@dataclass
class Recipient:
    """A patient who received threads from the lot in a completed session, and how to reach them."""

    patient_id: int
    name: str
    record_number: str
    phone: str
    email: str
    treated_on: date
    practitioner: str
    session: TreatmentSession
    threads: int


@dataclass
class LotTrace:
    lot: StockLot
    plans: list[TreatmentPlan]
    patients: list[Recipient] = field(default_factory=list)


def recipients_of(lots: list[StockLot]) -> dict[int, list[Recipient]]:
    """Per lot, every patient who received it: from the threads placed in completed sessions.

    One query for any number of lots. A patient treated twice with the lot is
    listed once per session (each is a date a doctor may need).
    """
    by_session: dict[tuple[int, int], Recipient] = {}
    zones = {lot.pk: lot.location.zone for lot in lots}
    rows = (
        PlacedThreads.objects.filter(lot__in=lots, session__completed_at__isnull=False)
        .select_related("session__patient", "session__practitioner__user")
        .order_by("session__completed_at", "session_id", "pk")
    )
    for placed in rows:
        session = placed.session
        key = (placed.lot_id, session.pk)
        if key in by_session:
            by_session[key].threads += placed.count
            continue
        patient = session.patient
        by_session[key] = Recipient(
            patient_id=patient.pk,
            name=patient.full_name,
            record_number=patient.record_number,
            phone=patient.phone.as_international if patient.phone else "",
            email=patient.email,
            treated_on=timezone.localtime(session.completed_at, zones[placed.lot_id]).date(),
            practitioner=str(session.practitioner),
            session=session,
            threads=placed.count,
        )
    result: dict[int, list[Recipient]] = {lot.pk: [] for lot in lots}
    for (lot_id, _session_id), recipient in by_session.items():
        result[lot_id].append(recipient)
    return result


def plans_that_may_have_used(lot: StockLot) -> list[TreatmentPlan]:
    """Plans at the lot's location with vectors of its product, made before the lot expired.

    Plans do not name lots (sessions will), so this lists every plan that could have
    drawn on the lot: over-inclusive on purpose, as a recall should be.
    """
    zone = lot.location.zone
    after_expiry = datetime.combine(lot.expires_on + timedelta(days=1), time.min, tzinfo=zone)
    return list(
        TreatmentPlan.objects.filter(
            location_id=lot.location_id,
            vectors__product_id=lot.product_id,
            created_at__lt=after_expiry,
        )
        .select_related("patient", "practitioner__user")
        .distinct()
        .order_by("-created_at", "-pk")
    )


@require_permission("clinic.view_reports")
@require_GET
def lot_trace(request: HttpRequest) -> HttpResponse:
    """Who received a lot (with contact details), and every plan that could have drawn on it.

    Looks at every location the user works at.
    """
    form = LotTraceForm(request.GET if "lot" in request.GET else None)
    traces: list[LotTrace] | None = None
    if form.is_valid():
        query = form.cleaned_data["lot"]
        lots = (
            StockLot.objects.for_user(request.user)
            .filter(lot_number__iexact=query)
            .select_related("product", "location")
            .order_by("location__name", "product__name", "pk")
        )
        found = list(lots)
        received = recipients_of(found)
        traces = [
            LotTrace(lot=lot, plans=plans_that_may_have_used(lot), patients=received[lot.pk])
            for lot in found
        ]
        plans = [plan for trace in traces for plan in trace.plans]
        recipients = [recipient for trace in traces for recipient in trace.patients]
        listed = {plan.patient_id for plan in plans} | {r.patient_id for r in recipients}
        summary = (
            f"Traced lot {query[:80]}: {len(traces)} lot(s), {len(plans)} plan(s), "
            f"{len(listed)} patient(s)"
        )
        if recipients:
            summary += f"; {len({r.patient_id for r in recipients})} received it"
        actor = Actor.from_request(request)
        record_event(action=AuditAction.VIEW, actor=actor, summary=summary)
        # Each patient's own trail shows that they were listed, and for which lot.
        for trace in traces:
            for plan in trace.plans:
                record_event(
                    action=AuditAction.VIEW,
                    actor=actor,
                    obj=plan,
                    patient_id=plan.patient_id,
                    summary=f"Listed in the trace of lot {trace.lot.lot_number} "
                    f"({trace.lot.product.name})",
                )
            for recipient in trace.patients:
                record_event(
                    action=AuditAction.VIEW,
                    actor=actor,
                    obj=recipient.session,
                    patient_id=recipient.patient_id,
                    summary=f"Listed with contact details as a recipient of lot "
                    f"{trace.lot.lot_number} ({trace.lot.product.name})",
                )
    return render(
        request,
        "treatments/stock/trace.html",
        {"form": form, "traces": traces},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )
