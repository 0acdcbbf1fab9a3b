"""Printing what the patient takes home: the consent copy, the aftercare sheet, the day's sheets."""

import hashlib
import io
import logging
import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations.booking import services as booking
from consultations.models import Patient
from tests import recipes
from tests.factories import (
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    WorkingHoursFactory,
)
from tests.recipes import (
    LOCAL_LIDOCAINE,
    accept,
    build_clinic,
    completed_session,
    consent_signed_before_sealing,
    receive,
    screened_plan,
    sign,
    start,
)
from treatments.aftercare import aftercare_for
from treatments.documents import AftercareSheet, ConsentCopy
from treatments.models import (
    DEFAULT_RISKS,
    PlacedThreads,
    SignedConsent,
    StockLot,
    TreatmentSession,
)
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db

MISSING_TEMPLATE = "pdf/no-such-layout.html"


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def complete(session, lot, by):
    return completed_session(session, lot=lot, by=by, details={**LOCAL_LIDOCAINE})


@pytest.fixture
def consent(clinic):
    return sign(clinic, accept(clinic))


@pytest.fixture
def session(clinic, consent):
    return complete(start(clinic), clinic["lot"], clinic["user"])


def treat(clinic, first_name, last_name, *, hour, location=None, doctor=None, lot=None):
    """Another patient screened, planned, consented and treated on the day of the clinic's own
    appointment, through the services (the clock moves on to `hour` that day)."""
    location = location or clinic["location"]
    doctor = doctor or clinic["doctor"]
    patient = PatientFactory(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=timezone.localdate() - timedelta(days=50 * 365),
    )
    plan = screened_plan(patient=patient, doctor=doctor, location=location, product=clinic["cog"])
    actor = Actor.system(user=doctor.user)
    plan = plan_services.set_plan_status(plan=plan, status="accepted", actor=actor)
    sign(clinic, plan)
    day = timezone.localtime(clinic["appointment"].starts_at, location.zone).date()
    appointment = booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=clinic["treatment"],
        starts_at=datetime.combine(day, time(hour), tzinfo=location.zone),
        actor=actor,
    )
    session = recipes.start_session(appointment=appointment, plan=plan, by=doctor.user)
    return complete(session, lot or clinic["lot"], doctor.user)


@pytest.fixture
def elsewhere(clinic):
    """A second site with its own practitioner, room and stock."""
    leeds = LocationFactory(name="Threadline Leeds", emergency_phone="+44 113 496 0999")
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[leeds])
    for weekday in range(7):
        WorkingHoursFactory(
            staff=doctor, location=leeds, weekday=weekday, starts_at=time(8), ends_at=time(18)
        )
    RoomFactory(location=leeds, name="Leeds treatment room")
    lot = receive(clinic["cog"], leeds, "LOT-LEEDS", quantity=20)
    return {"location": leeds, "doctor": doctor, "lot": lot}


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squeezed(text: str) -> str:
    return "".join(text.split())


def without_print_time(text: str) -> str:
    """The text without the footer's "printed …" time, which moves on between two prints."""
    return re.sub(r"printed[^(]*\(", "printed (", text)


def image_xobjects(pdf: bytes) -> list:
    """Every image drawn in the PDF, however deep in form XObjects."""
    reader = PdfReader(io.BytesIO(pdf))
    images, seen = [], set()

    def walk(resources):
        for ref in ((resources or {}).get("/XObject") or {}).values():
            xobject = ref.get_object()
            if id(xobject) in seen:
                continue
            seen.add(id(xobject))
            if xobject.get("/Subtype") == "/Image":
                images.append(xobject)
            elif xobject.get("/Subtype") == "/Form":
                walk(xobject.get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return images


def consent_url(consent):
    return reverse("treatments:consent_pdf", args=[consent.pk])


def aftercare_url(session):
    return reverse("treatments:aftercare_pdf", args=[session.pk])


DAY_URL = "treatments:aftercare_day_pdf"


def prints():
    return AuditEvent.objects.filter(action=AuditAction.PRINT)


# The consent copy ------------------------------------------------------------------


def test_the_consent_copy_shows_the_stored_text_risks_choices_signatures_and_fingerprint(
    client, clinic, consent
):
    client.force_login(clinic["user"])
    response = client.get(consent_url(consent))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert "no-store" in response["Cache-Control"]
    flat = squeezed(pdf_text(response.content))
    assert "MargueriteDuras" in flat
    assert squeezed(consent.rendered_text) in flat
    for risk in DEFAULT_RISKS:
        assert squeezed(risk) in flat, risk
    assert "PhotographsformyclinicalrecordYes,consented" in flat
    assert "Photographsintheclinic'smarketing" in flat
    assert flat.count("No,notconsented") == 2  # teaching and marketing
    assert consent.fingerprint in flat
    assert "Thiscopywasmadeatsigningandiskeptbytheclinicexactlyashandedover" in flat
    assert "signatureimageismissing" not in flat
    # Both signatures, embedded from the stored files, plus the plan's two vectors in the table.
    assert len(image_xobjects(response.content)) == 2
    assert "PDOCog19G100" in flat and "Midface/cheek" in flat


def stored_bytes(consent) -> bytes:
    with consent.copy_pdf.open("rb") as stored:
        return stored.read()


def test_a_reprint_serves_the_very_bytes_stored_at_signing_even_after_the_record_changes(
    client, clinic, consent
):
    client.force_login(clinic["user"])
    stored = stored_bytes(consent)
    assert hashlib.sha256(stored).hexdigest() == consent.copy_sha256
    assert client.get(consent_url(consent)).content == stored
    # The wording is republished and the patient's name corrected: the copy stays as handed over.
    consent_services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="Entirely new wording for {patient}.",
        risks=DEFAULT_RISKS,
        alternatives="No treatment.",
        actor=Actor.system(user=clinic["user"]),
    )
    assert client.get(consent_url(consent)).content == stored
    Patient.objects.filter(pk=clinic["patient"].pk).update(last_name="Renamed")
    third = client.get(consent_url(consent)).content
    assert third == stored
    assert "MargueriteDuras" in squeezed(pdf_text(third))
    assert prints().filter(patient_id=clinic["patient"].pk).count() == 3


def test_the_consent_copy_carries_its_whole_fingerprint_and_a_qr_code_to_its_check(
    client, clinic, consent
):
    client.force_login(clinic["user"])
    pdf = client.get(consent_url(consent)).content
    flat = squeezed(pdf_text(pdf))
    verify_url = "http://127.0.0.1:8000" + reverse(
        "treatments:consent_verify", args=[consent.fingerprint]
    )
    assert consent.fingerprint in flat
    assert verify_url in flat  # printed for typing, addressed by fingerprint, not by id
    links = [
        annotation.get_object()["/A"]["/URI"]
        for page in PdfReader(io.BytesIO(pdf)).pages
        for annotation in page.get("/Annots") or []
        if "/A" in annotation.get_object()
    ]
    # The QR code and the printed address (a box per line it wraps over) link to the check.
    assert verify_url in links and set(links) == {verify_url}
    # The QR code is drawn as vector paths (SVG), not as an image.
    assert len(image_xobjects(pdf)) == 2  # the two signatures only


def test_a_withdrawn_consent_still_reprints_the_copy_as_signed(client, clinic, consent):
    consent_services.withdraw_consent(
        consent=consent, reason="Wants to think it over", actor=Actor.system(user=clinic["user"])
    )
    client.force_login(clinic["user"])
    assert client.get(consent_url(consent)).content == stored_bytes(consent)
    page = client.get(reverse("treatments:consent_detail", args=[consent.pk]))
    assert "Consent withdrawn" in page.content.decode()


@pytest.fixture
def old_consent(clinic):
    """A consent signed before copies were stored: printed from the record."""
    return consent_signed_before_sealing(
        plan=accept(clinic), template=clinic["template"], doctor=clinic["doctor"]
    )


def test_a_withdrawn_consent_from_before_stored_copies_prints_the_withdrawal(
    client, clinic, old_consent
):
    consent_services.withdraw_consent(
        consent=old_consent,
        reason="Wants to think it over",
        actor=Actor.system(user=clinic["user"]),
    )
    client.force_login(clinic["user"])
    flat = squeezed(pdf_text(client.get(consent_url(old_consent)).content))
    assert "Withdrawn." in flat and "Wantstothinkitover" in flat
    assert old_consent.fingerprint in flat


def test_a_consent_whose_signature_was_tampered_with_is_not_reprinted_and_the_page_says_why(
    client, clinic, consent
):
    field = consent.patient_signature
    with field.storage.open(field.name, "wb") as stored:
        stored.write(field.storage.open(consent.practitioner_signature.name, "rb").read())
    client.force_login(clinic["user"])
    response = client.get(consent_url(consent))
    assert response.status_code == 409
    html = response.content.decode()
    assert "This consent is not printed" in html
    assert "fingerprint mismatch" in html and "the seal does not match" in html
    assert not prints().exists()


def test_a_consent_from_before_stored_copies_whose_signature_was_tampered_with_prints_so(
    client, clinic, old_consent
):
    field = old_consent.patient_signature
    with field.storage.open(field.name, "wb") as stored:
        stored.write(field.storage.open(old_consent.practitioner_signature.name, "rb").read())
    client.force_login(clinic["user"])
    flat = squeezed(pdf_text(client.get(consent_url(old_consent)).content))
    assert "nolongermatchesthisfingerprint" in flat


def test_printing_a_consent_is_audited(client, clinic, consent):
    client.force_login(clinic["user"])
    client.get(consent_url(consent))
    event = prints().get()
    assert event.actor == clinic["user"]
    assert event.object_type == "treatments.SignedConsent"
    assert event.object_id == str(consent.pk)
    assert event.patient_id == clinic["patient"].pk


# One aftercare sheet ----------------------------------------------------------------


def test_printing_a_sessions_aftercare_sheet_is_audited(client, clinic, session):
    client.force_login(clinic["user"])
    response = client.get(aftercare_url(session))
    assert response.status_code == 200
    assert "MargueriteDuras" in squeezed(pdf_text(response.content))
    event = prints().get()
    assert (event.object_type, event.object_id) == ("treatments.TreatmentSession", str(session.pk))
    assert event.patient_id == clinic["patient"].pk


def test_a_session_not_completed_yet_has_no_sheet_to_print(client, clinic, consent):
    session = start(clinic)
    client.force_login(clinic["user"])
    response = client.get(aftercare_url(session))
    assert response.status_code == 409
    assert "printed once the session is completed" in response.content.decode()
    assert not prints().exists()


@pytest.mark.parametrize(
    ("role", "status"), [(Role.FRONT_DESK, 403), (Role.PRACTITIONER, 200), (Role.MANAGER, 200)]
)
def test_clinicians_print_consents_and_the_front_desk_does_not(
    client, users_by_role, clinic, consent, role, status
):
    client.force_login(users_by_role[role])
    response = client.get(consent_url(consent))
    assert response.status_code == status
    if status == 403:
        assert "Duras" not in response.content.decode()
    assert prints().count() == (1 if status == 200 else 0)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER, Role.MANAGER])
def test_everyone_who_manages_bookings_reprints_one_patients_aftercare_sheet(
    client, users_by_role, clinic, session, role
):
    client.force_login(users_by_role[role])
    response = client.get(aftercare_url(session))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "MargueriteDuras" in squeezed(pdf_text(response.content))
    event = prints().get()
    assert event.actor == users_by_role[role]
    assert event.patient_id == clinic["patient"].pk
    assert event.summary == "Printed the aftercare sheet"


def test_the_front_desks_reprint_holds_no_clinical_notes(client, clinic, consent, frontdesk_user):
    session = completed_session(
        start(clinic),
        lot=clinic["lot"],
        by=clinic["user"],
        details={
            **LOCAL_LIDOCAINE,
            "immediate_outcome": "Marked blanching over the left malar entry point",
            "complications": "Vasovagal episode, settled lying flat",
        },
    )
    client.force_login(frontdesk_user)
    flat = squeezed(pdf_text(client.get(aftercare_url(session)).content))
    assert "MargueriteDuras" in flat and "LOT-A" in flat
    for note in ("Markedblanching", "Vasovagalepisode"):
        assert note not in flat, note


def test_the_front_desk_comes_back_to_the_chart_not_to_the_session(
    client, clinic, consent, frontdesk_user
):
    session = start(clinic)  # not completed: the page says so and offers the way back
    client.force_login(frontdesk_user)
    response = client.get(aftercare_url(session))
    assert response.status_code == 409
    html = response.content.decode()
    assert reverse("consultations:patient_chart", args=[clinic["patient"].pk]) in html
    assert reverse("treatments:session_detail", args=[session.pk]) not in html
    assert not prints().exists()


def test_the_front_desk_cannot_reprint_a_sheet_of_another_location(
    client, clinic, elsewhere, frontdesk_user
):
    session = treat(
        clinic,
        "Leda",
        "Northern",
        hour=11,
        location=elsewhere["location"],
        doctor=elsewhere["doctor"],
        lot=elsewhere["lot"],
    )
    client.force_login(frontdesk_user)
    assert client.get(aftercare_url(session)).status_code == 404
    assert not prints().exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, clinic, consent, session):
    for url in (consent_url(consent), aftercare_url(session), reverse(DAY_URL)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_records_at_a_location_i_do_not_work_at_are_not_found(client, clinic, elsewhere):
    session = treat(
        clinic,
        "Leda",
        "Northern",
        hour=11,
        location=elsewhere["location"],
        doctor=elsewhere["doctor"],
        lot=elsewhere["lot"],
    )
    client.force_login(clinic["user"])  # works at the first site only
    assert client.get(aftercare_url(session)).status_code == 404
    assert client.get(consent_url(session.consent)).status_code == 404
    assert client.get(reverse("treatments:consent_pdf", args=[987654])).status_code == 404
    assert not prints().exists()


# The day's aftercare sheets ------------------------------------------------------------


def test_the_front_desk_prints_todays_sheets_at_its_location_in_one_pdf(
    client, clinic, session, elsewhere, frontdesk_user
):
    extra = receive(clinic["cog"], clinic["location"], "LOT-DAY", quantity=20)
    second = treat(clinic, "Colette", "Willy", hour=12, lot=extra)
    third = treat(clinic, "Simone", "Weil", hour=14, lot=extra)
    treat(
        clinic,
        "Nathalie",
        "Sarraute",
        hour=15,
        location=elsewhere["location"],
        doctor=elsewhere["doctor"],
        lot=elsewhere["lot"],
    )
    yesterday = treat(clinic, "Violette", "Leduc", hour=16, lot=extra)
    TreatmentSession.objects.filter(pk=yesterday.pk).update(
        completed_at=yesterday.completed_at - timedelta(days=1)
    )

    client.force_login(frontdesk_user)
    response = client.get(reverse(DAY_URL))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    pdf = response.content
    flat = squeezed(pdf_text(pdf))
    for name in ("MargueriteDuras", "ColetteWilly", "SimoneWeil"):
        assert name in flat, name
    assert "VioletteLeduc" not in flat  # yesterday's
    assert "NathalieSarraute" not in flat  # another location's
    assert "LOT-A" in flat and "LOT-DAY" in flat
    # Each sheet starts on a page of its own.
    pages = [squeezed(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
    starts = [page for page in pages if page.startswith("ThreadlineTestClinicAftercare")]
    assert len(starts) == 3
    # One print event per patient, each on that patient's own trail.
    printed = prints()
    assert sorted(printed.values_list("patient_id", flat=True)) == sorted(
        [clinic["patient"].pk, second.patient_id, third.patient_id]
    )
    assert all(event.actor == frontdesk_user for event in printed)


def test_the_days_sheets_are_gathered_in_a_fixed_number_of_queries(
    clinic, session, django_assert_num_queries
):
    extra = receive(clinic["cog"], clinic["location"], "LOT-DAY", quantity=20)
    second = treat(clinic, "Colette", "Willy", hour=12, lot=extra)
    third = treat(clinic, "Simone", "Weil", hour=14, lot=extra)
    for sessions in ([session], [session, second, third]):
        with django_assert_num_queries(3):  # placements, instructions, reviews
            gathered = aftercare_for(sessions)
        assert all(gathered[s.pk].placed and len(gathered[s.pk].reviews) == 3 for s in sessions)


def test_a_day_without_completed_sessions_says_so_instead_of_an_empty_pdf(
    client, clinic, frontdesk_user
):
    client.force_login(frontdesk_user)
    response = client.get(reverse(DAY_URL))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "No treatment session has been completed at Threadline Test Clinic today" in html
    assert not prints().exists()


@pytest.mark.parametrize(
    ("role", "status"), [(Role.FRONT_DESK, 200), (Role.PRACTITIONER, 200), (Role.MANAGER, 200)]
)
def test_everyone_who_manages_bookings_may_print_the_day(
    client, users_by_role, clinic, session, role, status
):
    client.force_login(users_by_role[role])
    assert client.get(reverse(DAY_URL)).status_code == status


# A document that cannot be made -----------------------------------------------------------


def test_a_sheet_that_fails_to_render_shows_an_error_page_and_changes_nothing(
    client, clinic, session, frontdesk_user, monkeypatch, caplog
):
    monkeypatch.setattr(AftercareSheet, "template_name", MISSING_TEMPLATE)
    on_hand = StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand
    placed = PlacedThreads.objects.filter(session=session).count()
    client.force_login(clinic["user"])
    with caplog.at_level(logging.ERROR, logger="treatments.views.printing"):
        single = client.get(aftercare_url(session))
    client.force_login(frontdesk_user)
    day = client.get(reverse(DAY_URL))
    for response in (single, day):
        assert response.status_code == 503
        assert response["Content-Type"].startswith("text/html")
        html = response.content.decode()
        assert "The document could not be printed" in html
        assert "Nothing was changed" in html
    assert [r for r in caplog.records if "Could not render" in r.getMessage()]
    assert not prints().exists()
    stored = TreatmentSession.objects.get(pk=session.pk)
    assert stored.is_locked and stored.completed_at == session.completed_at
    assert PlacedThreads.objects.filter(session=session).count() == placed
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == on_hand


def test_a_consent_copy_that_fails_to_render_shows_an_error_page_and_the_consent_is_intact(
    client, clinic, old_consent, monkeypatch
):
    consent = old_consent  # rendered at each print: signed before copies were stored
    monkeypatch.setattr(ConsentCopy, "template_name", MISSING_TEMPLATE)
    client.force_login(clinic["user"])
    response = client.get(consent_url(consent))
    assert response.status_code == 503
    assert "The document could not be printed" in response.content.decode()
    assert not prints().exists()
    stored = SignedConsent.objects.get(pk=consent.pk)
    assert stored.fingerprint == consent.fingerprint
    assert consent_services.verify_consent(stored)
    monkeypatch.undo()
    assert client.get(consent_url(consent)).status_code == 200  # printing again just works
