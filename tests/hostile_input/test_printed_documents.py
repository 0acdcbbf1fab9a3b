from __future__ import annotations

import io
import logging
import unicodedata
import zipfile

import pytest
from django.urls import reverse
from pypdf import PdfReader

from clinic.actors import Actor
from consultations.models import Patient
from consultations.screening import services as screening_services
from tests.hostile_input.endpoints import (
    vector_payloads,
)
from tests.hostile_input.harness import (
    text_of,
)
from tests.hostile_input.payloads import (
    PDF_IMG,
    PDF_LINK,
    PDF_PAYLOADS,
    PDF_STYLE,
)
from tests.hostile_input.world import (
    World,
)
from treatments.models import TreatmentPlan
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db

# -- 3. printed documents: hostile text printed as text, nothing fetched -----------------------

PRINTED = {
    "screening summary": ("practitioner", "consultations:screening_pdf", "screening"),
    "plan summary": ("practitioner", "treatments:plan_pdf", "draft_plan"),
    "consent copy": ("practitioner", "treatments:consent_pdf", "consent"),
    "aftercare sheet": ("practitioner", "treatments:aftercare_pdf", "done_session"),
    "day's aftercare sheets": ("frontdesk", "treatments:aftercare_day_pdf", None),
}
EVERY_PAYLOAD = " ".join(PDF_PAYLOADS)


def squeezed(text: str) -> str:
    """Without white space (lines wrap where the layout likes) and ligatures spelled out."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def make_hostile(world: World) -> None:
    """The patient's name and every note the documents print carry markup that would fetch."""
    Patient.objects.filter(pk=world.patient.pk).update(
        first_name=f"{PDF_IMG} {PDF_STYLE}"[:100], last_name=PDF_LINK
    )
    user = world.doctor_user
    draft = TreatmentPlan.objects.get(pk=world.draft_plan.pk)
    vectors = vector_payloads(draft)
    vectors[0]["notes"] = PDF_STYLE
    actor = Actor.system(user=user)
    plan_services.save_plan(
        plan=draft, revision=draft.revision, vectors=vectors, notes=EVERY_PAYLOAD, actor=actor
    )
    screening_services.decide_screening(
        screening=world.screening,
        decision="overridden",
        justification=f"Seen by her psychologist: {EVERY_PAYLOAD}",
        actor=actor,
    )
    consent_services.withdraw_consent(consent=world.consent, reason=EVERY_PAYLOAD, actor=actor)


@pytest.mark.parametrize("document", PRINTED, ids=list(PRINTED))
def test_printed_documents_show_hostile_text_as_text_and_fetch_nothing(
    document, world, clients, caplog
):
    make_hostile(world)
    role, url_name, record = PRINTED[document]
    args = [getattr(world, record).pk] if record else []
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        response = clients[role].get(reverse(url_name, args=args))
    assert response.status_code == 200, text_of(response)[:2000]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = squeezed(pdf_text(response.content))
    for payload in PDF_PAYLOADS:
        assert squeezed(payload) in text, f"{document} does not print {payload!r} as text"
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert not refused, refused
    assert not [r for r in caplog.records if r.name == "clinic.pdf" and r.levelno >= logging.ERROR]


def test_the_record_export_prints_hostile_text_as_text_and_fetches_nothing(world, clients, caplog):
    """The export's summary.pdf, and the consent copies and aftercare sheets it holds."""
    make_hostile(world)
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        response = clients["manager"].post(
            reverse("records:patient_export", args=[world.patient.pk]),
            {"identity_checked": "on"},
        )
    assert response.status_code == 200, text_of(response)[:2000]
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        pdfs = {name: archive.read(name) for name in archive.namelist() if name.endswith(".pdf")}
    assert "summary.pdf" in pdfs
    for name, pdf in pdfs.items():
        text = squeezed(pdf_text(pdf))
        for payload in PDF_PAYLOADS:  # the patient's name is on every document
            assert squeezed(payload) in text, f"{name} does not print {payload!r} as text"
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert not refused, refused
