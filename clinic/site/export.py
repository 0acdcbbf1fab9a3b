"""A patient's whole record as one ZIP file: the right of access (UK GDPR Article 15).

`export_patient_record` gathers everything the clinic holds about one patient
and returns a ZIP holding:

- `summary.pdf`: the record in words, through the one PDF renderer
  (clinic.site.record_summary.PatientRecordSummary);
- `record.json`: every record as structured data (UTC times and dates in
  ISO 8601, keys sorted, lists oldest first), people and products by name;
- `photos/<view>-<stage>-<date>-<id>.jpg`: the stored photo files, byte for byte;
- `signatures/consent-<id>-patient.png`: the patient's own signature on each consent;
- `consents/consent-<id>.pdf` and `aftercare/aftercare-session-<id>.pdf`: the
  copies the patient took home (treatments.documents);
- `README.txt`: what each part is.

The export is written to the audit trail. One patient's record fits in memory.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Prefetch
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, Location, Room, StaffMember
from clinic.people import person_name
from clinic.site.privacy import photo_use_allowed
from clinic.site.record_summary import PatientRecordSummary
from consultations.models import (
    Appointment,
    AppointmentType,
    Consultation,
    ErasureRequest,
    MedicalHistory,
    Patient,
    PatientPhoto,
    Screening,
)
from treatments.documents import AftercareSheet, ConsentCopy
from treatments.models import (
    AdverseEvent,
    ConsentTemplate,
    ConsentWithdrawal,
    Outcome,
    PhotoUse,
    PlacedThreads,
    SignedConsent,
    StockLot,
    ThreadProduct,
    TreatmentPlan,
    TreatmentSession,
)

logger = logging.getLogger(__name__)

FORMAT_NAME = "Threadline patient record"
FORMAT_VERSION = 1
# Fields that are derived for search, not information about the patient.
DERIVED_FIELDS = {"search_name", "phone_digits"}


@dataclass
class PatientRecord:
    """Everything held about one patient, each list oldest first."""

    patient: Patient
    patient_versions: list[Any]
    medical_histories: list[MedicalHistory]
    photos: list[PatientPhoto]
    appointments: list[Appointment]
    consultations: list[Consultation]
    screenings: list[Screening]
    plans: list[TreatmentPlan]
    consents: list[SignedConsent]
    sessions: list[TreatmentSession]
    outcomes: list[Outcome]
    adverse_events: list[AdverseEvent]
    erasure_requests: list[ErasureRequest]
    photo_uses_allowed: dict[str, bool] = field(default_factory=dict)

    def photo_filename(self, photo: PatientPhoto) -> str:
        return f"photos/{photo.view}-{photo.stage}-{photo.taken_on.isoformat()}-{photo.pk}.jpg"


def collect_patient_record(patient: Patient) -> PatientRecord:
    """Read the patient's whole record: a fixed number of queries, however much there is."""
    patient = Patient.objects.select_related("preferred_location", "created_by").get(pk=patient.pk)
    return PatientRecord(
        patient=patient,
        patient_versions=list(patient.history.order_by("history_date", "history_id")),
        medical_histories=list(
            patient.medical_histories.select_related("submitted_by")
            .prefetch_related("previous_treatments")
            .order_by("version")
        ),
        photos=list(patient.photos.order_by("taken_on", "uploaded_at", "pk")),
        appointments=list(
            patient.appointments.select_related(
                "appointment_type", "location", "room", "practitioner__user"
            )
            .prefetch_related("status_changes")
            .order_by("starts_at", "pk")
        ),
        consultations=list(
            patient.consultations.select_related("practitioner__user", "appointment__location")
            .prefetch_related("areas", "baseline_photos")
            .order_by("started_at", "pk")
        ),
        screenings=list(
            patient.screenings.select_related(
                "medical_history",
                "screened_by",
                "decided_by",
                "consultation__practitioner__user",
                "consultation__appointment__location",
            ).order_by("screened_at", "pk")
        ),
        plans=list(
            patient.treatment_plans.select_related("practitioner__user", "location")
            .prefetch_related("vectors__product")
            .order_by("created_at", "pk")
        ),
        consents=list(
            SignedConsent.objects.filter(patient=patient)
            .select_related("plan", "template", "practitioner__user", "withdrawal")
            .order_by("signed_at", "pk")
        ),
        sessions=list(
            TreatmentSession.objects.filter(patient=patient)
            .select_related("plan", "location", "practitioner__user", "completed_by")
            .prefetch_related(
                Prefetch(
                    "placed",
                    queryset=PlacedThreads.objects.select_related("product", "lot").order_by("pk"),
                ),
                "addenda__added_by",
            )
            .order_by("started_at", "pk")
        ),
        outcomes=list(
            Outcome.objects.filter(session__patient=patient)
            .select_related("recorded_by")
            .prefetch_related("photos")
            .order_by("reviewed_on", "pk")
        ),
        adverse_events=list(
            AdverseEvent.objects.filter(session__patient=patient)
            .select_related("reported_by")
            .prefetch_related("lots__product")
            .order_by("onset_on", "pk")
        ),
        erasure_requests=list(
            patient.erasure_requests.select_related("received_by", "completed_by").order_by(
                "requested_at", "pk"
            )
        ),
        photo_uses_allowed={use: photo_use_allowed(patient, use) for use in PhotoUse.values},
    )


# record.json --------------------------------------------------------------------------


def _staff_label(staff: StaffMember) -> str:
    name = person_name(staff.user)
    return f"{name} ({staff.registration_number})" if staff.registration_number else name


def _lot_label(lot: StockLot) -> dict[str, str]:
    return {
        "lot_number": lot.lot_number,
        "product": f"{lot.product.manufacturer} {lot.product.name}",
        "expires_on": lot.expires_on.isoformat(),
    }


# Related records named rather than numbered: (queryset, label) per model.
LABELLERS: dict[
    type[models.Model],
    tuple[Callable[[], models.QuerySet[Any]], Callable[[Any], str | dict[str, str]]],
] = {
    get_user_model(): (lambda: get_user_model().objects.all(), person_name),
    StaffMember: (lambda: StaffMember.objects.select_related("user"), _staff_label),
    Location: (lambda: Location.objects.all(), lambda location: location.name),
    Room: (lambda: Room.objects.all(), lambda room: room.name),
    AppointmentType: (lambda: AppointmentType.objects.all(), lambda kind: kind.name),
    ThreadProduct: (
        lambda: ThreadProduct.objects.all(),
        lambda product: f"{product.manufacturer} {product.name}",
    ),
    StockLot: (lambda: StockLot.objects.select_related("product"), _lot_label),
    ConsentTemplate: (
        lambda: ConsentTemplate.objects.all(),
        lambda template: f"{template.title} (version {template.version})",
    ),
}


class Labels:
    """Names of the people, places and products the records point to: one query per kind."""

    def __init__(self, objects: Iterable[models.Model]):
        wanted: dict[type[models.Model], set[int]] = defaultdict(set)
        for obj in objects:
            for model_field in obj._meta.concrete_fields:
                model = model_field.related_model if model_field.is_relation else None
                if model in LABELLERS and getattr(obj, model_field.attname) is not None:
                    wanted[model].add(getattr(obj, model_field.attname))
        self.labels: dict[type[models.Model], dict[int, Any]] = {}
        for model, ids in wanted.items():
            queryset, label = LABELLERS[model]
            self.labels[model] = {obj.pk: label(obj) for obj in queryset().filter(pk__in=ids)}

    def of(self, model: type[models.Model], pk: int | None) -> Any:
        if pk is None:
            return None
        return self.labels.get(model, {}).get(pk, f"#{pk}")


def plain(value: Any) -> Any:
    """A field value as JSON: ISO 8601 dates and times, decimals as text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)  # phone numbers and the like


def as_data(obj: models.Model, labels: Labels, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """One record's own fields: choices with their labels, links by name or by id."""
    skipped = set(skip) | DERIVED_FIELDS
    data: dict[str, Any] = {}
    for model_field in obj._meta.concrete_fields:
        name = model_field.name
        if name in skipped or isinstance(model_field, models.FileField):
            continue
        if model_field.is_relation:
            related = model_field.related_model
            pk = getattr(obj, model_field.attname)
            if related is Patient:
                continue  # it is always this patient
            if related in LABELLERS:
                data[name] = labels.of(related, pk)
            else:
                data[f"{name}_id"] = pk
            continue
        value = getattr(obj, model_field.attname)
        data[name] = plain(value)
        if model_field.choices and value not in (None, ""):
            data[f"{name}_label"] = str(dict(model_field.flatchoices).get(value, value))
    return data


def record_data(record: PatientRecord, *, actor: Actor, exported_at: datetime) -> dict[str, Any]:
    """The whole record as plain data, for record.json."""
    nested: list[models.Model] = [
        record.patient,
        *record.patient_versions,
        *record.medical_histories,
        *record.photos,
        *record.appointments,
        *[change for a in record.appointments for change in a.status_changes.all()],
        *record.consultations,
        *record.screenings,
        *record.plans,
        *[vector for plan in record.plans for vector in plan.vectors.all()],
        *record.consents,
        *[c.withdrawal for c in record.consents if _withdrawal(c) is not None],
        *record.sessions,
        *[placed for session in record.sessions for placed in session.placed.all()],
        *[addendum for session in record.sessions for addendum in session.addenda.all()],
        *record.outcomes,
        *record.adverse_events,
        *[lot for event in record.adverse_events for lot in event.lots.all()],
        *record.erasure_requests,
    ]
    labels = Labels(nested)
    photo_files = {photo.pk: record.photo_filename(photo) for photo in record.photos}
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "exported_at": exported_at.isoformat(),
        "exported_by": person_name(actor.user),
        "patient": as_data(record.patient, labels),
        "patient_changes": [
            as_data(version, labels, skip=["history_change_reason"])
            for version in record.patient_versions
        ],
        "medical_histories": [
            {
                **as_data(history, labels),
                "previous_treatments": [
                    as_data(treatment, labels, skip=["medical_history"])
                    for treatment in sorted(history.previous_treatments.all(), key=_pk)
                ],
            }
            for history in record.medical_histories
        ],
        "photos": [
            {**as_data(photo, labels), "file": photo_files[photo.pk]} for photo in record.photos
        ],
        "appointments": [
            {
                **as_data(appointment, labels, skip=["blocked_until"]),
                "status_changes": [
                    as_data(change, labels, skip=["appointment"])
                    for change in sorted(appointment.status_changes.all(), key=_pk)
                ],
            }
            for appointment in record.appointments
        ],
        "consultations": [
            {
                **as_data(consultation, labels),
                "areas": [
                    as_data(area, labels, skip=["consultation"])
                    for area in sorted(consultation.areas.all(), key=_pk)
                ],
                "baseline_photo_ids": sorted(p.pk for p in consultation.baseline_photos.all()),
            }
            for consultation in record.consultations
        ],
        "screenings": [as_data(screening, labels) for screening in record.screenings],
        "treatment_plans": [
            {
                **as_data(plan, labels, skip=["revision"]),
                "vectors": [
                    as_data(vector, labels, skip=["plan"])
                    for vector in sorted(plan.vectors.all(), key=lambda v: (v.position, v.pk))
                ],
            }
            for plan in record.plans
        ],
        "consents": [
            {
                **as_data(consent, labels),
                "patient_signature_file": f"signatures/consent-{consent.pk}-patient.png",
                "withdrawal": (
                    as_data(consent.withdrawal, labels, skip=["consent"])
                    if _withdrawal(consent) is not None
                    else None
                ),
            }
            for consent in record.consents
        ],
        "treatment_sessions": [
            {
                **as_data(session, labels),
                "placed_threads": [
                    as_data(placed, labels, skip=["session"]) for placed in session.placed.all()
                ],
                "addenda": [
                    as_data(addendum, labels, skip=["session"])
                    for addendum in sorted(session.addenda.all(), key=_pk)
                ],
            }
            for session in record.sessions
        ],
        "outcomes": [
            {
                **as_data(outcome, labels),
                "photo_ids": sorted(photo.pk for photo in outcome.photos.all()),
            }
            for outcome in record.outcomes
        ],
        "adverse_events": [
            {
                **as_data(event, labels),
                "lots": sorted(
                    (_lot_label(lot) for lot in event.lots.all()),
                    key=lambda lot: lot["lot_number"],
                ),
            }
            for event in record.adverse_events
        ],
        "erasure_requests": [as_data(request, labels) for request in record.erasure_requests],
        "photo_uses_allowed": dict(record.photo_uses_allowed),
    }


def _pk(obj: models.Model) -> int:
    pk: int = obj.pk
    return pk


def _withdrawal(consent: SignedConsent) -> ConsentWithdrawal | None:
    try:
        return consent.withdrawal
    except ConsentWithdrawal.DoesNotExist:
        return None


# The ZIP -------------------------------------------------------------------------------

README = """\
Your record at {clinic}, exported on {day} for {name} ({record_number}).

summary.pdf     Your record in words: details, medical history, consultations,
                screenings, treatment plans, consents, treatments, reviews,
                complications and appointments. Times are {zone} times.
record.json     The same information as structured data (JSON). Times are in
                UTC, written in ISO 8601 (e.g. 2025-05-14T09:30:00+00:00).
photos/         Your clinical photos as the clinic stores them.
signatures/     Your signature on each consent you signed.
{documents}
If anything here is wrong or missing, tell the clinic: you have the right to
have it corrected.
"""


def _stored_bytes(field_file: FieldFile) -> bytes | None:
    if not field_file.name:  # what `not field_file` asks, in words the type checker follows
        return None
    try:
        with field_file.storage.open(field_file.name, "rb") as stored:
            content: bytes = stored.read()
            return content
    except OSError:
        logger.error("Stored file %s is missing from the export", field_file.name)
        return None


def export_location(patient: Patient, actor: Actor) -> Location | None:
    """Where the export is made (whose time zone and paper the summary uses)."""
    return actor.location or patient.preferred_location


def export_patient_record(*, patient: Patient, actor: Actor) -> bytes:
    """The patient's whole record as ZIP bytes; the export is written to the audit trail."""
    exported_at = timezone.now()
    record = collect_patient_record(patient)
    patient = record.patient
    location = export_location(patient, actor)
    summary = PatientRecordSummary(record, location=location, exported_by=actor.user)
    data = record_data(record, actor=actor, exported_at=exported_at)

    buffer = io.BytesIO()
    missing_files = []
    counts = {"photos": 0, "consents": 0, "aftercare": 0}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.pdf", summary.render())
        archive.writestr(
            "record.json",
            json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
        )
        for photo in record.photos:
            content = _stored_bytes(photo.image)
            if content is None:
                missing_files.append(f"photo {photo.pk}")
                continue
            # JPEGs are already compressed: stored as they are.
            archive.writestr(record.photo_filename(photo), content, zipfile.ZIP_STORED)
            counts["photos"] += 1
        for consent in record.consents:
            signature = _stored_bytes(consent.patient_signature)
            if signature is None:
                missing_files.append(f"signature of consent {consent.pk}")
            else:
                archive.writestr(f"signatures/consent-{consent.pk}-patient.png", signature)
            copy = ConsentCopy(consent).render()
            archive.writestr(f"consents/consent-{consent.pk}.pdf", copy)
            counts["consents"] += 1
        for session in record.sessions:
            if session.is_locked:
                archive.writestr(
                    f"aftercare/aftercare-session-{session.pk}.pdf",
                    AftercareSheet(session).render(),
                )
                counts["aftercare"] += 1
        documents = (
            "consents/       A copy of each consent you signed, as printed.\n"
            "aftercare/      The aftercare sheet of each completed treatment.\n"
        )
        archive.writestr(
            "README.txt",
            README.format(
                clinic=location.name if location else "the clinic",
                day=timezone.localdate(timezone=location.zone if location else None).isoformat(),
                name=patient.full_name,
                record_number=patient.record_number,
                zone=location.time_zone if location else "UTC",
                documents=documents,
            ),
        )

    summary_text = (
        f"Exported the whole record: {counts['photos']} photos, {counts['consents']} consent "
        f"copies, {counts['aftercare']} aftercare sheets"
    )
    if missing_files:
        summary_text += f"; missing files: {', '.join(missing_files)}"
    record_event(
        action=AuditAction.EXPORT,
        actor=actor,
        obj=patient,
        patient_id=patient.pk,
        summary=summary_text,
    )
    return buffer.getvalue()


def export_filename(patient: Patient, day: date) -> str:
    return f"patient-record-{patient.record_number}-{day.isoformat()}.zip"
