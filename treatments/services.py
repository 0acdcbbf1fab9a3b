"""Plans, vectors and stock: one transaction each, each audited.

A plan starts only through the screening gate (consultations.selectors.
check_planning_gate). Vectors are saved whole, against the revision the
planner edited, so two people editing one plan never overwrite each other
silently. Accepted plans are frozen: changing one makes a new version, and
accepting that version supersedes the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from clinic.actors import Actor, on_behalf_of
from clinic.audit import record_event
from clinic.models import AuditAction, Location, StaffMember
from consultations import booking
from consultations.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    FacialArea,
    Patient,
    PatientPhoto,
    PhotoStage,
    PhotoView,
    Screening,
)
from consultations.selectors import check_planning_gate
from treatments.models import (
    AVERAGE_INTERPUPILLARY_MM,
    AdverseEvent,
    ConsentTemplate,
    ConsentWithdrawal,
    Depth,
    DiagramView,
    Outcome,
    PhotoUse,
    PlacedThreads,
    PlanStatus,
    SessionAddendum,
    Side,
    SignedConsent,
    StockLot,
    ThreadProduct,
    ThreadVector,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.signatures import process_signature

MAX_VECTORS = 200
MAX_COUNT = 20
VECTOR_FIELDS = {"area", "side", "product", "count", "view", "entry", "end", "depth", "notes"}
# A vector under this share of its thread's length wastes most of the thread.
SHORT_VECTOR_SHARE = 0.5


class PlanConflict(Exception):
    """The plan was saved by someone else since this editor loaded it."""

    def __init__(self, plan: TreatmentPlan):
        super().__init__("This plan was changed by someone else since you opened it.")
        self.plan = plan


def _gate_or_refuse(patient: Patient) -> Screening:
    """The screening that opens planning for the patient, or ValidationError saying why not."""
    gate = check_planning_gate(patient=patient)
    if not gate.allowed or gate.screening is None:
        raise ValidationError(f"{gate.reason} {gate.next_step}".strip())
    return gate.screening


@transaction.atomic
def create_plan(
    *,
    patient: Patient,
    practitioner: StaffMember,
    location: Location,
    created_by: User,
    actor: Actor | None = None,
) -> TreatmentPlan:
    """Start a draft plan, version 1: only through the screening gate."""
    screening = _gate_or_refuse(patient)
    plan = TreatmentPlan.objects.create(
        patient=patient,
        practitioner=practitioner,
        location=location,
        screening=screening,
        created_by=created_by,
    )
    plan.series = plan
    plan.save(update_fields=["series"])
    record_event(
        action=AuditAction.CREATE,
        actor=on_behalf_of(created_by, actor),
        obj=plan,
        patient_id=patient.pk,
        summary="Started a treatment plan (version 1)",
    )
    return plan


def _point(value: Any, name: str) -> tuple[float, float]:
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise ValidationError(f"{name} must be a pair of numbers [x, y].")
    point = []
    for coordinate in value:
        if isinstance(coordinate, bool) or not isinstance(coordinate, int | float):
            raise ValidationError(f"{name} must be a pair of numbers [x, y].")
        try:
            number = float(coordinate)
        except OverflowError:  # an integer too large for a float
            number = math.inf
        if not math.isfinite(number) or not 0 <= number <= 1:
            raise ValidationError(f"{name} must lie on the diagram (0 to 1 on each axis).")
        point.append(number)
    return point[0], point[1]


def _choice(value: Any, choices: type[models.TextChoices], name: str) -> str:
    if value not in choices.values:
        raise ValidationError(f"{name} must be one of: {', '.join(choices.values)}.")
    return str(value)


def clean_vectors(raw: Any) -> list[dict[str, Any]]:
    """Check a planner's vector list; return it with products resolved, or raise ValidationError.

    Raises on the first problem, naming the vector (1-based) it is in.
    """
    if not isinstance(raw, list):
        raise ValidationError("vectors must be a list.")
    if len(raw) > MAX_VECTORS:
        raise ValidationError(f"A plan holds at most {MAX_VECTORS} vectors.")
    products = ThreadProduct.objects.in_bulk(
        {
            v["product"]
            for v in raw
            # An id is a whole number (not a bool, not a float) a database column can hold.
            if isinstance(v, dict) and type(v.get("product")) is int and 0 < v["product"] < 2**63
        }
    )
    cleaned = []
    for number, vector in enumerate(raw, start=1):
        try:
            if not isinstance(vector, dict):
                raise ValidationError("must be an object.")
            unknown = set(vector) - VECTOR_FIELDS
            if unknown:
                raise ValidationError(f"unknown field {sorted(unknown)[0]!r}.")
            missing = VECTOR_FIELDS - {"notes"} - set(vector)
            if missing:
                raise ValidationError(f"{sorted(missing)[0]} is missing.")
            product = products.get(vector["product"]) if type(vector["product"]) is int else None
            if product is None:
                raise ValidationError("the product is unknown.")
            if not product.is_active:
                raise ValidationError(f"{product.name} is no longer in use.")
            count = vector["count"]
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
                raise ValidationError(f"count must be a whole number from 1 to {MAX_COUNT}.")
            notes = vector.get("notes", "")
            if not isinstance(notes, str) or len(notes) > 300 or "\x00" in notes:
                raise ValidationError("notes must be text of at most 300 characters.")
            cleaned.append(
                {
                    "area": _choice(vector["area"], FacialArea, "area"),
                    "side": _choice(vector["side"], Side, "side"),
                    "view": _choice(vector["view"], DiagramView, "view"),
                    "depth": _choice(vector["depth"], Depth, "depth"),
                    "product": product,
                    "count": count,
                    "entry": _point(vector["entry"], "entry"),
                    "end": _point(vector["end"], "end"),
                    "notes": notes.strip(),
                }
            )
        except ValidationError as error:
            raise ValidationError(f"Vector {number}: {' '.join(error.messages)}") from None
    return cleaned


@transaction.atomic
def save_plan(
    *,
    plan: TreatmentPlan,
    revision: int,
    vectors: Any,
    notes: str | None = None,
    saved_by: User,
    actor: Actor | None = None,
) -> TreatmentPlan:
    """Replace the plan's vectors (and notes) if nobody saved since `revision`.

    Raises PlanConflict when the revision is stale, ValidationError for bad
    vectors or a frozen plan. Nothing is saved unless everything is valid.
    """
    locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if locked.is_frozen:
        raise ValidationError(
            f"Version {locked.version} is {locked.get_status_display().lower()} and frozen: "
            "start a new version to change it."
        )
    if revision != locked.revision:
        raise PlanConflict(locked)
    cleaned = clean_vectors(vectors)
    if notes is not None:
        if not isinstance(notes, str) or len(notes) > 4000 or "\x00" in notes:
            raise ValidationError("notes must be text of at most 4000 characters.")
        locked.notes = notes
    locked.vectors.all().delete()
    ThreadVector.objects.bulk_create(
        ThreadVector(
            plan=locked,
            position=position,
            area=v["area"],
            side=v["side"],
            view=v["view"],
            depth=v["depth"],
            product=v["product"],
            count=v["count"],
            entry_x=v["entry"][0],
            entry_y=v["entry"][1],
            end_x=v["end"][0],
            end_y=v["end"][1],
            notes=v["notes"],
        )
        for position, v in enumerate(cleaned)
    )
    locked.revision += 1
    locked.updated_at = timezone.now()
    locked.save(update_fields=["notes", "revision", "updated_at"])
    record_event(
        action=AuditAction.UPDATE,
        actor=on_behalf_of(saved_by, actor),
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Saved plan v{locked.version}: {len(cleaned)} vectors, "
        f"{sum(v['count'] for v in cleaned)} threads",
    )
    return locked


@transaction.atomic
def set_plan_status(
    *, plan: TreatmentPlan, status: str, changed_by: User, actor: Actor | None = None
) -> TreatmentPlan:
    """Propose or accept a plan. Accepting freezes it and supersedes the series' older versions."""
    locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    allowed: dict[str, set[str]] = {
        PlanStatus.DRAFT: {PlanStatus.PROPOSED, PlanStatus.ACCEPTED},
        PlanStatus.PROPOSED: {PlanStatus.DRAFT, PlanStatus.ACCEPTED},
    }
    if status not in allowed.get(locked.status, set()):
        raise ValidationError(
            f"A {locked.get_status_display().lower()} plan cannot become "
            f"{PlanStatus(status).label.lower() if status in PlanStatus.values else status}."
        )
    if status == PlanStatus.ACCEPTED:
        if not locked.vectors.exists():
            raise ValidationError("An empty plan cannot be accepted.")
        _gate_or_refuse(locked.patient)
        TreatmentPlan.objects.filter(series=locked.series, status=PlanStatus.ACCEPTED).exclude(
            pk=locked.pk
        ).update(status=PlanStatus.SUPERSEDED)
        locked.accepted_at = timezone.now()
    locked.status = status
    locked.save(update_fields=["status", "accepted_at"])
    record_event(
        action=AuditAction.UPDATE,
        actor=on_behalf_of(changed_by, actor),
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Plan v{locked.version} is now {locked.get_status_display().lower()}",
    )
    return locked


@transaction.atomic
def revise_plan(
    *, plan: TreatmentPlan, revised_by: User, actor: Actor | None = None
) -> TreatmentPlan:
    """Start a new draft version from this one, copying its vectors; the old one stays as it is."""
    # A saved plan always has a series: its first version's (its own, for version 1).
    series = TreatmentPlan.objects.select_for_update().get(pk=plan.series_id or plan.pk)
    draft = TreatmentPlan.objects.filter(series=series, status=PlanStatus.DRAFT).first()
    if draft is not None:
        return draft  # one draft at a time: continue it
    screening = _gate_or_refuse(plan.patient)
    latest = TreatmentPlan.objects.filter(series=series).aggregate(v=Max("version"))["v"]
    new = TreatmentPlan.objects.create(
        patient=plan.patient,
        practitioner=plan.practitioner,
        location=plan.location,
        screening=screening,
        series=series,
        version=latest + 1,
        notes=plan.notes,
        mm_per_unit=plan.mm_per_unit,
        calibration_photo=plan.calibration_photo,
        created_by=revised_by,
    )
    ThreadVector.objects.bulk_create(
        ThreadVector(
            plan=new,
            **{
                f.name: getattr(vector, f.name)
                for f in ThreadVector._meta.concrete_fields
                if f.name not in ("id", "plan")
            },
        )
        for vector in plan.vectors.all()
    )
    record_event(
        action=AuditAction.CREATE,
        actor=on_behalf_of(revised_by, actor),
        obj=new,
        patient_id=new.patient_id,
        summary=f"Started plan v{new.version} from v{plan.version}",
    )
    return new


@transaction.atomic
def calibrate_plan(
    *,
    plan: TreatmentPlan,
    photo: PatientPhoto,
    left_pupil: Any,
    right_pupil: Any,
    calibrated_by: User,
    actor: Actor | None = None,
) -> TreatmentPlan:
    """Use a frontal baseline photo's pupils (about 63 mm apart) as the plan's scale."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_frozen:
        raise ValidationError("This plan is frozen.")
    if photo.patient_id != plan.patient_id or photo.view != PhotoView.FRONTAL or photo.is_archived:
        raise ValidationError("Calibrate on a frontal photo of this patient.")
    left, right = _point(left_pupil, "left pupil"), _point(right_pupil, "right pupil")
    distance = math.dist(left, right)
    if distance < 0.05:
        raise ValidationError("Mark the two pupils further apart.")
    plan.mm_per_unit = AVERAGE_INTERPUPILLARY_MM / distance
    plan.calibration_photo = photo
    plan.revision += 1  # the scale changes every length the planner shows
    plan.save(update_fields=["mm_per_unit", "calibration_photo", "revision"])
    record_event(
        action=AuditAction.UPDATE,
        actor=on_behalf_of(calibrated_by, actor),
        obj=plan,
        patient_id=plan.patient_id,
        summary=f"Calibrated plan v{plan.version} on photo {photo.pk}: "
        f"{plan.mm_per_unit:.0f} mm per diagram unit",
    )
    return plan


@dataclass
class PlanSummary:
    """What the planner shows beside the diagram and the PDF prints under it."""

    total_threads: int = 0
    by_area: dict[str, int] = field(default_factory=dict)
    by_side: dict[str, int] = field(default_factory=dict)
    by_product: dict[str, int] = field(default_factory=dict)
    cost: Decimal = Decimal("0.00")
    warnings: list[str] = field(default_factory=list)


def vector_warnings(vector: ThreadVector, mm_per_unit: float) -> list[str]:
    """Lengths that a product cannot reach, or that waste most of the thread."""
    length = vector.length_mm(mm_per_unit)
    product = vector.product
    where = f"{vector.get_area_display()} ({vector.side})"
    if length > product.reach_mm:
        return [
            f"{where}: {length:.0f} mm is longer than {product.name} can reach "
            f"({product.reach_mm} mm)."
        ]
    if length < product.thread_length_mm * SHORT_VECTOR_SHARE:
        return [
            f"{where}: {length:.0f} mm is much shorter than the "
            f"{product.thread_length_mm} mm thread."
        ]
    return []


def summarise_plan(plan: TreatmentPlan, vectors: list[ThreadVector] | None = None) -> PlanSummary:
    """Counts per area, side and product, cost, length warnings and stock cover, in 2 queries."""
    if vectors is None:
        vectors = list(plan.vectors.select_related("product"))
    summary = PlanSummary()
    by_area: dict[str, int] = defaultdict(int)
    by_side: dict[str, int] = defaultdict(int)
    by_product: dict[str, int] = defaultdict(int)
    needed: dict[int, int] = defaultdict(int)
    for vector in vectors:
        summary.total_threads += vector.count
        by_area[vector.get_area_display()] += vector.count
        by_side[vector.get_side_display()] += vector.count
        by_product[vector.product.name] += vector.count
        needed[vector.product_id] += vector.count
        summary.cost += vector.product.unit_price * vector.count
        summary.warnings += vector_warnings(vector, plan.mm_per_unit)
    summary.by_area = dict(by_area)
    summary.by_side = dict(by_side)
    summary.by_product = dict(by_product)
    on_hand = dict(
        StockLot.objects.filter(
            location=plan.location,
            product_id__in=needed,
            expires_on__gte=timezone.localdate(timezone=plan.location.zone),
        )
        .values_list("product_id")
        .annotate(total=Sum("quantity_on_hand"))
    )
    names = {v.product_id: v.product.name for v in vectors}
    for product_id, count in needed.items():
        have = on_hand.get(product_id, 0)
        if have < count:
            summary.warnings.append(
                f"Stock: {names[product_id]} needs {count}, {plan.location} has {have} unexpired."
            )
    return summary


@transaction.atomic
def receive_stock(
    *,
    product: ThreadProduct,
    location: Location,
    lot_number: str,
    expires_on: date,
    quantity: int,
    received_by: User | None,
    actor: Actor | None = None,
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
        actor=on_behalf_of(received_by, actor),
        obj=lot,
        summary=f"Received {quantity} × {product.name}, lot {lot.lot_number}, at {location}",
    )
    return lot


# Consent ----------------------------------------------------------------------

PLACEHOLDERS = ("patient", "practitioner", "procedure", "areas", "products")


def fill_consent_text(template: ConsentTemplate, plan: TreatmentPlan) -> str:
    """The template body with its placeholders filled in for this plan (plain text)."""
    vectors = list(plan.vectors.select_related("product"))
    values = {
        "patient": plan.patient.full_name,
        "practitioner": str(plan.practitioner),
        "procedure": "Thread lift with absorbable threads",
        "areas": ", ".join(sorted({v.get_area_display() for v in vectors})) or "none",
        "products": ", ".join(sorted({v.product.name for v in vectors})) or "none",
    }
    text = template.body
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values[name])
    return text


def consent_fingerprint(
    *,
    plan: TreatmentPlan,
    template: ConsentTemplate,
    rendered_text: str,
    risks_initialled: list[str],
    photo_consents: dict[str, bool],
    patient_signature: bytes,
    practitioner_signature: bytes,
    practitioner_id: int,
    signed_at: datetime,
    ip_address: str | None,
    user_agent: str,
) -> str:
    """SHA-256 over everything the consent says and who signed it, in a fixed order."""
    canonical = json.dumps(
        {
            "plan": plan.pk,
            "plan_version": plan.version,
            "patient": plan.patient_id,
            "template": template.pk,
            "text": rendered_text,
            "risks": risks_initialled,
            "photos": photo_consents,
            "patient_signature": hashlib.sha256(patient_signature).hexdigest(),
            "practitioner_signature": hashlib.sha256(practitioner_signature).hexdigest(),
            "practitioner": practitioner_id,
            "signed_at": signed_at.isoformat(),
            "ip": ip_address,
            "device": user_agent,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify_consent(consent: SignedConsent) -> bool:
    """Recompute the fingerprint from what is stored: True if nothing was altered."""
    with consent.patient_signature.open("rb") as patient_file:
        patient_signature = patient_file.read()
    with consent.practitioner_signature.open("rb") as practitioner_file:
        practitioner_signature = practitioner_file.read()
    expected = consent_fingerprint(
        plan=consent.plan,
        template=consent.template,
        rendered_text=consent.rendered_text,
        risks_initialled=consent.risks_initialled,
        photo_consents=consent.photo_consents,
        patient_signature=patient_signature,
        practitioner_signature=practitioner_signature,
        practitioner_id=consent.practitioner_id,
        signed_at=consent.signed_at,
        ip_address=consent.ip_address,
        user_agent=consent.user_agent,
    )
    return hmac.compare_digest(expected, consent.fingerprint)


def sign_consent(
    *,
    plan: TreatmentPlan,
    template: ConsentTemplate,
    risks_initialled: list[str],
    photo_consents: dict[str, bool],
    patient_signature: bytes,
    practitioner_signature: bytes,
    practitioner: StaffMember,
    recorded_by: User,
    actor: Actor | None = None,
) -> SignedConsent:
    """Store a signed consent with its exact text, signatures and fingerprint.

    Refused (ValidationError, nothing saved) when the plan is not accepted, a risk
    is not initialled, or a signature is empty, blank, not a PNG or over 1 MB.
    """
    errors: dict[str, list[str]] = {}
    if plan.status != PlanStatus.ACCEPTED:
        errors.setdefault("plan", []).append(
            f"Plan version {plan.version} is {plan.get_status_display().lower()}: "
            "only an accepted plan can be consented to."
        )
    if not template.is_current:
        errors.setdefault("template", []).append("This consent form has a newer version.")
    missing = [risk for risk in template.risks if risk not in set(risks_initialled)]
    if missing:
        errors.setdefault("risks", []).append("Initial every risk: " + "; ".join(missing) + ".")
    if set(photo_consents) != set(PhotoUse.values) or not all(
        isinstance(v, bool) for v in photo_consents.values()
    ):
        errors.setdefault("photo_consents", []).append("Answer each photography question.")
    signatures = {}
    for key, data, who in (
        ("patient_signature", patient_signature, "patient's"),
        ("practitioner_signature", practitioner_signature, "practitioner's"),
    ):
        try:
            signatures[key] = process_signature(data, who=who)
        except ValidationError as error:
            errors.setdefault(key, []).extend(error.messages)
    if errors:
        raise ValidationError(errors)

    signed_at = timezone.now().replace(microsecond=0)
    # Where the patient signed: the tablet's address and browser, kept in the fingerprint.
    ip_address = actor.ip_address if actor is not None else None
    user_agent = actor.user_agent if actor is not None else ""
    rendered_text = fill_consent_text(template, plan)
    risks = list(template.risks)
    fingerprint = consent_fingerprint(
        plan=plan,
        template=template,
        rendered_text=rendered_text,
        risks_initialled=risks,
        photo_consents=photo_consents,
        patient_signature=signatures["patient_signature"],
        practitioner_signature=signatures["practitioner_signature"],
        practitioner_id=practitioner.pk,
        signed_at=signed_at,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    consent = SignedConsent(
        plan=plan,
        template=template,
        patient=plan.patient,
        practitioner=practitioner,
        rendered_text=rendered_text,
        risks_initialled=risks,
        photo_consents=photo_consents,
        signed_at=signed_at,
        ip_address=ip_address,
        user_agent=user_agent,
        fingerprint=fingerprint,
        recorded_by=recorded_by,
    )
    written = []
    try:
        with transaction.atomic():
            locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
            if locked.status != PlanStatus.ACCEPTED:
                raise ValidationError({"plan": ["The plan changed meanwhile; reload it."]})
            for key, data in signatures.items():
                getattr(consent, key).save(f"{uuid.uuid4().hex}.png", ContentFile(data), save=False)
                written.append(getattr(consent, key).name)
            consent.save()
            record_event(
                action=AuditAction.SIGN,
                actor=on_behalf_of(recorded_by, actor),
                obj=consent,
                patient_id=plan.patient_id,
                summary=f"Consent signed to plan v{plan.version}; fingerprint {fingerprint[:12]}…",
            )
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    return consent


@transaction.atomic
def withdraw_consent(
    *, consent: SignedConsent, reason: str, withdrawn_by: User, actor: Actor | None = None
) -> ConsentWithdrawal:
    """Record that the patient withdrew consent; the signed record itself never changes."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Record the reason the patient gave."]})
    # Lock the consent row: two withdrawals at once give one record, not an error.
    SignedConsent.objects.select_for_update().filter(pk=consent.pk).first()
    if ConsentWithdrawal.objects.filter(consent=consent).exists():
        raise ValidationError("This consent is already withdrawn.")
    withdrawal = ConsentWithdrawal.objects.create(
        consent=consent, reason=reason, recorded_by=withdrawn_by
    )
    record_event(
        action=AuditAction.CREATE,
        actor=on_behalf_of(withdrawn_by, actor),
        obj=withdrawal,
        patient_id=consent.patient_id,
        summary=f"Consent {consent.pk} withdrawn: {reason[:150]}",
    )
    return withdrawal


def valid_consent_for(plan: TreatmentPlan) -> SignedConsent | None:
    """The latest signed, not withdrawn consent to exactly this plan version."""
    return (
        SignedConsent.objects.filter(plan=plan, withdrawal__isnull=True)
        .order_by("-signed_at")
        .first()
    )


# Treatment sessions -------------------------------------------------------------

FOLLOW_UPS = [
    ("2 weeks", timedelta(days=14)),
    ("3 months", timedelta(days=91)),
    ("6 months", timedelta(days=182)),
]


@transaction.atomic
def start_session(
    *, appointment: Appointment, plan: TreatmentPlan, started_by: User, actor: Actor | None = None
) -> TreatmentSession:
    """Open the session of a treatment appointment: needs a valid consent to this plan version."""
    if appointment.appointment_type.kind != AppointmentKind.TREATMENT:
        raise ValidationError("Sessions are recorded from treatment appointments.")
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise ValidationError("That appointment was cancelled or missed.")
    if plan.patient_id != appointment.patient_id:
        raise ValidationError("That plan is another patient's.")
    if plan.location_id != appointment.location_id:
        raise ValidationError("That plan is held at another location.")
    existing = TreatmentSession.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    if plan.status != PlanStatus.ACCEPTED:
        raise ValidationError(f"Plan version {plan.version} is not accepted.")
    consent = valid_consent_for(plan)
    if consent is None:
        raise ValidationError(
            f"No signed consent to plan version {plan.version} (or it was withdrawn): "
            "take consent first."
        )
    session = TreatmentSession.objects.create(
        appointment=appointment,
        patient=appointment.patient,
        plan=plan,
        consent=consent,
        practitioner=appointment.practitioner,
        location=appointment.location,
    )
    if appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
        booking.set_appointment_status(
            appointment=appointment,
            status=AppointmentStatus.IN_PROGRESS,
            changed_by=started_by,
        )
    record_event(
        action=AuditAction.CREATE,
        actor=on_behalf_of(started_by, actor),
        obj=session,
        patient_id=session.patient_id,
        summary=f"Started the session for plan v{plan.version}",
    )
    return session


SESSION_DETAIL_FIELDS = [
    "anaesthesia",
    "anaesthetic_agent",
    "anaesthetic_volume_ml",
    "immediate_outcome",
    "complications",
]


@transaction.atomic
def complete_session(
    *,
    session: TreatmentSession,
    placements: list[dict[str, Any]],
    details: dict[str, Any],
    completed_by: User,
    actor: Actor | None = None,
) -> TreatmentSession:
    """Record what was placed and close the session, all in one transaction.

    Each placement names a lot at this location, in date and with enough on
    hand, and a deviation reason wherever it differs from the plan. Stock is
    decremented per lot, the session locks, the appointment completes and the
    2-week, 3-month and 6-month reviews are booked through the booking service.
    A second completion (double click, second tab) is refused and changes nothing.
    """
    locked = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if locked.is_locked:
        raise ValidationError("This session is already completed: add an addendum instead.")
    if ConsentWithdrawal.objects.filter(consent_id=locked.consent_id).exists():
        raise ValidationError("The consent was withdrawn: the session cannot be completed.")
    if not placements:
        raise ValidationError({"placements": ["Record at least one placement."]})
    rows, used = _checked_placements(locked, placements)
    for name in SESSION_DETAIL_FIELDS:
        if name in details:
            setattr(locked, name, details[name])
    locked.completed_at = timezone.now()
    locked.completed_by = completed_by
    locked.full_clean()
    locked.save()
    PlacedThreads.objects.bulk_create(rows)
    for lot_id, count in used.items():
        # Conditional update: stock can never go below zero, whatever else runs.
        changed = StockLot.objects.filter(pk=lot_id, quantity_on_hand__gte=count).update(
            quantity_on_hand=F("quantity_on_hand") - count
        )
        if changed != 1:
            raise ValidationError({"placements": ["Stock changed meanwhile; reload and retry."]})
    _complete_appointment(locked.appointment, completed_by=completed_by)
    record_event(
        action=AuditAction.UPDATE,
        actor=on_behalf_of(completed_by, actor),
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Completed the session: {sum(r.count for r in rows)} threads from "
        f"{len(used)} lots",
    )
    book_follow_ups(session=locked, booked_by=completed_by, actor=actor)
    return locked


def _checked_placements(
    session: TreatmentSession, placements: list[dict[str, Any]]
) -> tuple[list[PlacedThreads], dict[int, int]]:
    """The rows to record and the threads used per lot, or a ValidationError naming the
    first placement that cannot be: a lot elsewhere, expired or short, a bad count, a
    vector from another plan, or a difference from the plan with no reason given."""
    # Keyed by what the JSON body may send, which need not be a whole number.
    vectors: dict[Any, ThreadVector] = {
        v.pk: v for v in session.plan.vectors.select_related("product")
    }
    lot_ids = {p.get("lot") for p in placements}
    lots: dict[Any, StockLot] = StockLot.objects.select_for_update().in_bulk(
        [i for i in lot_ids if isinstance(i, int)]
    )
    today = timezone.localdate(timezone=session.location.zone)
    used: dict[int, int] = defaultdict(int)
    rows = []
    for number, placement in enumerate(placements, start=1):
        lot = lots.get(placement.get("lot"))
        count = placement.get("count")
        vector = vectors.get(placement.get("vector"))
        deviation = (placement.get("deviation") or "").strip()
        where = f"Placement {number}"
        if lot is None or lot.location_id != session.location_id:
            raise ValidationError({"placements": [f"{where}: choose a lot held at this location."]})
        if lot.expires_on < today:
            raise ValidationError({"placements": [f"{where}: lot {lot.lot_number} has expired."]})
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise ValidationError({"placements": [f"{where}: count must be 1 to {MAX_COUNT}."]})
        used[lot.pk] += count
        if used[lot.pk] > lot.quantity_on_hand:
            raise ValidationError(
                {
                    "placements": [
                        f"{where}: lot {lot.lot_number} has only {lot.quantity_on_hand} left."
                    ]
                }
            )
        _check_against_plan(placement, vector=vector, lot=lot, count=count, where=where)
        rows.append(
            PlacedThreads(
                session=session,
                vector=vector,
                area=vector.area if vector else _choice(placement.get("area"), FacialArea, "area"),
                side=vector.side if vector else _choice(placement.get("side"), Side, "side"),
                product_id=lot.product_id,
                lot=lot,
                count=count,
                deviation=deviation[:300],
            )
        )
    return rows, used


def _check_against_plan(
    placement: dict[str, Any],
    *,
    vector: ThreadVector | None,
    lot: StockLot,
    count: int,
    where: str,
) -> None:
    """A placement names a vector of this plan, if any, and says why it differs from it."""
    if placement.get("vector") is not None and vector is None:
        raise ValidationError({"placements": [f"{where}: that vector is not in this plan."]})
    deviation = (placement.get("deviation") or "").strip()
    differs = vector is None or vector.product_id != lot.product_id or vector.count != count
    if differs and not deviation:
        raise ValidationError(
            {"placements": [f"{where}: this differs from the plan; say why in the deviation."]}
        )


def _complete_appointment(appointment: Appointment, *, completed_by: User) -> None:
    """Move the session's appointment to completed, through in progress if it is not there yet."""
    if appointment.status == AppointmentStatus.COMPLETED:
        return
    if appointment.status != AppointmentStatus.IN_PROGRESS:
        booking.set_appointment_status(
            appointment=appointment,
            status=AppointmentStatus.IN_PROGRESS,
            changed_by=completed_by,
        )
    booking.set_appointment_status(
        appointment=appointment,
        status=AppointmentStatus.COMPLETED,
        changed_by=completed_by,
    )


def book_follow_ups(
    *, session: TreatmentSession, booked_by: User | None, actor: Actor | None = None
) -> list[Appointment]:
    """Book the review appointments at the first free slot from each due date."""
    review = (
        AppointmentType.objects.filter(kind=AppointmentKind.REVIEW, is_active=True)
        .order_by("duration_minutes")
        .first()
    )
    if review is None:
        return []
    completed_at = session.completed_at
    if completed_at is None:
        raise ValueError("Reviews are booked from a completed session; this one is still open.")
    booked = []
    for _label, after in FOLLOW_UPS:
        slots = booking.next_free_slots(
            appointment_type=review,
            location=session.location,
            practitioner=session.practitioner,
            after=completed_at + after,
            limit=1,
        )
        if not slots:
            continue
        try:
            booked.append(
                booking.book_appointment(
                    patient=session.patient,
                    practitioner=slots[0].practitioner,
                    location=session.location,
                    appointment_type=review,
                    starts_at=slots[0].starts_at,
                    room=slots[0].room,
                    notes="Review after the thread lift of "
                    f"{timezone.localtime(completed_at, session.location.zone):%d %b %Y}",
                    booked_by=booked_by,
                    actor=actor,
                )
            )
        except (booking.SlotUnavailable, ValidationError):
            continue  # the desk books this one by hand; the session is complete regardless
    return booked


@transaction.atomic
def add_addendum(
    *, session: TreatmentSession, text: str, added_by: User, actor: Actor | None = None
) -> SessionAddendum:
    """Correct a completed session by adding to it; the record itself is never edited."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": ["Write the correction."]})
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if not session.is_locked:
        raise ValidationError("The session is still open: change it directly.")
    addendum = SessionAddendum.objects.create(session=session, text=text, added_by=added_by)
    record_event(
        action=AuditAction.UPDATE,
        actor=on_behalf_of(added_by, actor),
        obj=session,
        patient_id=session.patient_id,
        summary=f"Addendum: {text[:200]}",
    )
    return addendum


@transaction.atomic
def publish_consent_template(
    *,
    code: str,
    title: str,
    body: str,
    risks: list[str],
    alternatives: str,
    published_by: User | None,
    actor: Actor | None = None,
) -> ConsentTemplate:
    """Publish consent wording as the next version of `code`; earlier versions stay as signed."""
    risks = [risk.strip() for risk in risks if risk.strip()]
    if not risks:
        raise ValidationError({"risks": ["List the risks the patient initials."]})
    latest = (
        ConsentTemplate.objects.select_for_update().filter(code=code).order_by("-version").first()
    )
    template = ConsentTemplate(
        code=code,
        version=(latest.version + 1) if latest else 1,
        title=title,
        body=body,
        risks=risks,
        alternatives=alternatives,
        created_by=published_by,
    )
    template.full_clean()
    ConsentTemplate.objects.filter(code=code).update(is_current=False)
    template.save()
    record_event(
        action=AuditAction.CREATE,
        actor=on_behalf_of(published_by, actor),
        obj=template,
        summary=f"Published consent form “{title}” version {template.version}",
    )
    return template


# Follow-up outcomes and adverse events -------------------------------------------


@transaction.atomic
def record_outcome(
    *,
    session: TreatmentSession,
    gais_practitioner: int,
    gais_patient: int,
    satisfaction: int,
    notes: str = "",
    photos: list[PatientPhoto] | None = None,
    appointment: Appointment | None = None,
    recorded_by: User,
    actor: Actor | None = None,
) -> Outcome:
    """A review's result: GAIS from both sides (1 very much improved … 5 worse) and satisfaction."""
    if not session.is_locked:
        raise ValidationError("Review a session once it is completed.")
    photos = list(photos or [])
    if any(
        photo.patient_id != session.patient_id
        or photo.stage == PhotoStage.BASELINE
        or photo.is_archived
        for photo in photos
    ):
        raise ValidationError({"photos": ["Choose this patient's follow-up photos only."]})
    if appointment is not None and appointment.patient_id != session.patient_id:
        raise ValidationError({"appointment": ["That appointment is another patient's."]})
    outcome = Outcome(
        session=session,
        appointment=appointment,
        reviewed_on=timezone.localdate(timezone=session.location.zone),
        gais_practitioner=gais_practitioner,
        gais_patient=gais_patient,
        satisfaction=satisfaction,
        notes=notes,
        recorded_by=recorded_by,
    )
    outcome.full_clean()
    outcome.save()
    outcome.photos.set(photos)
    record_event(
        action=AuditAction.CREATE,
        actor=on_behalf_of(recorded_by, actor),
        obj=outcome,
        patient_id=session.patient_id,
        summary=f"Review: GAIS {gais_practitioner} (practitioner), {gais_patient} (patient), "
        f"satisfaction {satisfaction}/10",
    )
    return outcome


@transaction.atomic
def report_adverse_event(
    *,
    session: TreatmentSession,
    event_type: str,
    severity: str,
    onset_on: date,
    lots: list[StockLot] | None = None,
    management: str = "",
    threads_removed: bool = False,
    resolved_on: date | None = None,
    description: str = "",
    reported_by: User,
    actor: Actor | None = None,
) -> AdverseEvent:
    """Record a complication after a session, naming the lots involved (for recalls)."""
    if not session.is_locked:
        raise ValidationError("Report adverse events on a completed session.")
    lots = list(lots or [])
    placed = set(session.placed.values_list("lot_id", flat=True))
    if any(lot.pk not in placed for lot in lots):
        raise ValidationError({"lots": ["Choose lots used in this session."]})
    started = timezone.localtime(session.started_at, session.location.zone).date()
    if onset_on < started:
        raise ValidationError({"onset_on": ["The onset is before the session."]})
    if onset_on > timezone.localdate(timezone=session.location.zone):
        raise ValidationError({"onset_on": ["The onset is in the future."]})
    if resolved_on is not None and resolved_on < onset_on:
        raise ValidationError({"resolved_on": ["It cannot resolve before it began."]})
    if resolved_on is not None and resolved_on > timezone.localdate(timezone=session.location.zone):
        raise ValidationError({"resolved_on": ["The resolution date is in the future."]})
    event = AdverseEvent(
        session=session,
        event_type=event_type,
        severity=severity,
        onset_on=onset_on,
        management=management,
        threads_removed=threads_removed,
        resolved_on=resolved_on,
        description=description,
        reported_by=reported_by,
    )
    event.full_clean()
    event.save()
    event.lots.set(lots or [])
    record_event(
        action=AuditAction.CREATE,
        actor=on_behalf_of(reported_by, actor),
        obj=event,
        patient_id=session.patient_id,
        summary=f"Adverse event: {event.get_event_type_display()} ({severity})",
    )
    return event
