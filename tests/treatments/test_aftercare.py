"""The aftercare sheet: instructions chosen by material and area, and the printed sheet itself.

The clinic here is in New York, so every time on the sheet must be New York's
wall clock (the server's default zone is London's) and the paper US Letter.
"""

import io
import logging
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from clinic.actors import Actor
from consultations.booking import services as booking
from consultations.models import Appointment, Patient
from tests.factories import AftercareTemplateFactory, LocationFactory
from tests.recipes import accept, build_clinic, completed_session, sign, start
from treatments.aftercare import WARNING_SIGNS, aftercare_instructions
from treatments.demo import load_demo_aftercare, load_demo_consent
from treatments.documents import AftercareSheet
from treatments.models import (
    DEFAULT_RISKS,
    AftercarePeriod,
    AftercareTemplate,
    ConsentTemplate,
    ThreadProduct,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
EMERGENCY_PHONE = "+1 212 555 0147"
HOSTILE_IMG = '<img src="file:///etc/passwd">'
HOSTILE_LINK = '<link rel="stylesheet" href="http://attacker.example/x.css">'


@pytest.fixture
def location(db):
    """The clinic's New York site: its own time zone, US Letter paper."""
    return LocationFactory(
        name="Threadline Manhattan",
        address="10 Hudson Yards\nNew York, NY 10001",
        phone="+1 212 555 0100",
        emergency_phone=EMERGENCY_PHONE,
        country="US",
        time_zone="America/New_York",
        paper_size="Letter",
    )


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def complete(clinic, session):
    """Complete the session through the service: each vector's threads from the clinic's lot."""
    return completed_session(
        session,
        lot=clinic["lot"],
        by=clinic["doctor"].user,
        details={"anaesthesia": "local", "anaesthetic_agent": "Lidocaine 1%"},
    )


@pytest.fixture
def session(clinic):
    """A completed session: 4 PDO cogs (lot LOT-A) in the midface, left and right."""
    sign(clinic, accept(clinic))
    return complete(clinic, start(clinic))


def instruction(period, text, material="", area="", position=0, is_active=True):
    return AftercareTemplateFactory(
        period=period,
        text=text,
        material=material,
        area=area,
        position=position,
        is_active=is_active,
    )


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squeezed(text: str) -> str:
    """Without white space: lines wrap where the layout likes."""
    return "".join(text.split())


def print_sheet(client, clinic, session):
    client.force_login(clinic["user"])
    return client.get(reverse("treatments:aftercare_pdf", args=[session.pk]))


def new_york_when(moment) -> str:
    """How a New Yorker reads a time: "Tuesday, May 14, 2025 at 9:30 AM"."""
    local = moment.astimezone(NEW_YORK)
    clock = f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    return f"{local:%A}, {local:%B} {local.day}, {local.year} at {clock}"


def test_instructions_are_chosen_by_the_materials_and_areas_treated_and_grouped_by_period(
    session, django_assert_num_queries
):
    P = AftercarePeriod
    # Written out of order on purpose: the sheet follows the patient's weeks, not the codes.
    instruction(P.AFTER_A_MONTH, "PDO dissolves over 6 to 8 months.", material="PDO")
    instruction(P.AFTER_A_MONTH, "PCL dissolves over about 2 years.", material="PCL")
    instruction(P.FIRST_TWO_WEEKS, "No wide smiles for the cheeks.", area="midface")
    instruction(P.FIRST_TWO_WEEKS, "No tight collars.", area="neck")
    instruction(P.FIRST_TWO_WEEKS, "No massage.", position=0)
    instruction(P.FIRST_TWO_WEEKS, "No saunas.", position=1)
    instruction(P.FIRST_NIGHTS, "Sleep on your back.")
    instruction(P.FIRST_DAY, "Cold packs, 10 minutes at a time.")
    instruction(P.FIRST_DAY, "PDO in the midface only.", material="PDO", area="midface")
    instruction(P.FIRST_DAY, "PLLA in the midface only.", material="PLLA", area="midface")
    instruction(P.WEEKS_TWO_TO_FOUR, "An old instruction nobody uses.", is_active=False)

    with django_assert_num_queries(2):  # the placements, then the instructions: however many
        grouped = aftercare_instructions(session)

    assert grouped == [
        ("First 24 hours", ["Cold packs, 10 minutes at a time.", "PDO in the midface only."]),
        ("First 3–5 nights", ["Sleep on your back."]),
        ("First 2 weeks", ["No wide smiles for the cheeks.", "No massage.", "No saunas."]),
        ("After a month", ["PDO dissolves over 6 to 8 months."]),
    ]


def test_an_instruction_for_another_material_or_area_never_reaches_the_sheet(
    client, clinic, session
):
    instruction(AftercarePeriod.FIRST_DAY, "Neck: keep your head upright.", area="neck")
    instruction(AftercarePeriod.AFTER_A_MONTH, "PLLA cones soften over weeks.", material="PLLA")
    instruction(AftercarePeriod.FIRST_NIGHTS, "Sleep on your back, head raised.")
    flat = squeezed(pdf_text(print_sheet(client, clinic, session).content))
    assert "Sleeponyourback,headraised." in flat
    assert "Neck:" not in flat and "PLLAcones" not in flat


def test_the_sheet_names_the_patient_threads_lots_local_review_times_and_the_emergency_phone(
    client, clinic, session
):
    instruction(AftercarePeriod.FIRST_DAY, "Hold a cold pack on the treated areas.")
    response = print_sheet(client, clinic, session)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    flat = squeezed(text)

    assert "MargueriteDuras" in flat
    assert clinic["patient"].record_number in flat
    # What went in, and from which lot: the patient's copy is traceable.
    assert "PDOCog19G100" in flat and "PDO(polydioxanone)" in flat
    assert "LOT-A" in flat
    assert "Midface/cheek(leftandright)" in flat
    assert "Firstdays" not in flat and "First24hours" in flat
    assert "Holdacoldpackonthetreatedareas." in flat
    # What is normal, and when to call.
    assert "Swelling" in text and "Bruising" in text and "puckering" in text
    assert "2to3weeks" in flat
    for sign_ in WARNING_SIGNS[:5]:
        assert squeezed(sign_) in flat, sign_
    assert squeezed(EMERGENCY_PHONE) in flat

    # The booked reviews, each on New York's clock (the server's zone is London's).
    reviews = list(
        Appointment.objects.filter(
            patient=clinic["patient"], appointment_type__kind="review"
        ).order_by("starts_at")
    )
    assert len(reviews) == 3
    printed = [new_york_when(review.starts_at) for review in reviews]
    for when in printed:
        assert squeezed(when) in flat, when
    first_in_london = reviews[0].starts_at.astimezone(ZoneInfo("Europe/London"))
    london_clock = f"{first_in_london.hour % 12 or 12}:{first_in_london:%M}"
    if not any(london_clock in when for when in printed):
        assert f"at{london_clock}" not in flat
    # The treatment day is New York's too.
    treated = timezone.localtime(session.completed_at, NEW_YORK)
    assert f"{treated:%B}{treated.day},{treated.year}" in flat


def test_a_cancelled_review_is_not_printed(client, clinic, session):
    reviews = Appointment.objects.filter(
        patient=clinic["patient"], appointment_type__kind="review"
    ).order_by("starts_at")
    cancelled = reviews[0]
    booking.set_appointment_status(
        appointment=cancelled,
        status="cancelled",
        actor=Actor.system(user=clinic["user"]),
        reason="Patient moving away",
    )
    flat = squeezed(pdf_text(print_sheet(client, clinic, session).content))
    assert squeezed(new_york_when(cancelled.starts_at)) not in flat
    assert squeezed(new_york_when(reviews[1].starts_at)) in flat


def test_hostile_text_prints_as_text_and_fetches_nothing(client, clinic, session, caplog):
    Patient.objects.filter(pk=clinic["patient"].pk).update(
        first_name=HOSTILE_IMG, last_name=HOSTILE_LINK
    )
    ThreadProduct.objects.filter(pk=clinic["cog"].pk).update(name=f"Cog {HOSTILE_IMG}")
    instruction(AftercarePeriod.FIRST_DAY, f"Rest {HOSTILE_LINK}")
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        response = print_sheet(client, clinic, session)
    assert response.status_code == 200
    flat = squeezed(pdf_text(response.content))
    assert squeezed(HOSTILE_IMG) in flat
    assert squeezed(HOSTILE_LINK) in flat
    assert "root:x:0:0" not in flat
    # Escaped text is never parsed as markup, so not even a refusal was needed.
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


@pytest.mark.parametrize(("paper", "width"), [("Letter", 612), ("A4", 595)])
def test_the_sheet_is_printed_on_the_locations_paper(client, clinic, session, paper, width):
    clinic["location"].paper_size = paper
    clinic["location"].save()
    pdf = print_sheet(client, clinic, session).content
    reader = PdfReader(io.BytesIO(pdf))
    assert all(round(float(page.mediabox.width)) == width for page in reader.pages)


def test_a_session_still_open_has_no_aftercare_sheet_yet(clinic):
    sign(clinic, accept(clinic))
    session = start(clinic)
    with pytest.raises(ValueError, match="completed sessions only"):
        AftercareSheet(session)


def test_the_sheet_without_reviews_asks_the_patient_to_book_one(client, clinic, session):
    for review in Appointment.objects.filter(
        patient=clinic["patient"], appointment_type__kind="review"
    ):
        booking.set_appointment_status(
            appointment=review,
            status="cancelled",
            actor=Actor.system(user=clinic["user"]),
            reason="Away",
        )
    flat = squeezed(pdf_text(print_sheet(client, clinic, session).content))
    assert "Noreviewisbookedyet" in flat
    assert squeezed("+1 212 555 0100") in flat


def test_the_demo_aftercare_and_consent_wording_load_once(db):
    assert load_demo_aftercare() > 0
    assert load_demo_aftercare() == 0
    templates = AftercareTemplate.objects.filter(is_active=True)
    assert {t.period for t in templates} == set(AftercarePeriod.values)
    assert {"PDO", "PLLA", "PCL"} <= {t.material for t in templates}
    assert {t.area for t in templates if t.area}  # some are for one area only
    assert load_demo_consent() == 1
    assert load_demo_consent() == 0
    consent = ConsentTemplate.objects.get(code="thread-lift", is_current=True)
    for placeholder in ("{patient}", "{practitioner}", "{procedure}", "{areas}", "{products}"):
        assert placeholder in consent.body
    assert consent.risks == DEFAULT_RISKS
    for alternative in ("No treatment", "fillers", "Energy devices", "surgical facelift"):
        assert alternative.lower() in consent.alternatives.lower()


def test_the_demo_instructions_fill_every_period_of_a_pdo_midface_sheet(session):
    load_demo_aftercare()
    grouped = dict(aftercare_instructions(session))
    assert list(grouped) == [period.label for period in AftercarePeriod]
    flat = " ".join(text for texts in grouped.values() for text in texts)
    assert "PDO threads dissolve" in flat and "PLLA" not in flat and "PCL" not in flat
    assert "cheeks" in flat  # the midface instruction
    assert "collars" not in flat  # the neck's
