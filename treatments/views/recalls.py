"""A lot's status and its recalls, for managers: quarantine or recall a lot, contact its patients.

Lots and recalls are held at a location and reached through `for_user`. Every
write goes through treatments.services (stock.change_lot_status, recalls.*);
every list of patients with contact details is audited in each patient's trail.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.models import AuditAction
from clinic.permissions import require_permission
from clinic.spreadsheet_cells import csv_cell
from consultations.models import Patient
from treatments.models import LotRecall, RecallContact, StockLot
from treatments.selectors import location_today
from treatments.services import recalls as recall_services
from treatments.services import stock as stock_services
from treatments.services.recalls import PLACEHOLDERS, RecallPatient
from treatments.stock_forms import (
    LotStatusForm,
    RecallCloseForm,
    RecallContactForm,
    RecallNoticeForm,
    RecallOpenForm,
)

MANAGE_LOTS = "treatments.change_stocklot"
DEFAULT_NOTICE_SUBJECT = "Important: a product used in your treatment at {clinic}"
DEFAULT_NOTICE_BODY = (
    "Dear {patient},\n\n"
    "The manufacturer of {product} has recalled lot {lot}, which was used in your "
    "thread-lift treatment at {clinic}. Please call us on {clinic_phone} so we can "
    "talk it through and arrange a review.\n\n{clinic}\n{clinic_address}"
)


def lot_or_404(request: HttpRequest, pk: int) -> StockLot:
    return get_for_user_or_404(
        StockLot.objects.select_related("product", "location"), request.user, pk=pk
    )


def recall_or_404(request: HttpRequest, pk: int) -> LotRecall:
    return get_for_user_or_404(
        LotRecall.objects.select_related("lot__product", "lot__location", "opened_by", "closed_by"),
        request.user,
        pk=pk,
    )


def render_lot(
    request: HttpRequest,
    lot: StockLot,
    *,
    status_form: LotStatusForm | None = None,
    recall_form: RecallOpenForm | None = None,
    status: int = 200,
) -> HttpResponse:
    recalls = list(lot.recalls.all())
    return render(
        request,
        "treatments/stock/lot_detail.html",
        {
            "lot": lot,
            "changes": lot.status_changes.select_related("changed_by"),
            "recalls": recalls,
            "has_open_recall": any(recall.is_open for recall in recalls),
            "status_form": status_form or LotStatusForm(),
            "recall_form": recall_form
            or RecallOpenForm(initial={"announced_on": location_today(lot.location)}),
        },
        status=status,
    )


@require_permission(MANAGE_LOTS)
@require_GET
def lot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A lot: its status and the history of changes, its recalls, and the forms to change them."""
    return render_lot(request, lot_or_404(request, pk))


@require_permission(MANAGE_LOTS)
@require_POST
def lot_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Quarantine, recall or release a lot (managers only)."""
    lot = lot_or_404(request, pk)
    form = LotStatusForm(request.POST)
    if form.is_valid():
        try:
            stock_services.change_lot_status(
                lot=lot,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, f"Lot {lot.lot_number} is now {lot.get_status_display().lower()}."
            )
            return redirect("treatments:lot_detail", pk=lot.pk)
    return render_lot(request, lot, status_form=form, status=400)


@require_permission(MANAGE_LOTS)
@require_POST
def recall_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a recall of a lot: the lot is marked recalled and its patients are listed."""
    lot = lot_or_404(request, pk)
    form = RecallOpenForm(request.POST)
    if form.is_valid():
        try:
            recall = recall_services.open_recall(
                lot=lot,
                reason=form.cleaned_data["reason"],
                announced_on=form.cleaned_data["announced_on"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        except IntegrityError:
            form.add_error(None, f"Lot {lot.lot_number} already has an open recall.")
        else:
            messages.success(request, f"Opened the recall of lot {lot.lot_number}.")
            return redirect("treatments:recall_detail", pk=recall.pk)
    return render_lot(request, lot, recall_form=form, status=400)


def audit_listing(request: HttpRequest, recall: LotRecall, patients: list[RecallPatient], how: str):
    """Each listed patient's own trail shows that their contact details were listed, and why."""
    actor = Actor.from_request(request)
    record_event(
        action=AuditAction.VIEW,
        actor=actor,
        obj=recall,
        summary=f"{how} the recall of lot {recall.lot.lot_number}: {len(patients)} patient(s)",
    )
    for patient in patients:
        record_event(
            action=AuditAction.VIEW,
            actor=actor,
            obj=recall,
            patient_id=patient.patient_id,
            summary=f"Listed with contact details in the recall of lot {recall.lot.lot_number}",
        )


def render_recall(
    request: HttpRequest,
    recall: LotRecall,
    *,
    contact_form: RecallContactForm | None = None,
    notice_form: RecallNoticeForm | None = None,
    close_form: RecallCloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    patients = recall_services.recall_patients(recall)
    contacts: dict[int, list[RecallContact]] = {}
    for contact in recall.contacts.select_related("contacted_by"):
        contacts.setdefault(contact.patient_id, []).append(contact)
    rows = [
        {"patient": patient, "contacts": contacts.get(patient.patient_id, [])}
        for patient in patients
    ]
    audit_listing(request, recall, patients, "Listed the patients of")
    choices = [(patient.patient_id, patient.name) for patient in patients]
    return render(
        request,
        "treatments/stock/recall_detail.html",
        {
            "recall": recall,
            "rows": rows,
            "contacted": sum(1 for row in rows if row["contacts"]),
            "without_email": [patient for patient in patients if patient.needs_another_way],
            "notices": recall.notices.select_related("sent_by"),
            "contact_form": contact_form or RecallContactForm(patients=choices),
            "notice_form": notice_form
            or RecallNoticeForm(
                initial={"subject": DEFAULT_NOTICE_SUBJECT, "body": DEFAULT_NOTICE_BODY}
            ),
            "close_form": close_form or RecallCloseForm(),
            # A closed recall shows no forms: a refused post's reason is shown on its own.
            "refusals": [
                error
                for form in (contact_form, notice_form, close_form)
                if form is not None
                for error in form.non_field_errors()
            ],
            "placeholders": ["{" + name + "}: " + text for name, text in PLACEHOLDERS.items()],
        },
        status=status,
    )


@require_permission(MANAGE_LOTS)
@require_GET
def recall_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Every patient who received the recalled lot, how to reach them, and who was contacted."""
    return render_recall(request, recall_or_404(request, pk))


@require_permission(MANAGE_LOTS)
@require_POST
def recall_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one patient on the list contacted: how, and what came of it."""
    recall = recall_or_404(request, pk)
    patients = recall_services.recall_patients(recall)
    form = RecallContactForm(
        request.POST, patients=[(patient.patient_id, patient.name) for patient in patients]
    )
    if form.is_valid():
        try:
            recall_services.record_contact(
                recall=recall,
                patient=Patient.objects.get(pk=form.cleaned_data["patient"]),
                method=form.cleaned_data["method"],
                outcome=form.cleaned_data["outcome"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Contact recorded.")
            return redirect("treatments:recall_detail", pk=recall.pk)
    return render_recall(request, recall, contact_form=form, status=400)


@require_permission(MANAGE_LOTS)
@require_POST
def recall_notify(request: HttpRequest, pk: int) -> HttpResponse:
    """Email the recall notice to every patient on the list who has an address."""
    recall = recall_or_404(request, pk)
    form = RecallNoticeForm(request.POST)
    if form.is_valid():
        try:
            notice = recall_services.send_recall_notice(
                recall=recall,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, f"Emailed the recall notice to {notice.recipients} patient(s)."
            )
            return redirect("treatments:recall_detail", pk=recall.pk)
    return render_recall(request, recall, notice_form=form, status=400)


@require_permission(MANAGE_LOTS)
@require_POST
def recall_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close the recall once every patient on its list has a recorded contact."""
    recall = recall_or_404(request, pk)
    form = RecallCloseForm(request.POST)
    if form.is_valid():
        try:
            recall_services.close_recall(
                recall=recall, note=form.cleaned_data["note"], actor=Actor.from_request(request)
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                f"Closed the recall of lot {recall.lot.lot_number}. The lot stays recalled.",
            )
            return redirect("treatments:recall_detail", pk=recall.pk)
    return render_recall(request, recall, close_form=form, status=400)


CSV_COLUMNS = [
    "record_number",
    "name",
    "phone",
    "email",
    "treated_on",
    "threads",
    "contacted",
    "last_contact",
]


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def recall_csv_rows(recall: LotRecall, patients: list[RecallPatient]) -> Iterator[str]:
    contacts: dict[int, list[RecallContact]] = {}
    for contact in recall.contacts.all():
        contacts.setdefault(contact.patient_id, []).append(contact)
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a byte-order mark, so spreadsheets read names with accents as UTF-8
    yield writer.writerow(CSV_COLUMNS)
    zone = recall.lot.location.zone
    for patient in patients:
        made = contacts.get(patient.patient_id, [])
        last = made[-1] if made else None
        cells: list[Any] = [
            patient.record_number,
            patient.name,
            patient.phone,
            patient.email,
            " ".join(day.isoformat() for day in patient.treated_on),
            patient.threads,
            "yes" if made else "no",
            f"{last.contacted_at.astimezone(zone):%Y-%m-%d %H:%M} "
            f"{last.get_method_display()}: {last.outcome}"
            if last
            else "",
        ]
        yield writer.writerow([csv_cell(cell) for cell in cells])


@require_permission(MANAGE_LOTS)
@require_GET
def recall_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The recall's patients with contact details and contacts, as CSV (formulas neutralised)."""
    recall = recall_or_404(request, pk)
    patients = recall_services.recall_patients(recall)
    audit_listing(request, recall, patients, "Exported as CSV")
    response = StreamingHttpResponse(
        recall_csv_rows(recall, patients), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="recall-{recall.pk}.csv"'
    response["Cache-Control"] = "no-store, private"
    return response
