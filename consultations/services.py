"""Operations on patients and their clinical records: one transaction each, each audited.

Patients and intake, photos, consultations and suitability screening. Booking
lives in consultations.booking.

Views, the admin and management commands all call these; none of them write
patient records any other way.
"""

from collections.abc import Iterable
from datetime import date
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, StaffMember
from consultations import patient_links
from consultations.models import (
    CONSULTATION_AREAS,
    FREEING_STATUSES,
    Appointment,
    AppointmentKind,
    Consultation,
    ConsultationArea,
    ErasureRequest,
    MedicalHistory,
    Patient,
    PatientLink,
    PatientPhoto,
    PhotoConsentForm,
    PhotographyConsent,
    PhotoRelease,
    PhotoStage,
    PhotoUse,
    PhotoView,
    PreviousTreatment,
    RecordNumberCounter,
)
from consultations.photos import PhotoRejected, ProcessedPhoto, process_photo

RECORD_NUMBER_PREFIX = "TL"

# Demographic fields the front desk may set; everything else is derived or clinical.
DEMOGRAPHIC_FIELDS = [
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "emergency_contact_name",
    "emergency_contact_relation",
    "emergency_contact_phone",
    "family_doctor",
    "preferred_location",
    "contact_by_email",
    "contact_by_sms",
    "marketing_consent",
]


def next_record_number() -> str:
    """Hand out the next record number; numbers are never reused, even if a row is lost.

    Call inside a transaction: the counter row stays locked until it commits.
    """
    counter = RecordNumberCounter.objects.select_for_update().get_or_create(pk=1)[0]
    RecordNumberCounter.objects.filter(pk=counter.pk).update(last_number=F("last_number") + 1)
    counter.refresh_from_db()
    return f"{RECORD_NUMBER_PREFIX}{counter.last_number:06d}"


@transaction.atomic
def register_patient(*, details: dict[str, Any], actor: Actor) -> Patient:
    """Create a patient record with a new record number."""
    patient = Patient(**{k: v for k, v in details.items() if k in DEMOGRAPHIC_FIELDS})
    patient.record_number = next_record_number()
    patient.created_by = actor.user
    patient.full_clean()
    patient.save()
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=patient,
        patient_id=patient.pk,
        summary=f"Registered patient {patient.record_number}",
    )
    return patient


@transaction.atomic
def update_patient_details(*, patient: Patient, details: dict[str, Any], actor: Actor) -> list[str]:
    """Change demographics; returns the names of the fields that changed."""
    changed = []
    for field in DEMOGRAPHIC_FIELDS:
        if field in details and getattr(patient, field) != details[field]:
            setattr(patient, field, details[field])
            changed.append(field)
    if not changed:
        return []
    patient.full_clean()
    patient.save()
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=patient,
        patient_id=patient.pk,
        summary="Changed " + ", ".join(changed),
    )
    return changed


@transaction.atomic
def archive_patient(*, patient: Patient, reason: str, actor: Actor) -> Patient:
    """Take a patient out of search and lists. The record itself is kept for good."""
    if patient.is_archived:
        return patient
    patient.is_archived = True
    patient.archived_at = timezone.now()
    patient.archive_reason = reason.strip()[:200]
    patient.save(update_fields=["is_archived", "archived_at", "archive_reason"])
    record_event(
        action=AuditAction.ARCHIVE,
        actor=actor,
        obj=patient,
        patient_id=patient.pk,
        summary=f"Archived: {patient.archive_reason}",
    )
    # Whoever holds a link the patient was sent must not reach an archived record.
    for link in PatientLink.objects.live().filter(patient=patient):
        patient_links.revoke_link(link=link, actor=actor)
    return patient


@transaction.atomic
def restore_patient(*, patient: Patient, actor: Actor) -> Patient:
    """Bring an archived patient back into search."""
    if not patient.is_archived:
        return patient
    patient.is_archived = False
    patient.archived_at = None
    patient.save(update_fields=["is_archived", "archived_at"])
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=patient,
        patient_id=patient.pk,
        summary="Restored from the archive",
    )
    return patient


@transaction.atomic
def submit_medical_history(
    *,
    patient: Patient,
    answers: dict[str, Any],
    previous_treatments: Iterable[dict[str, Any]] = (),
    completed_by_patient: bool = False,
    actor: Actor,
) -> MedicalHistory:
    """Store a new version of the patient's medical history; earlier versions stay as they were."""
    # Lock the patient row so two submissions at once get distinct versions.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    latest = patient.medical_histories.aggregate(latest=Max("version"))["latest"] or 0
    history = MedicalHistory(
        patient=patient,
        version=latest + 1,
        submitted_by=actor.user,
        completed_by_patient=completed_by_patient,
        **answers,
    )
    history.full_clean()
    history.save()
    treatments = [PreviousTreatment(medical_history=history, **t) for t in previous_treatments]
    for treatment in treatments:
        treatment.full_clean()
    PreviousTreatment.objects.bulk_create(treatments)
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=history,
        patient_id=patient.pk,
        summary=f"Medical history version {history.version}"
        + (" (completed by the patient)" if completed_by_patient else ""),
    )
    return history


# Clinical photos -------------------------------------------------------------
# (Imported here, beside the code that uses them, because this section was appended.)


def photo_today(actor: Actor) -> date:
    """Today where the user works (a clinic ahead of the server must not see today as future)."""
    location = actor.location
    return timezone.localdate(timezone=location.zone) if location else timezone.localdate()


def add_patient_photos(
    *,
    patient: Patient,
    files: Iterable[IO[bytes]],
    view: str,
    stage: str,
    taken_on: date,
    actor: Actor,
) -> list[PatientPhoto]:
    """Store one or more photos of a patient, all with the same view, stage and date.

    Every file is checked and re-encoded without metadata first
    (consultations.photos); if any is refused, nothing is stored and the
    ValidationError names each refused file. The rows and their audit entries
    are written in one transaction; if it fails, the files already written are
    deleted again, so no file is left without a row and no row without a file.
    (A caller's own enclosing transaction that rolls back later is not seen
    here: call this outside one.)
    """
    files = list(files)
    _check_photo_details(
        patient=patient, files=files, view=view, stage=stage, taken_on=taken_on, actor=actor
    )
    processed = _processed_photos(files)

    written: list[tuple[Storage, str | None]] = []  # (storage, name) of every file saved so far
    try:
        with transaction.atomic():
            photos = []
            for item in processed:
                photo = PatientPhoto(
                    patient=patient,
                    view=view,
                    stage=stage,
                    taken_on=taken_on,
                    width=item.width,
                    height=item.height,
                    uploaded_by=actor.user,
                )
                # upload_to picks a random name; the name given here is ignored.
                photo.image.save("photo.jpg", ContentFile(item.image_bytes), save=False)
                written.append((photo.image.storage, photo.image.name))
                photo.thumbnail.save("thumbnail.jpg", ContentFile(item.thumbnail_bytes), save=False)
                written.append((photo.thumbnail.storage, photo.thumbnail.name))
                photo.save()
                record_event(
                    action=AuditAction.CREATE,
                    actor=actor,
                    obj=photo,
                    patient_id=patient.pk,
                    summary=f"Added photo: {photo}",
                )
                photos.append(photo)
    except BaseException:
        for storage, name in written:
            if name is not None:  # save() has named every file it wrote
                storage.delete(name)
        raise
    return photos


def _check_photo_details(
    *,
    patient: Patient,
    files: list[IO[bytes]],
    view: str,
    stage: str,
    taken_on: date,
    actor: Actor,
) -> None:
    """Refuse, naming each field, a view, stage or date that cannot be, or no file at all."""
    errors: dict[str, list[str]] = {}
    if view not in PhotoView.values:
        errors["view"] = ["Choose a view from the list."]
    if stage not in PhotoStage.values:
        errors["stage"] = ["Choose a stage from the list."]
    if taken_on > photo_today(actor):
        errors["taken_on"] = ["The date taken is in the future."]
    elif taken_on < patient.date_of_birth:
        errors["taken_on"] = ["The date taken is before the patient's date of birth."]
    if not files:
        errors["files"] = ["Choose at least one photo."]
    elif not photo_use_consented(patient, PhotoUse.CLINICAL):
        errors["files"] = [
            f"{patient.full_name} has no photography consent for the clinical record (or "
            "withdrew it): record their signed or verbal consent before uploading photos."
        ]
    if errors:
        raise ValidationError(errors)


def _processed_photos(files: list[IO[bytes]]) -> list[ProcessedPhoto]:
    """Every file checked and re-encoded without metadata, or a refusal naming each bad one."""
    processed: list[ProcessedPhoto] = []
    rejected: list[str] = []
    for upload in files:
        try:
            processed.append(process_photo(upload))
        except PhotoRejected as refusal:
            rejected.append(str(refusal))
    if rejected:
        raise ValidationError({"files": rejected})
    return processed


# Photography consent --------------------------------------------------------------

WORDS_MAX_LENGTH = 2000


def current_photography_consent(patient: Patient, use: str) -> PhotographyConsent | None:
    """The patient's latest answer about one use of their photos (None: never asked)."""
    return (
        PhotographyConsent.objects.filter(patient=patient, use=use)
        .order_by("-recorded_at", "-pk")
        .first()
    )


def photo_use_consented(patient: Patient, use: str) -> bool:
    """Whether the patient's latest answer about `use` is yes and not withdrawn, and no
    erasure request has withdrawn that use since."""
    withdrawn = ErasureRequest.objects.filter(patient=patient).values_list(
        "photo_uses_withdrawn", flat=True
    )
    if any(use in (uses or []) for uses in withdrawn):
        return False
    consent = current_photography_consent(patient, use)
    return consent is not None and consent.allows_use


@transaction.atomic
def record_photography_consent(
    *,
    patient: Patient,
    use: str,
    granted: bool,
    form: str,
    words: str,
    actor: Actor,
    source: str = "",
) -> PhotographyConsent:
    """Record a patient's answer about one use of their photos (it replaces any earlier one).

    A verbal consent needs the patient's words or a note; who recorded it and when
    are kept. A signed treatment consent records its answers here too.
    """
    words = words.strip()
    errors: dict[str, list[str]] = {}
    if use not in PhotoUse.values:
        errors["use"] = ["Choose clinical record, teaching or marketing."]
    if form not in PhotoConsentForm.values:
        errors["form"] = ["Choose how the patient gave their answer."]
    if form == PhotoConsentForm.VERBAL and not words:
        errors["words"] = ["Write down the patient's words, or a note of what they agreed to."]
    if len(words) > WORDS_MAX_LENGTH:
        errors["words"] = [f"Keep this under {WORDS_MAX_LENGTH} characters."]
    if errors:
        raise ValidationError(errors)
    consent = PhotographyConsent.objects.create(
        patient=patient,
        use=use,
        granted=granted,
        form=form,
        words=words,
        source=source,
        recorded_by=actor.user,
    )
    if not granted:
        _revoke_releases(patient, use)
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=consent,
        patient_id=patient.pk,
        summary=f"{PhotoUse(use).label} photography consent "
        f"{'given' if granted else 'refused'} ({PhotoConsentForm(form).label.lower()})",
    )
    return consent


@transaction.atomic
def withdraw_photography_consent(
    *, consent: PhotographyConsent, reason: str, actor: Actor
) -> PhotographyConsent:
    """The patient withdraws a photography consent: that use stops now, releases included."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Record the reason the patient gave."]})
    if len(reason) > WORDS_MAX_LENGTH:
        raise ValidationError({"reason": [f"Keep this under {WORDS_MAX_LENGTH} characters."]})
    locked = PhotographyConsent.objects.select_for_update().get(pk=consent.pk)
    if locked.withdrawn_at is not None:
        raise ValidationError("This photography consent was already withdrawn.")
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = actor.user
    locked.withdrawal_reason = reason
    locked.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    _revoke_releases(locked.patient, locked.use)
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Withdrew the {PhotoUse(locked.use).label.lower()} photography consent: "
        f"{reason[:150]}",
    )
    return locked


def _revoke_releases(patient: Patient, use: str) -> None:
    PhotoRelease.objects.filter(photo__patient=patient, use=use, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def release_photo(*, photo: PatientPhoto, use: str, actor: Actor) -> PhotoRelease:
    """Release a photo for teaching or marketing: refused without that specific consent."""
    if use not in (PhotoUse.TEACHING, PhotoUse.MARKETING):
        raise ValidationError({"use": ["Choose teaching or marketing."]})
    label = PhotoUse(use).label.lower()
    if photo.is_archived:
        raise ValidationError("This photo is archived.")
    if not photo_use_consented(photo.patient, use):
        raise ValidationError(
            f"{photo.patient.full_name} has not consented to the use of their photos for "
            f"{label} (or withdrew it): the photo was not released."
        )
    existing = PhotoRelease.objects.filter(photo=photo, use=use, revoked_at__isnull=True).first()
    if existing is not None:
        return existing
    release = PhotoRelease.objects.create(photo=photo, use=use, released_by=actor.user)
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=photo,
        patient_id=photo.patient_id,
        summary=f"Released photo {photo.pk} for {label}",
    )
    return release


def released_photos(use: str) -> list[PatientPhoto]:
    """Photos that may be used for teaching or marketing now: released, consent standing.

    Two queries however many patients: the photos with each patient's latest answer
    about `use` (the rule photo_use_consented applies to one patient), then the
    erasure requests that withdrew the use.
    """
    latest_answer = PhotographyConsent.objects.filter(
        patient=OuterRef("patient"), use=use
    ).order_by("-recorded_at", "-pk")
    photos = list(
        PatientPhoto.objects.filter(
            releases__use=use, releases__revoked_at__isnull=True, is_archived=False
        )
        .annotate(
            answer_granted=Subquery(latest_answer.values("granted")[:1]),
            answer_withdrawn_at=Subquery(latest_answer.values("withdrawn_at")[:1]),
        )
        .filter(answer_granted=True, answer_withdrawn_at__isnull=True)
        .select_related("patient")
        .distinct()
    )
    if not photos:
        return []
    # JSON lists cannot be searched alike on SQLite and PostgreSQL: read the few requests.
    withdrawn_by_erasure = {
        patient_id
        for patient_id, uses in ErasureRequest.objects.filter(
            patient__in={photo.patient_id for photo in photos}
        ).values_list("patient_id", "photo_uses_withdrawn")
        if use in (uses or [])
    }
    return [photo for photo in photos if photo.patient_id not in withdrawn_by_erasure]


# Consultation and suitability screening -------------------------------------


@transaction.atomic
def start_consultation(
    *,
    patient: Patient,
    practitioner: StaffMember,
    appointment: Appointment | None = None,
    actor: Actor,
) -> Consultation:
    """Open the consultation for a consultation appointment (or return the one already open)."""
    if patient.is_archived:
        raise ValidationError("This patient's record is archived.")
    if appointment is not None:
        # Lock the appointment: two people opening it at once get the same consultation.
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if appointment.patient_id != patient.pk:
            raise ValidationError("That appointment is another patient's.")
        if appointment.appointment_type.kind != AppointmentKind.CONSULTATION:
            raise ValidationError("Consultations are opened from consultation appointments.")
        if appointment.status in FREEING_STATUSES:
            raise ValidationError("That appointment was cancelled or missed.")
        existing = Consultation.objects.filter(appointment=appointment).first()
        if existing is not None:
            return existing
    consultation = Consultation.objects.create(
        patient=patient, practitioner=practitioner, appointment=appointment
    )
    ConsultationArea.objects.bulk_create(
        ConsultationArea(consultation=consultation, area=area) for area in CONSULTATION_AREAS
    )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=consultation,
        patient_id=patient.pk,
        summary="Opened a consultation",
    )
    return consultation


@transaction.atomic
def save_assessment(
    *,
    consultation: Consultation,
    details: dict[str, Any],
    areas: dict[str, dict[str, Any]],
    baseline_photos: Iterable[PatientPhoto] = (),
    actor: Actor,
) -> Consultation:
    """Store the concerns, goals and assessment; photos must be this patient's baselines."""
    photos = list(baseline_photos)
    if any(
        photo.patient_id != consultation.patient_id
        or photo.stage != PhotoStage.BASELINE
        or photo.is_archived
        for photo in photos
    ):
        raise ValidationError({"baseline_photos": ["Choose this patient's baseline photos only."]})
    for name in ASSESSMENT_FIELDS:
        if name in details:
            setattr(consultation, name, details[name])
    consultation.assessed_at = timezone.now()
    consultation.full_clean()
    consultation.save()
    for row in consultation.areas.all():
        values = areas.get(row.area, {})
        for name in ("concern", "goal", "laxity"):
            if name in values:
                setattr(row, name, values[name])
        row.full_clean()
        row.save()
    consultation.baseline_photos.set(photos)
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=consultation,
        patient_id=consultation.patient_id,
        summary="Recorded the assessment",
    )
    return consultation


ASSESSMENT_FIELDS = [
    "expectations",
    "wanted_by",
    "fitzpatrick",
    "glogau",
    "skin_thickness",
    "skin_quality",
    "asymmetry_notes",
]
