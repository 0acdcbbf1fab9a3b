"""Printed documents of treatments: the plan summary the consent will show.

The face diagram and the plan's vectors are drawn as inline SVG (vector
graphics, crisp in print, nothing fetched). The face is the planner's own
drawing (static/img/face-*.svg), so a vector sits on the same spot of the face
on paper as on screen; it is copied in element by element through a whitelist
of drawing elements and attributes, every value escaped. Vector coordinates
are computed here as plain numbers; every text in the template is autoescaped.
"""

from __future__ import annotations

import copy
import logging
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from clinic.models import Location
from clinic.pdf import PdfDocument
from clinic.people import person_name
from clinic.qr_codes import qr_code_data_url
from treatments.aftercare import (
    NORMAL_SETTLES,
    WARNING_SIGNS,
    WHAT_IS_NORMAL,
    Aftercare,
    aftercare_instructions,
    placed_threads,
    review_appointments,
)
from treatments.models import (
    AdverseEvent,
    ConsentWithdrawal,
    DiagramView,
    PhotoUse,
    Side,
    SignedConsent,
    ThreadVector,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services.consent import verify_consent
from treatments.services.consent_reading import reading_before
from treatments.services.plans import PlanSummary, summarise_plan, vector_warnings
from treatments.signatures import signature_data_url

logger = logging.getLogger(__name__)

# The planner's drawings of the face, one per diagram view, in the same 0–1000 square.
FACE_DRAWINGS: dict[str, str] = {
    DiagramView.FRONT: "img/face-front.svg",
    DiagramView.PROFILE: "img/face-profile.svg",
}
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
DRAWING_ELEMENTS = {"g", "path", "line", "polyline", "polygon", "rect", "circle", "ellipse", "text"}
DRAWING_ATTRIBUTES = {
    "d", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "width", "height",
    "points", "transform", "fill", "stroke", "stroke-width", "stroke-dasharray",
    "stroke-linecap", "stroke-linejoin", "opacity", "fill-opacity", "stroke-opacity",
    "font-size", "font-weight", "text-anchor",
}  # fmt: skip
PDF_FONT = "Threadline Sans"  # the bundled font (static/css/pdf.css), not whatever "sans-serif" is

# The diagram is square, 0–1 each way; the SVG draws it at this many user units.
DIAGRAM_UNITS = 1000
ARROW_LENGTH = 26
ARROW_HALF_WIDTH = 11
LABEL_RADIUS = 21
LABEL_OFFSET = 36
# One colour per side; in grey print the numbers still tell the vectors apart.
SIDE_COLOURS: dict[str, tuple[str, str]] = {
    Side.RIGHT: ("#0b4f8a", "blue"),
    Side.LEFT: ("#a3280f", "red"),
    Side.MIDLINE: ("#2d6a2d", "green"),
}


@dataclass(frozen=True)
class DrawnVector:
    """One vector as the SVG draws it: a numbered line with an arrowhead at its end point."""

    number: int
    colour: str
    x1: float
    y1: float
    x2: float
    y2: float
    arrow: str  # polygon points, or "" when entry and end coincide (a dot is drawn instead)
    label_x: float
    label_y: float
    text_y: float  # the number's baseline, a little below the label's centre


def _round(value: float) -> float:
    return round(value, 1)


def draw_vector(number: int, vector: ThreadVector) -> DrawnVector:
    """Scale a vector to the SVG and work out its arrowhead and its number's place."""
    x1, y1 = vector.entry_x * DIAGRAM_UNITS, vector.entry_y * DIAGRAM_UNITS
    x2, y2 = vector.end_x * DIAGRAM_UNITS, vector.end_y * DIAGRAM_UNITS
    length = math.hypot(x2 - x1, y2 - y1)
    arrow = ""
    # The number sits just behind the entry point, on the line's extension.
    dx, dy = ((x2 - x1) / length, (y2 - y1) / length) if length else (0.0, -1.0)
    if length:
        base_x, base_y = x2 - dx * ARROW_LENGTH, y2 - dy * ARROW_LENGTH
        px, py = -dy * ARROW_HALF_WIDTH, dx * ARROW_HALF_WIDTH
        arrow = " ".join(
            f"{_round(x)},{_round(y)}"
            for x, y in ((x2, y2), (base_x + px, base_y + py), (base_x - px, base_y - py))
        )
    label_x = min(max(x1 - dx * LABEL_OFFSET, LABEL_RADIUS), DIAGRAM_UNITS - LABEL_RADIUS)
    label_y = min(max(y1 - dy * LABEL_OFFSET, LABEL_RADIUS), DIAGRAM_UNITS - LABEL_RADIUS)
    return DrawnVector(
        number=number,
        colour=SIDE_COLOURS.get(vector.side, ("#111111", "black"))[0],
        x1=_round(x1),
        y1=_round(y1),
        x2=_round(x2),
        y2=_round(y2),
        arrow=arrow,
        label_x=_round(label_x),
        label_y=_round(label_y),
        text_y=_round(label_y + 10),
    )


def _local_name(tag: Any) -> str:
    return tag.removeprefix(SVG) if isinstance(tag, str) else ""


def _expand_uses(root: ET.Element) -> None:
    """Replace each <use href="#id"> by a group holding a copy of what it names."""
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    for parent in list(root.iter()):
        for index, child in enumerate(list(parent)):
            if _local_name(child.tag) != "use":
                continue
            target = by_id.get((child.get("href") or child.get(XLINK_HREF) or "").lstrip("#"))
            group = ET.Element(f"{SVG}g", {"transform": child.get("transform", "")})
            if target is not None and target is not child:
                group.append(copy.deepcopy(target))
            parent[index] = group


def _markup(element: ET.Element) -> str:
    """An element and its children as SVG markup, keeping only drawing elements and attributes."""
    name = _local_name(element.tag)
    if name not in DRAWING_ELEMENTS:
        return ""
    attributes = "".join(
        f' {key}="{escape(value)}"'
        for key, value in sorted(element.attrib.items())
        if key in DRAWING_ATTRIBUTES and value
    )
    if name in ("g", "text") and element.get("font-family"):
        attributes += f' font-family="{PDF_FONT}"'
    if name == "text":  # a label such as "hairline": its words, escaped
        inner: str = escape("".join(element.itertext()))
    else:
        inner = "".join(_markup(child) for child in element)
    return f"<{name}{attributes}>{inner}</{name}>"


_drawings: dict[tuple[str, float], SafeString] = {}


def face_drawing(view: str) -> SafeString:
    """The planner's face drawing for a view as inline SVG markup, or "" if it cannot be read."""
    found = finders.find(FACE_DRAWINGS[view]) if view in FACE_DRAWINGS else None
    if not found:
        logger.warning("No face drawing for the %s view: printing the vectors alone", view)
        return SafeString("")
    path = Path(found)
    key = (str(path), path.stat().st_mtime)
    if key not in _drawings:
        try:
            root = ET.fromstring(path.read_bytes())  # noqa: S314  (our own static file)
        except ET.ParseError:
            logger.exception("The %s face drawing is not valid SVG", view)
            return SafeString("")
        _expand_uses(root)
        # Every attribute value and text was escaped by _markup: nothing here is raw input.
        _drawings[key] = mark_safe("".join(_markup(child) for child in root))  # noqa: S308
    return _drawings[key]


def vector_rows(plan: TreatmentPlan, vectors: list[ThreadVector]) -> list[dict[str, Any]]:
    """The table's rows, numbered as the diagram numbers them."""
    return [
        {
            "number": number,
            "area": vector.get_area_display(),
            "side": vector.get_side_display(),
            "view": vector.get_view_display(),
            "product": vector.product.name,
            "manufacturer": vector.product.manufacturer,
            "material": vector.product.material,
            "thread_type": vector.product.get_thread_type_display(),
            "count": vector.count,
            "depth": vector.get_depth_display(),
            "length_mm": round(vector.length_mm(plan.mm_per_unit)),
            "notes": vector.notes,
            "warning": bool(vector_warnings(vector, plan.mm_per_unit)),
        }
        for number, vector in enumerate(vectors, start=1)
    ]


def diagram_context(vectors: list[ThreadVector]) -> dict[str, Any]:
    """What pdf/_face_diagram.html needs to draw a plan's vectors, on paper or on screen."""
    return {
        "diagrams": diagrams(vectors),
        "diagram_units": DIAGRAM_UNITS,
        "label_radius": LABEL_RADIUS,
    }


def diagrams(vectors: list[ThreadVector]) -> list[dict[str, Any]]:
    """The front view always; the profile view only if a vector is drawn on it."""
    views = []
    for view in (DiagramView.FRONT, DiagramView.PROFILE):
        drawn = [
            draw_vector(number, vector)
            for number, vector in enumerate(vectors, start=1)
            if vector.view == view
        ]
        if view == DiagramView.FRONT or drawn:
            views.append(
                {
                    "view": view.value,
                    "label": view.label,
                    "drawing": face_drawing(view),
                    "vectors": drawn,
                }
            )
    return views


class PlanSummaryDocument(PdfDocument):
    """One plan version: diagram, vectors, totals and warnings, as the patient will consent to."""

    template_name = "pdf/plan_summary.html"
    title = "Thread-lift treatment plan"

    def __init__(self, plan: TreatmentPlan, vectors: list[ThreadVector] | None = None):
        self.plan = plan
        self.vectors = (
            vectors if vectors is not None else list(plan.vectors.select_related("product"))
        )
        self.zone = plan.location.zone

    def filename(self) -> str:
        return f"plan-{self.plan.patient.record_number}-v{self.plan.version}.pdf"

    def summary(self) -> PlanSummary:
        return summarise_plan(self.plan, self.vectors)

    def get_context(self) -> dict[str, Any]:
        plan = self.plan
        patient = plan.patient
        practitioner = plan.practitioner
        rows = vector_rows(plan, self.vectors)
        return {
            "location": plan.location,
            "paper_size": plan.location.paper_size,
            "zone_name": plan.location.time_zone,
            "version": plan.version,
            "status": plan.get_status_display(),
            "created_at": plan.created_at,
            "updated_at": plan.updated_at,
            "accepted_at": plan.accepted_at,
            "patient_name": patient.full_name,
            "record_number": patient.record_number,
            "date_of_birth": patient.date_of_birth,
            "practitioner": str(practitioner),
            "registration_number": practitioner.registration_number,
            "mm_per_unit": plan.mm_per_unit,
            "calibrated": plan.calibration_photo_id is not None,
            "notes": plan.notes,
            "rows": rows,
            "length_warnings": any(row["warning"] for row in rows),
            **diagram_context(self.vectors),
            "side_colours": [
                (Side(side).label.lower(), name) for side, (_, name) in SIDE_COLOURS.items()
            ],
            "summary": self.summary(),
        }


# Aftercare sheets and consent copies: what the patient takes home ------------------


def local_moment(moment: datetime | None, location: Location) -> datetime:
    # None (a session not completed yet) is now, as timezone.localtime has it.
    return timezone.localtime(moment, location.zone)


def format_day(moment: datetime | None, location: Location) -> str:
    """A day written out as people at the location write it.

    "Tuesday 14 May 2025", or "Tuesday, May 14, 2025" where the month comes first.
    """
    local = local_moment(moment, location)
    if location.writes_month_first:
        return f"{local:%A}, {local:%B} {local.day}, {local.year}"
    return f"{local:%A} {local.day} {local:%B %Y}"


def format_time(moment: datetime, location: Location) -> str:
    """The wall-clock time at the location: "14:30", or "2:30 PM" where 12-hour clocks are usual."""
    local = local_moment(moment, location)
    if location.writes_month_first:
        return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    return f"{local:%H:%M}"


def format_when(moment: datetime, location: Location) -> str:
    return f"{format_day(moment, location)} at {format_time(moment, location)}"


class AftercareSheet(PdfDocument):
    """The aftercare sheet a patient takes home after a completed session, in large type."""

    template_name = "pdf/aftercare_sheet.html"
    title = "Aftercare after your thread lift"

    def __init__(self, session: TreatmentSession, aftercare: Aftercare | None = None):
        if not session.is_locked:
            raise ValueError("Aftercare is printed for completed sessions only.")
        self.session = session
        self.location = session.location
        self.zone = self.location.zone
        if aftercare is None:
            placed = placed_threads(session)
            aftercare = Aftercare(
                placed=placed,
                instructions=aftercare_instructions(session, placed),
                reviews=review_appointments(session),
            )
        self.aftercare = aftercare

    def filename(self) -> str:
        day = local_moment(self.session.completed_at, self.location)
        return f"aftercare-{self.session.patient.record_number}-{day:%Y-%m-%d}.pdf"

    def threads(self) -> list[dict[str, Any]]:
        """One row per product and lot: what went in, so the patient's copy is traceable."""
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        for placed in self.aftercare.placed:
            row = rows.setdefault(
                (placed.product_id, placed.lot_id),
                {
                    "product": placed.product.name,
                    "manufacturer": placed.product.manufacturer,
                    "material": placed.product.get_material_display(),
                    "lot_number": placed.lot.lot_number,
                    "count": 0,
                    "areas": [],
                },
            )
            row["count"] += placed.count
            area = placed.get_area_display()
            if area not in row["areas"]:
                row["areas"].append(area)
        return list(rows.values())

    def areas(self) -> list[str]:
        """Each area treated with its sides: "Midface / cheek (left and right)"."""
        sides: dict[str, list[str]] = {}
        for placed in self.aftercare.placed:
            where = sides.setdefault(placed.get_area_display(), [])
            side = placed.get_side_display().lower()
            if side not in where:
                where.append(side)
        return [f"{area} ({' and '.join(where)})" for area, where in sides.items()]

    def get_context(self) -> dict[str, Any]:
        session = self.session
        location = self.location
        patient = session.patient
        return {
            "location": location,
            "paper_size": location.paper_size,
            "zone_name": location.time_zone,
            "patient_name": patient.full_name,
            "record_number": patient.record_number,
            "treated_on": format_day(session.completed_at, location),
            "practitioner": str(session.practitioner),
            "areas": self.areas(),
            "threads": self.threads(),
            "instructions": self.aftercare.instructions,
            "what_is_normal": WHAT_IS_NORMAL,
            "normal_settles": NORMAL_SETTLES,
            "warning_signs": WARNING_SIGNS,
            "clinic_phone": location.phone,
            "emergency_phone": location.emergency_phone,
            "printed_at": format_when(timezone.now(), location),
            "reviews": [
                {
                    "name": review.appointment_type.name,
                    "when": format_when(review.starts_at, review.location),
                    "practitioner": str(review.practitioner),
                    "location": review.location.name,
                    "address": review.location.address,
                }
                for review in self.aftercare.reviews
            ],
        }


PHOTO_USE_TEXT: dict[str, str] = {
    PhotoUse.CLINICAL: "Photographs for my clinical record",
    PhotoUse.TEACHING: "Photographs for teaching other clinicians, without my identity",
    PhotoUse.MARKETING: "Photographs in the clinic's marketing",
}


class ConsentCopy(PdfDocument):
    """A signed consent exactly as stored: the text, the plan, the signatures and fingerprint.

    The text printed is the stored `rendered_text`, never the template filled in
    again, so every reprint says what the patient signed.
    """

    template_name = "pdf/consent_copy.html"
    title = "Consent to a thread lift"

    def __init__(
        self,
        consent: SignedConsent,
        vectors: list[ThreadVector] | None = None,
        *,
        at_signing: bool = False,
    ):
        self.consent = consent
        # The copy made once at signing and stored; otherwise a consent from before copies
        # were stored, rendered from the record with its check.
        self.at_signing = at_signing
        self.plan = consent.plan
        self.location = consent.plan.location
        self.zone = self.location.zone
        self.vectors = (
            vectors if vectors is not None else list(self.plan.vectors.select_related("product"))
        )

    def filename(self) -> str:
        signed = local_moment(self.consent.signed_at, self.location)
        return f"consent-{self.consent.patient.record_number}-{signed:%Y-%m-%d}.pdf"

    def verified(self) -> bool:
        if self.at_signing:
            return True  # made from the very content being sealed
        try:
            return verify_consent(self.consent)
        except (OSError, ValueError):  # a signature file is missing: the record no longer matches
            return False

    def verify_url(self) -> str:
        """The verification page of this consent, addressed by its fingerprint, not its id."""
        path = reverse("treatments:consent_verify", args=[self.consent.fingerprint])
        return settings.SITE_URL + path

    def withdrawal(self) -> ConsentWithdrawal | None:
        if self.consent.pk is None:  # being signed: nothing can be withdrawn yet
            return None
        try:
            return self.consent.withdrawal
        except ConsentWithdrawal.DoesNotExist:
            return None

    def read_beforehand(self) -> str:
        """How the consent text was sent and read at home before signing, if it was."""
        note = reading_before(self.consent)
        if note is None:
            return ""
        reading, location = note.reading, self.location
        opened = reading.first_opened_at
        read = reading.read_to_end_at
        parts = [
            f"Sent to read at home on {format_day(reading.sent_at, location)}",
            f"opened {format_day(opened, location)}" if opened else "not opened",
            f"read to the end {format_day(read, location)}" if read else "not read to the end",
        ]
        same = (
            "The text read was the same as the text signed."
            if note.same_text
            else "The text signed differs from the text sent to read: the plan or the consent "
            "form changed after it was sent."
        )
        return "; ".join(parts) + ". " + same

    def get_context(self) -> dict[str, Any]:
        consent = self.consent
        plan = self.plan
        location = self.location
        patient = consent.patient
        practitioner = consent.practitioner
        withdrawal = self.withdrawal()
        return {
            "location": location,
            "paper_size": location.paper_size,
            "zone_name": location.time_zone,
            "form_title": consent.template.title,
            "form_version": consent.template.version,
            "alternatives": consent.template.alternatives,
            "patient_name": patient.full_name,
            "record_number": patient.record_number,
            "date_of_birth": patient.date_of_birth,
            "practitioner": str(practitioner),
            "registration_number": practitioner.registration_number,
            "version": plan.version,
            "rendered_text": consent.rendered_text,
            "risks": consent.risks_initialled,
            "photo_consents": [
                (PHOTO_USE_TEXT.get(use, PhotoUse(use).label), consent.photo_consents.get(use))
                for use in PhotoUse.values
                if use in consent.photo_consents
            ],
            "patient_signature": signature_data_url(consent.patient_signature),
            "practitioner_signature": signature_data_url(consent.practitioner_signature),
            "signed_at": format_when(consent.signed_at, location),
            "printed_at": format_when(timezone.now(), location),
            "ip_address": consent.ip_address or "not recorded",
            "device": consent.user_agent or "not recorded",
            "recorded_by": person_name(consent.recorded_by),
            "read_beforehand": self.read_beforehand(),
            "fingerprint": consent.fingerprint,
            "stored_copy": self.at_signing,
            "verify_url": self.verify_url(),
            "verify_qr_code": qr_code_data_url(self.verify_url()),
            "verified": self.verified(),
            "withdrawal": withdrawal,
            "withdrawn_at": format_when(withdrawal.withdrawn_at, location) if withdrawal else "",
            "rows": vector_rows(plan, self.vectors),
            **diagram_context(self.vectors),
            "side_colours": [
                (Side(side).label.lower(), name) for side, (_, name) in SIDE_COLOURS.items()
            ],
        }


class AdverseEventReport(PdfDocument):
    """One adverse event with what a regulator's report asks for (MHRA Yellow Card for
    medical devices, FDA MedWatch 3500): the patient by initials, age and sex only; the
    device with its manufacturer, lot and expiry; the dates; what happened, how serious,
    what was done, the outcome; and who reports, from where. Every value is escaped."""

    template_name = "pdf/adverse_event_report.html"
    title = "Adverse incident report"

    def __init__(self, event: AdverseEvent, reporter: Any):
        """`reporter` is the user who reported the event (or, if none was recorded, who prints)."""
        self.event = event
        self.session = event.session
        self.location = self.session.location
        self.zone = self.location.zone
        self.reporter = reporter

    def reporter_details(self) -> dict[str, str]:
        staff = getattr(self.reporter, "staff", None)
        return {
            "name": person_name(self.reporter),
            "role": staff.get_role_display() if staff else "",
            "registration": staff.registration_number if staff else "",
            "email": getattr(self.reporter, "email", ""),
        }

    def filename(self) -> str:
        return f"adverse-event-{self.event.pk}-{self.event.onset_on:%Y-%m-%d}.pdf"

    def devices(self) -> list[dict[str, Any]]:
        """The lots the event names, else every lot placed in its session."""
        named = list(self.event.lots.all())
        lots = named or [row.lot for row in placed_threads(self.session)]
        threads: dict[int, int] = {}
        for row in placed_threads(self.session):
            threads[row.lot_id] = threads.get(row.lot_id, 0) + row.count
        seen: dict[int, dict[str, Any]] = {}
        for lot in sorted(lots, key=lambda lot: (lot.product.name, lot.lot_number)):
            seen.setdefault(
                lot.pk,
                {
                    "product": lot.product.name,
                    "manufacturer": lot.product.manufacturer,
                    "material": lot.product.get_material_display(),
                    "thread_type": lot.product.get_thread_type_display(),
                    "lot_number": lot.lot_number,
                    "expires_on": lot.expires_on,
                    "threads": threads.get(lot.pk, 0),
                },
            )
        return list(seen.values())

    def outcome(self) -> str:
        event = self.event
        if event.resolved_on is not None:
            return f"Recovered / resolved on {event.resolved_on:%d %b %Y}"
        return "Not yet recovered / ongoing at the time of this report"

    def get_context(self) -> dict[str, Any]:
        event, session, location = self.event, self.session, self.location
        patient = session.patient
        initials = "".join(part[:1].upper() for part in (patient.first_name, patient.last_name))
        return {
            "location": location,
            "paper_size": location.paper_size,
            "event": event,
            "initials": initials,
            "age": patient.age_on(event.onset_on),
            "sex": patient.get_sex_display(),
            "record_number": patient.record_number,
            "devices": self.devices(),
            "named_lots": event.lots.exists(),
            "procedure_on": format_day(session.completed_at or session.started_at, location),
            "practitioner": str(session.practitioner),
            "onset_on": event.onset_on,
            "event_type": event.get_event_type_display(),
            "severity": event.get_severity_display(),
            "serious": event.serious,
            "outcome": self.outcome(),
            "reporter": self.reporter_details(),
            "reported_at": format_when(event.reported_at, location),
            "printed_at": format_when(timezone.now(), location),
        }
