"""The thread-placement planner: a patient's plans, the planner page and its JSON endpoints.

Every write goes through treatments.services. The planner page edits one
in-memory copy of the plan in the browser (static/js/planner/) and saves it
whole to `plan_save` against the revision it was loaded at, so two people
editing the same plan never overwrite each other silently.

Plans are reached by their own id and only at the user's own locations
(another location's plan answers 404). The JSON endpoints answer errors in
JSON: 400 for bad input, 403 without the right, 404, and 409 for a stale
revision with the plan as the server has it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.currency import money_parts
from clinic.json_api import BadJsonBody, json_error, read_json_body
from clinic.locations import current_location
from clinic.models import AuditAction
from clinic.permissions import deny, require_permission
from clinic.signed_in import SignedInRequest
from consultations.alerts import medical_alerts
from consultations.models import FacialArea, Patient, PatientPhoto, PhotoStage, PhotoView
from consultations.selectors import check_planning_gate
from treatments.models import (
    Anaesthesia,
    Depth,
    DiagramView,
    PlanStatus,
    ProtocolPreset,
    Side,
    ThreadProduct,
    ThreadVector,
    TreatmentPlan,
)
from treatments.selectors import usable_stock
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services

# A plan of 200 vectors with long notes is about 60 KB of JSON: 256 KB is ample.
MAX_BODY_BYTES = 256 * 1024
SAVE_FIELDS = {"revision", "vectors", "notes", "anaesthesia"}
CALIBRATE_FIELDS = {"photo", "left_pupil", "right_pupil"}
# How many product colours the planner's stylesheet defines (planner.css, .pc-0 … .pc-7).
PRODUCT_COLOURS = 8
PROFILE_PHOTO_VIEWS = (PhotoView.LEFT_PROFILE, PhotoView.RIGHT_PROFILE)
STATUS_DONE: dict[str, str] = {
    PlanStatus.PROPOSED: "Proposed to the patient.",
    PlanStatus.ACCEPTED: "Accepted: this version is now frozen.",
    PlanStatus.DRAFT: "Back to draft: the plan can be edited again.",
}


def require_permission_json(permission: str) -> Callable:
    """Like @require_permission, for JSON endpoints: the refusal is audited and answered in JSON."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perm(permission):
                refusal = deny(request, permission)
                return JsonResponse({"error": str(refusal)}, status=403)
            return view(request, *args, **kwargs)

        # Read by the access-control suite; a function's attributes live in its __dict__.
        wrapped.__dict__["required_permission"] = permission
        return wrapped

    return decorator


def read_json_object(request: HttpRequest, allowed: set[str]) -> dict[str, Any]:
    """The request body as a JSON object with only `allowed` fields, or BadJsonBody."""
    data = read_json_body(request, max_bytes=MAX_BODY_BYTES)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadJsonBody(f"Unknown field {unknown[0]!r}.")
    return data


def whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def plan_or_404(request: HttpRequest, pk: int) -> TreatmentPlan:
    return get_for_user_or_404(
        TreatmentPlan.objects.select_related("patient", "practitioner__user", "location"),
        request.user,
        pk=pk,
    )


def vector_payload(vector: ThreadVector) -> dict[str, Any]:
    """A vector in the planner's (and the save endpoint's) format."""
    return {
        "area": vector.area,
        "side": vector.side,
        "product": vector.product_id,
        "count": vector.count,
        "view": vector.view,
        "entry": [vector.entry_x, vector.entry_y],
        "end": [vector.end_x, vector.end_y],
        "depth": vector.depth,
        "notes": vector.notes,
    }


def summary_payload(summary: plan_services.PlanSummary) -> dict[str, Any]:
    return {
        "total_threads": summary.total_threads,
        "by_area": summary.by_area,
        "by_side": summary.by_side,
        "by_product": summary.by_product,
        "cost": str(summary.cost),
    }


# Patient's plans ---------------------------------------------------------------------


@require_permission("treatments.view_treatmentplan")
@require_http_methods(["GET", "POST"])
def plan_list(request: SignedInRequest, pk: int) -> HttpResponse:
    """A patient's plans, every series and version, and the way to start one."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("treatments.add_treatmentplan"):
            raise deny(request, "treatments.add_treatmentplan")
        return start_plan(request, patient)

    gate = check_planning_gate(patient=patient)
    openable = set(patient.treatment_plans.for_user(request.user).values_list("pk", flat=True))
    plans = list(
        patient.treatment_plans.select_related("practitioner__user", "location").order_by(
            "-created_at", "-version", "-pk"
        )
    )
    for plan in plans:
        # For the template only: whether this user may open the plan here.
        plan.openable = plan.pk in openable  # type: ignore[attr-defined]
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=patient,
        patient_id=patient.pk,
        summary="Opened the treatment plans",
    )
    return render(
        request,
        "treatments/plans/plan_list.html",
        {
            "patient": patient,
            "plans": plans,
            "gate": gate,
            "can_start": gate.allowed
            and request.user.has_perm("treatments.add_treatmentplan")
            and not patient.is_archived,
        },
    )


def start_plan(request: SignedInRequest, patient: Patient) -> HttpResponse:
    location = current_location(request)
    staff = getattr(request.user, "staff", None)
    if location is None or staff is None:
        messages.error(request, "Choose the location you work at before starting a plan.")
        return redirect("treatments:plan_list", pk=patient.pk)
    if patient.is_archived:
        messages.error(request, "This record is archived: restore it before planning.")
        return redirect("treatments:plan_list", pk=patient.pk)
    try:
        plan = plan_services.create_plan(
            patient=patient,
            practitioner=staff,
            location=location,
            actor=Actor.from_request(request),
        )
    except ValidationError as error:
        messages.error(request, "No plan was started. " + " ".join(error.messages))
        return redirect("treatments:plan_list", pk=patient.pk)
    messages.success(request, "Started a treatment plan (version 1).")
    return redirect("treatments:planner", pk=plan.pk)


# The planner page ----------------------------------------------------------------------


def currency_payload(currency: str) -> dict[str, str]:
    before, after = money_parts(currency)
    return {"code": currency, "before": before, "after": after}


def product_payload(product: ThreadProduct, colour: int, on_hand: int) -> dict[str, Any]:
    return {
        "id": product.pk,
        "name": product.name,
        "label": str(product),
        "thread_length_mm": product.thread_length_mm,
        "needle_length_mm": product.needle_length_mm,
        "reach_mm": product.reach_mm,
        "unit_price": str(product.unit_price),
        "active": product.is_active,
        "on_hand": on_hand,
        "colour": colour,
    }


def preset_vectors(preset: ProtocolPreset, active_ids: set[int]) -> tuple[list[dict], int]:
    """A preset's vectors in the save format, and how many were left out.

    Presets are typed by managers: a vector whose product is no longer in use
    or whose fields are not what the planner saves is left out, not guessed at.
    """
    kept: list[dict] = []
    raw = preset.vectors if isinstance(preset.vectors, list) else []
    for item in raw:
        if not isinstance(item, dict):
            continue
        # The model's comment names the field "product_id"; the save format calls it "product".
        product = item.get("product") if "product" in item else item.get("product_id")
        vector = {
            "area": item.get("area"),
            "side": item.get("side"),
            "product": product,
            "count": item.get("count"),
            "view": item.get("view", DiagramView.FRONT),
            "entry": item.get("entry"),
            "end": item.get("end"),
            "depth": item.get("depth"),
            "notes": item.get("notes", ""),
        }
        points_ok = all(
            isinstance(point, list)
            and len(point) == 2
            and all(
                isinstance(c, int | float) and not isinstance(c, bool) and 0 <= c <= 1
                for c in point
            )
            for point in (vector["entry"], vector["end"])
        )
        if (
            whole_number(product)
            and product in active_ids
            and vector["area"] in FacialArea.values
            and vector["side"] in Side.values
            and vector["view"] in DiagramView.values
            and vector["depth"] in Depth.values
            and whole_number(vector["count"])
            and 1 <= vector["count"] <= plan_services.MAX_COUNT
            and isinstance(vector["notes"], str)
            and len(vector["notes"]) <= 300
            and points_ok
        ):
            kept.append(vector)
    return kept, len(raw) - len(kept)


def photo_sort_key(photo: PatientPhoto):
    """Baselines first, then oldest first: the photo a plan is drawn on."""
    return (photo.stage != PhotoStage.BASELINE, photo.taken_on, photo.pk)


def photo_payload(photo: PatientPhoto) -> dict[str, Any]:
    return {
        "id": photo.pk,
        "view": photo.view,
        "url": reverse("consultations:photo_image", args=[photo.pk]),
        "label": f"{photo.get_view_display()}, {photo.get_stage_display().lower()}, "
        f"{photo.taken_on:%d %b %Y}",
        "width": photo.width,
        "height": photo.height,
    }


@require_permission("treatments.view_treatmentplan")
@require_http_methods(["GET"])
def planner(request: HttpRequest, pk: int) -> HttpResponse:
    """The face diagram, the vector table, the live summary and the plan's status."""
    plan = plan_or_404(request, pk)
    can_change = request.user.has_perm("treatments.change_treatmentplan")
    editable = can_change and not plan.is_frozen

    vectors = list(plan.vectors.select_related("product"))
    used_ids = {vector.product_id for vector in vectors}
    products = list(ThreadProduct.objects.filter(Q(is_active=True) | Q(pk__in=used_ids)))
    on_hand = usable_stock(plan.location, [product.pk for product in products])
    active_ids = {product.pk for product in products if product.is_active}
    presets = []
    for preset in ProtocolPreset.objects.filter(is_active=True):
        kept, left_out = preset_vectors(preset, active_ids)
        presets.append(
            {
                "id": preset.pk,
                "name": preset.name,
                "description": preset.description,
                "vectors": kept,
                "left_out": left_out,
            }
        )
    photos = sorted(
        PatientPhoto.objects.filter(
            patient_id=plan.patient_id,
            is_archived=False,
            view__in=[PhotoView.FRONTAL, *PROFILE_PHOTO_VIEWS],
        ),
        key=photo_sort_key,
    )
    versions = list(
        TreatmentPlan.objects.filter(series_id=plan.series_id)
        .order_by("-version")
        .only("pk", "version", "status", "series_id")
    )
    series_draft = next((v for v in versions if v.status == PlanStatus.DRAFT), None)
    summary = plan_services.summarise_plan(plan, vectors)

    product_rows = [
        product_payload(product, index % PRODUCT_COLOURS, on_hand.get(product.pk, 0))
        for index, product in enumerate(products)
    ]
    data = {
        "plan": {
            "id": plan.pk,
            "version": plan.version,
            "revision": plan.revision,
            "status": plan.status,
            "frozen": plan.is_frozen,
            "editable": editable,
            "mm_per_unit": plan.mm_per_unit,
            "calibration_photo": plan.calibration_photo_id,
            "location": plan.location.name,
        },
        # How the planner's script writes the estimated cost (as clinic.currency does).
        "currency": currency_payload(plan.location.currency),
        "vectors": [vector_payload(vector) for vector in vectors],
        "notes": plan.notes,
        "products": product_rows,
        "presets": presets,
        "photos": [photo_payload(photo) for photo in photos],
        "areas": FacialArea.choices,
        "sides": Side.choices,
        "depths": Depth.choices,
        "views": DiagramView.choices,
        "limits": {"vectors": plan_services.MAX_VECTORS, "count": plan_services.MAX_COUNT},
        "short_share": plan_services.SHORT_VECTOR_SHARE,
        "urls": {
            "save": reverse("treatments:plan_save", args=[plan.pk]),
            "calibrate": reverse("treatments:plan_calibrate", args=[plan.pk]),
        },
    }
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=plan,
        patient_id=plan.patient_id,
        summary=f"Opened plan v{plan.version}" + ("" if editable else " (read only)"),
    )
    products_by_id = {product.pk: row for product, row in zip(products, product_rows, strict=True)}
    return render(
        request,
        "treatments/plans/planner.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "alerts": medical_alerts(plan.patient),
            # The accepted version leads on to its consent: the signed one, or the form.
            "consent": (
                consent_services.valid_consent_for(plan)
                if plan.status == PlanStatus.ACCEPTED
                else None
            ),
            # The consent text last sent to read at home, and what the patient did with it.
            "reading": plan.consent_readings.order_by("-sent_at", "-pk").first(),
            "editable": editable,
            "can_change": can_change,
            "vectors": [(vector, products_by_id[vector.product_id]) for vector in vectors],
            "active_products": [row for row in product_rows if row["active"]],
            "summary": summary,
            "versions": versions,
            "series_draft": series_draft,
            "planner_data": data,
            "has_frontal_photo": any(photo.view == PhotoView.FRONTAL for photo in photos),
            "areas": FacialArea.choices,
            "sides": Side.choices,
            "depths": Depth.choices,
            "anaesthesia_choices": Anaesthesia.choices,
            "max_count": plan_services.MAX_COUNT,
            "PlanStatus": PlanStatus,
        },
    )


# JSON endpoints ------------------------------------------------------------------------


def json_plan_or_none(request: HttpRequest, pk: int) -> TreatmentPlan | None:
    try:
        return plan_or_404(request, pk)
    except Http404:
        return None


@require_permission_json("treatments.change_treatmentplan")
@require_POST
def plan_save(request: SignedInRequest, pk: int) -> JsonResponse:
    """Replace the plan's vectors and notes, if nobody saved it since `revision`."""
    plan = json_plan_or_none(request, pk)
    if plan is None:
        return json_error("No such plan at your locations.", status=404)
    try:
        data = read_json_object(request, SAVE_FIELDS)
        if "revision" not in data:
            raise BadJsonBody("revision is missing: reload the plan.")
        if not whole_number(data["revision"]) or data["revision"] < 1:
            raise BadJsonBody("revision must be a whole number.")
        if "vectors" not in data:
            raise BadJsonBody("vectors is missing.")
        if "notes" in data and not isinstance(data["notes"], str):
            raise BadJsonBody("notes must be text.")
        if "anaesthesia" in data and data["anaesthesia"] not in Anaesthesia.values:
            raise BadJsonBody("anaesthesia must be one of: " + ", ".join(Anaesthesia.values) + ".")
        saved = plan_services.save_plan(
            plan=plan,
            revision=data["revision"],
            vectors=data["vectors"],
            notes=data.get("notes"),
            anaesthesia=data.get("anaesthesia"),
            actor=Actor.from_request(request),
        )
    except BadJsonBody as error:
        return json_error(str(error))
    except ValidationError as error:
        return json_error(" ".join(error.messages))
    except plan_services.PlanConflict as conflict:
        current = conflict.plan
        return json_error(
            str(conflict),
            status=409,
            revision=current.revision,
            vectors=[vector_payload(v) for v in current.vectors.all()],
            notes=current.notes,
        )
    vectors = list(saved.vectors.select_related("product"))
    summary = plan_services.summarise_plan(saved, vectors)
    return JsonResponse(
        {
            "revision": saved.revision,
            "summary": summary_payload(summary),
            "warnings": summary.warnings,
        }
    )


@require_permission_json("treatments.change_treatmentplan")
@require_POST
def plan_calibrate(request: SignedInRequest, pk: int) -> JsonResponse:
    """Set the plan's scale from the pupils marked on a frontal photo of the patient."""
    plan = json_plan_or_none(request, pk)
    if plan is None:
        return json_error("No such plan at your locations.", status=404)
    try:
        data = read_json_object(request, CALIBRATE_FIELDS)
        missing = sorted(CALIBRATE_FIELDS - set(data))
        if missing:
            raise BadJsonBody(f"{missing[0]} is missing.")
        photo = None
        if whole_number(data["photo"]):
            photo = (
                PatientPhoto.objects.for_user(request.user)
                .filter(pk=data["photo"], patient_id=plan.patient_id, is_archived=False)
                .first()
            )
        if photo is None:
            raise BadJsonBody("Choose one of this patient's photos.")
        calibrated = plan_services.calibrate_plan(
            plan=plan,
            photo=photo,
            left_pupil=data["left_pupil"],
            right_pupil=data["right_pupil"],
            actor=Actor.from_request(request),
        )
    except BadJsonBody as error:
        return json_error(str(error))
    except ValidationError as error:
        return json_error(" ".join(error.messages))
    return JsonResponse(
        {"mm_per_unit": calibrated.mm_per_unit, "photo": photo.pk, "revision": calibrated.revision}
    )


# Status and versions ----------------------------------------------------------------------


@require_permission("treatments.change_treatmentplan")
@require_POST
def plan_status(request: SignedInRequest, pk: int) -> HttpResponse:
    """Propose, accept, or take a proposed plan back to draft."""
    plan = plan_or_404(request, pk)
    status = request.POST.get("status", "")
    if status not in STATUS_DONE:
        messages.error(request, "Choose propose, accept or back to draft.")
        return redirect("treatments:planner", pk=plan.pk)
    try:
        plan_services.set_plan_status(plan=plan, status=status, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, STATUS_DONE[status])
    return redirect("treatments:planner", pk=plan.pk)


@require_permission("treatments.change_treatmentplan")
@require_POST
def plan_revise(request: SignedInRequest, pk: int) -> HttpResponse:
    """Start the next version from this one (or continue the series' open draft)."""
    plan = plan_or_404(request, pk)
    open_draft = TreatmentPlan.objects.filter(
        series_id=plan.series_id, status=PlanStatus.DRAFT
    ).first()
    try:
        new = plan_services.revise_plan(plan=plan, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, "No new version was started. " + " ".join(error.messages))
        return redirect("treatments:planner", pk=plan.pk)
    if open_draft is not None and open_draft.pk == new.pk:
        messages.info(request, f"Version {new.version} is already a draft: continue it here.")
    else:
        messages.success(request, f"Started version {new.version} from version {plan.version}.")
    return redirect("treatments:planner", pk=new.pk)
