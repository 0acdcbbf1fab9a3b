from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from clinic.actors import Actor
from consultations.models import Appointment, Patient
from tests.factories import ThreadProductFactory
from tests.hostile_input.endpoints import (
    ENDPOINTS_BY_NAME,
    consultation_valid,
    patient_valid,
    plan_save_valid,
)
from tests.hostile_input.harness import (
    send,
    text_of,
)
from tests.hostile_input.payloads import (
    IMG_ONERROR,
    PDF_IMG,
    PDF_LINK,
    PDF_STYLE,
    RAW_MARKUP,
    SCRIPT,
    SQL,
)
from treatments.services import stock as stock_services

pytestmark = pytest.mark.django_db

# -- 2. accepted hostile text is shown escaped -------------------------------------------------


def assert_escaped(page: str, text: str, where: str) -> None:
    assert text not in page, f"{where} shows {text!r} unescaped"
    assert escape(text) in page, f"{where} does not show {text!r} (escaped)"


def assert_no_raw_markup(page: str, where: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in page, f"{where} shows {markup!r} unescaped"


def test_hostile_text_that_is_accepted_is_shown_escaped_wherever_it_appears(world, clients):
    desk, doctor, manager = clients["frontdesk"], clients["practitioner"], clients["manager"]
    # Registered at the desk with markup for a name.
    response = desk.post(
        reverse("consultations:patient_create"),
        patient_valid(
            world,
            first_name=SCRIPT,
            last_name=IMG_ONERROR,
            preferred_name=PDF_STYLE,
            address=PDF_LINK,
            family_doctor=SQL,
        ),
    )
    assert response.status_code == 302, text_of(response)[:2000]
    patient = Patient.objects.get(first_name=SCRIPT)
    assert (patient.last_name, patient.address, patient.family_doctor) == (
        IMG_ONERROR,
        PDF_LINK,
        SQL,
    )
    # Booked with markup in the notes.
    book = ENDPOINTS_BY_NAME["consultations:appointment_book"]
    response = desk.post(
        book.url(world),
        {**book.valid(world), "patient": patient.record_number, "notes": SCRIPT},
    )
    assert response.status_code == 302, text_of(response)[:2000]
    appointment = Appointment.objects.get(patient=patient)
    # The practitioner's consultation notes, the plan's notes and a vector's.
    consultation = ENDPOINTS_BY_NAME["consultations:consultation_detail"]
    response = doctor.post(
        consultation.url(world),
        {
            **consultation_valid(world),
            "expectations": SCRIPT,
            "skin_quality": IMG_ONERROR,
            "area-jawline-concern": PDF_IMG,
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    save = ENDPOINTS_BY_NAME["treatments:plan_save"]
    body = plan_save_valid(world)
    body["notes"] = SCRIPT
    body["vectors"][0]["notes"] = IMG_ONERROR
    response = send(doctor, save, save.url(world), body)
    assert response.status_code == 200, response.content
    # A product (typed by a manager) with markup for a name, with a lot in stock.
    product = ThreadProductFactory(
        manufacturer=IMG_ONERROR,
        name=SCRIPT,
        material="PDO",
        thread_type="mono",
        gauge=29,
        thread_length_mm=38,
        needle_length_mm=40,
        delivery="needle",
        absorption_months=6,
        unit_price="6.50",
    )
    stock_services.receive_stock(
        product=product,
        location=world.location,
        lot_number="HOSTILE-1",
        expires_on=timezone.localdate() + timedelta(days=10),
        quantity=3,
        actor=Actor.system(user=world.manager),
    )
    # A session's addendum.
    addendum = ENDPOINTS_BY_NAME["treatments:session_addendum"]
    assert doctor.post(addendum.url(world), {"text": SCRIPT}).status_code == 302

    starts = timezone.localtime(appointment.starts_at, world.location.zone).date().isoformat()
    pages = {
        "chart": (desk, reverse("consultations:patient_chart", args=[patient.pk])),
        "chart (clinical)": (doctor, reverse("consultations:patient_chart", args=[patient.pk])),
        "edit form": (desk, reverse("consultations:patient_edit", args=[patient.pk])),
        "search": (desk, reverse("consultations:patient_search") + "?q=script"),
        "search query": (desk, f"/patients/?{urlencode({'q': SCRIPT})}"),
        "appointment": (desk, reverse("consultations:appointment_detail", args=[appointment.pk])),
        "calendar": (desk, reverse("consultations:calendar_day") + f"?date={starts}"),
        "day list": (desk, reverse("consultations:day_list") + f"?date={starts}"),
        "consultation": (doctor, f"/consultations/{world.consultation.pk}/"),
        "planner": (doctor, reverse("treatments:planner", args=[world.draft_plan.pk])),
        "stock": (manager, reverse("treatments:stock_overview")),
        "session": (doctor, reverse("treatments:session_detail", args=[world.done_session.pk])),
        "audit trail": (manager, reverse("audit_trail") + "?" + urlencode({"user": SCRIPT})),
    }  # fmt: skip
    shown = {}
    for where, (client, url) in pages.items():
        response = client.get(url)
        assert response.status_code == 200, f"{where}: {response.status_code}"
        shown[where] = text_of(response)
        assert_no_raw_markup(shown[where], where)

    for where in ("chart", "chart (clinical)", "edit form"):
        assert_escaped(shown[where], SCRIPT, where)
        assert_escaped(shown[where], IMG_ONERROR, where)
    assert_escaped(shown["chart (clinical)"], PDF_LINK, "chart")
    assert_escaped(shown["edit form"], PDF_STYLE, "edit form")
    for where in ("search", "appointment", "calendar", "day list"):
        assert_escaped(shown[where], SCRIPT, where)
    assert_escaped(shown["search query"], SCRIPT, "search query")
    for text in (SCRIPT, IMG_ONERROR, PDF_IMG):
        assert_escaped(shown["consultation"], text, "consultation")
    assert_escaped(shown["stock"], SCRIPT, "stock")
    assert_escaped(shown["stock"], IMG_ONERROR, "stock")
    assert_escaped(shown["session"], SCRIPT, "session")
    # The planner's data block is JSON in a <script type="application/json">: < and > escaped.
    block = re.search(
        r'<script id="planner-data" type="application/json">(.*?)</script>', shown["planner"], re.S
    )
    assert block, "the planner's data block is missing"
    assert "<" not in block.group(1) and ">" not in block.group(1)
    data = json.loads(block.group(1))
    assert data["notes"] == SCRIPT
    assert data["vectors"][0]["notes"] == IMG_ONERROR
    assert SCRIPT in [product["name"] for product in data["products"]]
