"""Treatment plans and their vectors: one transaction each, each audited.

A plan starts only through the screening gate (consultations.selectors.
check_planning_gate). Vectors are saved whole, against the revision the
planner edited, so two people editing one plan never overwrite each other
silently. Accepted plans are frozen: changing one makes a new version, and
accepting that version supersedes the old one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, Location, StaffMember
from consultations.models import (
    FacialArea,
    Patient,
    PatientPhoto,
    PhotoView,
    Screening,
)
from consultations.selectors import check_planning_gate
from treatments.models import (
    AVERAGE_INTERPUPILLARY_MM,
    Anaesthesia,
    Depth,
    DiagramView,
    PlanStatus,
    Side,
    ThreadProduct,
    ThreadVector,
    TreatmentPlan,
)
from treatments.selectors import usable_stock

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
    actor: Actor,
) -> TreatmentPlan:
    """Start a draft plan, version 1: only through the screening gate."""
    screening = _gate_or_refuse(patient)
    plan = TreatmentPlan.objects.create(
        patient=patient,
        practitioner=practitioner,
        location=location,
        screening=screening,
        created_by=actor.user,
    )
    plan.series = plan
    plan.save(update_fields=["series"])
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
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


def checked_choice(value: Any, choices: type[models.TextChoices], name: str) -> str:
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
                    "area": checked_choice(vector["area"], FacialArea, "area"),
                    "side": checked_choice(vector["side"], Side, "side"),
                    "view": checked_choice(vector["view"], DiagramView, "view"),
                    "depth": checked_choice(vector["depth"], Depth, "depth"),
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
    anaesthesia: str | None = None,
    actor: Actor,
) -> TreatmentPlan:
    """Replace the plan's vectors (and notes, and the anaesthesia the consent will name)
    if nobody saved since `revision`.

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
    if anaesthesia is not None:
        locked.anaesthesia = checked_choice(anaesthesia, Anaesthesia, "anaesthesia")
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
    locked.save(update_fields=["notes", "anaesthesia", "revision", "updated_at"])
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Saved plan v{locked.version}: {len(cleaned)} vectors, "
        f"{sum(v['count'] for v in cleaned)} threads",
    )
    return locked


@transaction.atomic
def set_plan_status(*, plan: TreatmentPlan, status: str, actor: Actor) -> TreatmentPlan:
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
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Plan v{locked.version} is now {locked.get_status_display().lower()}",
    )
    return locked


@transaction.atomic
def revise_plan(*, plan: TreatmentPlan, actor: Actor) -> TreatmentPlan:
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
        anaesthesia=plan.anaesthesia,
        mm_per_unit=plan.mm_per_unit,
        calibration_photo=plan.calibration_photo,
        created_by=actor.user,
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
        actor=actor,
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
    actor: Actor,
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
        actor=actor,
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
    on_hand = usable_stock(plan.location, list(needed))
    names = {v.product_id: v.product.name for v in vectors}
    for product_id, count in needed.items():
        have = on_hand.get(product_id, 0)
        if have < count:
            summary.warnings.append(
                f"Stock: {names[product_id]} needs {count}, {plan.location} has {have} usable."
            )
    return summary
