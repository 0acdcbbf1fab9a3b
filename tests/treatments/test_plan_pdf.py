import io
import logging
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader
from pypdf.generic import ContentStream

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from tests.factories import (
    LocationFactory,
    StaffMemberFactory,
    ThreadProductFactory,
)
from tests.recipes import screened_patient
from treatments.documents import (
    DIAGRAM_UNITS,
    FACE_DRAWINGS,
    PlanSummaryDocument,
    draw_vector,
    face_drawing,
)
from treatments.models import DiagramView, ThreadVector
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db

# The patient's assessment the plan is printed with: a Glogau III midface, flat cheeks.
ASSESSMENT = {
    "details": {"fitzpatrick": 2, "glogau": 3},
    "areas": {"midface": {"concern": "Flat cheeks", "laxity": 2}},
}
HOSTILE_IMG = '<img src="file:///etc/passwd">'
HOSTILE_LINK = '<link rel="stylesheet" href="http://attacker.example/x.css">'


def make_product(name, thread_length_mm, price, **extra):
    return ThreadProductFactory(
        manufacturer="Testwell Sutures",
        name=name,
        thread_length_mm=thread_length_mm,
        unit_price=Decimal(price),
        **extra,
    )


@pytest.fixture
def cog(db):
    return make_product("Anchor Cog 19G", 150, "40.00")


@pytest.fixture
def pcl(db):
    return make_product("Longa PCL Cog", 150, "55.50", material="PCL")


@pytest.fixture
def doctor(location):
    return StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])


def vector(product, area, side, count, entry, end, view="front", notes=""):
    return {
        "area": area,
        "side": side,
        "product": product.pk,
        "count": count,
        "view": view,
        "entry": list(entry),
        "end": list(end),
        "depth": "subcutaneous",
        "notes": notes,
    }


def make_plan(doctor, location, vectors, notes="", **patient):
    patient.setdefault("date_of_birth", date(1981, 3, 14))
    plan = plan_services.create_plan(
        patient=screened_patient(doctor, **ASSESSMENT, **patient),
        practitioner=doctor,
        location=location,
        actor=Actor.system(user=doctor.user),
    )
    return plan_services.save_plan(
        plan=plan,
        revision=plan.revision,
        vectors=vectors,
        notes=notes,
        actor=Actor.system(user=doctor.user),
    )


@pytest.fixture
def plan(doctor, location, cog, pcl):
    return make_plan(
        doctor,
        location,
        [
            vector(cog, "midface", "right", 2, (0.27, 0.30), (0.42, 0.62)),
            vector(cog, "midface", "left", 2, (0.73, 0.30), (0.58, 0.62)),
            vector(pcl, "jawline", "left", 3, (0.71, 0.52), (0.60, 0.80), notes="Above the border"),
            vector(pcl, "neck", "midline", 1, (0.50, 0.88), (0.62, 0.97), view="profile"),
        ],
        first_name="Harriet",
        last_name="Vane",
    )


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squeezed(text: str) -> str:
    """Without white space: table cells wrap where the layout likes."""
    return "".join(text.split())


def get_pdf(client, user, plan):
    client.force_login(user)
    return client.get(reverse("treatments:plan_pdf", args=[plan.pk]))


def pages_text(pdf: bytes) -> list[str]:
    return [squeezed(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def row_text(number, area, side, product, kind, count, length, notes=""):
    """A vector row as a reader reads it, cell after cell, without white space."""
    return squeezed(
        f"{number} {area} {side} {product} {kind} {count} Subcutaneous fat {length} {notes}"
    )


def test_the_pdf_lists_every_vector_the_totals_and_the_practitioner(client, doctor, plan):
    response = get_pdf(client, doctor.user, plan)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert "no-store" in response["Cache-Control"]
    flat = squeezed(pdf_text(response.content))
    # Each row reads whole, wherever the pages break.
    barbs = "cog, bidirectional barbs"
    rows = [
        row_text(1, "Midface / cheek", "Right", "Anchor Cog 19G", f"PDO {barbs}", 2, "81 mm"),
        row_text(2, "Midface / cheek", "Left", "Anchor Cog 19G", f"PDO {barbs}", 2, "81 mm"),
        row_text(
            3,
            "Jawline / jowl",
            "Left",
            "Longa PCL Cog",
            f"PCL {barbs}",
            3,
            "69 mm*",
            "Above the border",
        ),
        row_text(4, "Neck (profile)", "Midline", "Longa PCL Cog", f"PCL {barbs}", 1, "34 mm*"),
    ]
    for row in rows:
        assert row in flat
    # Totals: 8 threads, per area, side and product, and the cost (4 × 40 + 4 × 55.50).
    assert "Totalthreads8" in flat
    assert "Midface/cheek:4;Jawline/jowl:3;Neck:1" in flat
    assert "Right:2;Left:5;Midline:1" in flat
    assert "AnchorCog19G:4;LongaPCLCog:4" in flat
    assert "382.00" in flat
    # Nothing in stock at the plan's location: the warnings say so.
    assert "Stock:AnchorCog19Gneeds4" in flat
    assert squeezed(str(doctor)) in flat
    assert squeezed(doctor.registration_number) in flat
    assert "HarrietVane" in flat
    assert plan.patient.record_number in flat
    assert "14Mar1981" in flat
    assert "Version1·Draft" in flat


def test_the_diagram_and_the_vector_table_are_on_pages_of_their_own(client, doctor, plan):
    first, second = pages_text(get_pdf(client, doctor.user, plan).content)
    assert "Wherethethreadsgo" in first and "Patient'sright" in first
    assert "Vectors" not in first and "AnchorCog19G" not in first
    assert second.startswith("Vectors")
    assert "Patient'sright" not in second and "hairline" not in second


def test_a_plan_longer_than_a_page_never_splits_a_row(client, doctor, location, cog):
    vectors = [
        vector(cog, "midface", "right", 1, (0.27, 0.30), (0.42, 0.62), notes=f"Row {n:02}")
        for n in range(1, 41)
    ]
    plan = make_plan(doctor, location, vectors)
    pages = pages_text(get_pdf(client, doctor.user, plan).content)
    assert len(pages) > 3  # the table runs over several pages
    for n in range(1, 41):
        row = row_text(
            n,
            "Midface / cheek",
            "Right",
            "Anchor Cog 19G",
            "PDO cog, bidirectional barbs",
            1,
            "81 mm",
            f"Row {n:02}",
        )
        assert sum(row in page for page in pages) == 1, n
    # The column headings are repeated on every page the table reaches.
    assert all("No.Areaandside" in page for page in pages[1:-1])


def test_lengths_use_the_plans_scale(client, doctor, plan):
    # (0.27, 0.30) → (0.42, 0.62) is 0.353 diagram units: 81 mm at 230 mm per unit.
    flat = squeezed(pdf_text(get_pdf(client, doctor.user, plan).content))
    assert "81mm" in flat
    assert "230mmperdiagramunit" in flat


def test_the_pdf_is_printed_on_the_locations_paper(client, doctor, location, plan):
    location.paper_size = "Letter"
    location.save()
    pdf = get_pdf(client, doctor.user, plan).content
    assert round(float(PdfReader(io.BytesIO(pdf)).pages[0].mediabox.width)) == 612


def all_streams(pdf: bytes):
    """Every page's content stream and every XObject under it, with the XObjects."""
    reader = PdfReader(io.BytesIO(pdf))
    seen, streams, xobjects = set(), [], []

    def walk(resources, content):
        streams.append(content)
        xobject_dict = (resources or {}).get("/XObject") or {}
        for ref in xobject_dict.values():
            xobject = ref.get_object()
            if id(xobject) in seen:
                continue
            seen.add(id(xobject))
            xobjects.append(xobject)
            if xobject.get("/Subtype") == "/Form":
                walk(xobject.get("/Resources"), ContentStream(xobject, reader))

    for page in reader.pages:
        walk(page.get("/Resources"), ContentStream(page.get_contents(), reader))
    return streams, xobjects


def test_the_diagram_is_vector_graphics_not_a_picture(client, doctor, plan):
    pdf = get_pdf(client, doctor.user, plan).content
    streams, xobjects = all_streams(pdf)
    assert not [x for x in xobjects if x.get("/Subtype") == "/Image"]
    operators = [op for stream in streams for _, op in stream.operations]
    # The face is drawn with Bézier curves (c); the vectors with lines (l), stroked (S).
    assert operators.count(b"c") > 20
    assert operators.count(b"l") >= 4
    assert b"S" in operators


def test_each_vector_is_drawn_from_entry_to_end_with_an_arrowhead_at_the_end():
    line = ThreadVector(side="left", entry_x=0.3, entry_y=0.5, end_x=0.3, end_y=0.2)
    drawn = draw_vector(3, line)
    assert (drawn.x1, drawn.y1, drawn.x2, drawn.y2) == (300, 500, 300, 200)
    tip, *base = drawn.arrow.split()
    assert tip == "300.0,200.0"  # the arrow points at the end (fixation) point
    assert all(float(point.split(",")[1]) > 200 for point in base)
    assert drawn.label_y > drawn.y1  # the number sits behind the entry point
    dot = draw_vector(1, ThreadVector(side="right", entry_x=0.5, entry_y=0.5, end_x=0.5, end_y=0.5))
    assert dot.arrow == ""  # no direction: the template draws a dot


def test_hostile_names_and_notes_print_as_text_and_fetch_nothing(
    client, doctor, location, cog, caplog
):
    plan = make_plan(
        doctor,
        location,
        [vector(cog, "midface", "left", 1, (0.7, 0.3), (0.58, 0.62), notes=HOSTILE_LINK)],
        notes=f"Discussed {HOSTILE_IMG}",
        first_name=HOSTILE_IMG,
        last_name=HOSTILE_LINK,
    )
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        response = get_pdf(client, doctor.user, plan)
    assert response.status_code == 200
    flat = squeezed(pdf_text(response.content))
    assert squeezed(HOSTILE_IMG) in flat
    assert 'href="http://attacker.example/x.css">' in flat
    assert "root:x:0:0" not in flat
    # Escaped text is never parsed as markup, so not even a refusal was needed.
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


def test_the_document_renders_without_a_request_too(doctor, plan):
    pdf = PlanSummaryDocument(plan).render()
    assert pdf.startswith(b"%PDF-")
    assert PlanSummaryDocument(plan).filename() == f"plan-{plan.patient.record_number}-v1.pdf"


def test_printing_is_audited(client, doctor, plan):
    get_pdf(client, doctor.user, plan)
    event = AuditEvent.objects.get(action=AuditAction.PRINT)
    assert event.actor == doctor.user
    assert event.object_type == "treatments.TreatmentPlan"
    assert event.object_id == str(plan.pk)
    assert event.patient_id == plan.patient_id


@pytest.mark.parametrize(
    ("role", "status"), [(Role.FRONT_DESK, 403), (Role.PRACTITIONER, 200), (Role.MANAGER, 200)]
)
def test_clinicians_print_plans_and_the_front_desk_does_not(
    client, users_by_role, plan, role, status
):
    response = get_pdf(client, users_by_role[role], plan)
    assert response.status_code == status
    printed = AuditEvent.objects.filter(action=AuditAction.PRINT).exists()
    assert printed == (status == 200)


def test_anonymous_visitors_are_sent_to_sign_in(client, plan):
    response = client.get(reverse("treatments:plan_pdf", args=[plan.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_plan_at_a_location_the_practitioner_does_not_work_at_is_not_found(client, doctor, cog):
    elsewhere = LocationFactory(name="Elsewhere Clinic")
    plan = make_plan(
        doctor, elsewhere, [vector(cog, "midface", "left", 1, (0.7, 0.3), (0.58, 0.62))]
    )
    stranger = StaffMemberFactory(
        role=Role.PRACTITIONER, locations=[LocationFactory(name="Another Clinic")]
    )
    assert get_pdf(client, stranger.user, plan).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.PRINT).exists()
    assert get_pdf(client, doctor.user, plan).status_code == 404  # doctor works elsewhere
    doctor.locations.add(elsewhere)
    assert get_pdf(client, doctor.user, plan).status_code == 200


def test_an_unknown_plan_is_not_found(client, doctor):
    client.force_login(doctor.user)
    assert client.get(reverse("treatments:plan_pdf", args=[987654])).status_code == 404


def test_an_empty_plan_prints_saying_so(client, doctor, location):
    plan = plan_services.create_plan(
        patient=screened_patient(
            doctor, **ASSESSMENT, date_of_birth=timezone.localdate() - timedelta(days=15000)
        ),
        practitioner=doctor,
        location=location,
        actor=Actor.system(user=doctor.user),
    )
    flat = squeezed(pdf_text(get_pdf(client, doctor.user, plan).content))
    assert "Novectorsplannedyet." in flat
    assert "Totalthreads0" in flat


@pytest.mark.parametrize("view", [DiagramView.FRONT, DiagramView.PROFILE])
def test_the_pdf_draws_the_planners_own_face_at_the_planners_scale(view):
    """Same drawing, same square: a vector sits on the same spot of the face as on screen."""
    source = ET.parse(finders.find(FACE_DRAWINGS[view])).getroot()  # noqa: S314  (our own file)
    assert source.get("viewBox") == f"0 0 {DIAGRAM_UNITS} {DIAGRAM_UNITS}"
    drawing = str(face_drawing(view))
    first_path = next(el for el in source.iter() if el.tag.endswith("path")).get("d")
    assert f'd="{first_path}"' in drawing
    assert "<use" not in drawing and "<title" not in drawing
    if view == DiagramView.FRONT:  # the mirrored half is copied in, not referenced
        assert 'transform="translate(1000 0) scale(-1 1)"' in drawing


HOSTILE_DRAWING = """<svg xmlns="http://www.w3.org/2000/svg"
  xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 1000 1000" onload="alert(1)">
  <script>alert(2)</script>
  <style>path { fill: url(http://attacker.example/x) }</style>
  <image href="file:///etc/passwd" width="10" height="10"/>
  <g id="half" style="fill: red" stroke="#4a545e"><path d="M 0 0 L 10 10" onclick="x()"/></g>
  <use xlink:href="file:///etc/passwd#x"/>
  <text x="5" y="5" font-family="sans-serif">&lt;b&gt;chin</text>
</svg>"""


def test_only_drawing_elements_and_attributes_of_the_face_drawing_reach_the_pdf(
    settings, tmp_path, client, doctor, plan, caplog
):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "face-front.svg").write_text(HOSTILE_DRAWING)
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    drawing = str(face_drawing(DiagramView.FRONT))
    assert '<path d="M 0 0 L 10 10"></path>' in drawing
    assert '<text x="5" y="5" font-family="Threadline Sans">&lt;b&gt;chin</text>' in drawing
    for banned in ("onload", "onclick", "script", "style", "image", "passwd", "href", "<use"):
        assert banned not in drawing, banned
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        assert get_pdf(client, doctor.user, plan).status_code == 200
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


def test_the_cost_is_printed_in_the_currency_of_the_plans_location(client, doctor, plan, cog):
    london = squeezed(pdf_text(get_pdf(client, doctor.user, plan).content))
    assert "Estimatedproductcost£382.00(GBP,atthe" in london

    new_york = LocationFactory(
        name="Threadline New York",
        country="US",
        time_zone="America/New_York",
        phone="+1 212 555 0147",
        emergency_phone="+1 212 555 0199",
    )
    there = StaffMemberFactory(role=Role.PRACTITIONER, locations=[new_york])
    vectors = [vector(cog, "midface", "right", 2, (0.27, 0.30), (0.42, 0.62))]
    american = squeezed(
        pdf_text(get_pdf(client, there.user, make_plan(there, new_york, vectors)).content)
    )
    assert "Estimatedproductcost$80.00(USD,atthe" in american
    assert "£" not in american
