"""Stock pages for managers: what is on the shelf, receiving a delivery, tracing a lot.

Stock belongs to a location: the overview and receiving work at the user's
current location; a trace looks across every location the user works at.
Lots are never deleted (a recall needs them), so nothing here deletes.
Every write goes through treatments.services.receive_stock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.locations import current_location
from clinic.models import AuditAction
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from treatments.models import StockLot, TreatmentPlan
from treatments.selectors import (
    EXPIRING_WITHIN_DAYS,
    Recipient,
    location_today,
    recipients_of,
    stock_alerts,
)
from treatments.services import stock as stock_services
from treatments.stock_forms import LotTraceForm, ReceiveLotForm


@require_permission("treatments.view_stocklot")
@require_GET
def stock_overview(request: HttpRequest) -> HttpResponse:
    """The current location's lots and their alerts: expiring soon, low stock, open recalls."""
    location = current_location(request)
    today = location_today(location)
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
    alerts = stock_alerts(location, lots=lots) if location else None
    return render(
        request,
        "treatments/stock/overview.html",
        {
            "location": location,
            "today": today,
            "in_date": in_date,
            "expired": expired,
            "alerts": alerts,
            "expiring_within_days": EXPIRING_WITHIN_DAYS,
            "can_receive": request.user.has_perm("treatments.add_stocklot"),
            "can_trace": request.user.has_perm("clinic.view_reports"),
            "can_manage_lots": request.user.has_perm("treatments.change_stocklot"),
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
class LotTrace:
    lot: StockLot
    plans: list[TreatmentPlan]
    patients: list[Recipient] = field(default_factory=list)


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
