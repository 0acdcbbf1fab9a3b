import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from PIL import Image

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations.models import Appointment, AppointmentStatus
from tests.recipes import (
    accept,
    blank_png,
    build_clinic,
    placements,
    sign,
    signature_png,
    start,
)
from treatments.models import (
    DEFAULT_RISKS,
    PlacedThreads,
    SignedConsent,
    StockLot,
    TreatmentSession,
)
from treatments.services import consent as consent_services
from treatments.services import sessions as session_services
from treatments.services import stock as stock_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def test_a_signed_consent_keeps_the_exact_text_signatures_and_a_valid_fingerprint(clinic):
    consent = sign(clinic, accept(clinic))
    patient = clinic["patient"]
    assert consent.rendered_text.startswith(f"I, {patient.full_name}, agree to Thread lift")
    assert "Midface / cheek" in consent.rendered_text and "PDO Cog 19G 100" in consent.rendered_text
    assert len(consent.fingerprint) == 64
    assert consent_services.verify_consent(consent)
    with consent.patient_signature.open("rb") as stored:
        image = Image.open(stored)
        assert image.format == "PNG" and image.mode == "L"  # flattened, re-encoded
    assert AuditEvent.objects.filter(action=AuditAction.SIGN, patient_id=patient.pk).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"risks_initialled": DEFAULT_RISKS[:-1]}, "Initial every risk: A temporary result"),
        ({"patient_signature": b""}, "patient's signature is empty"),
        ({"patient_signature": blank_png()}, "patient's signature is blank"),
        ({"practitioner_signature": b"GIF89a not a png"}, "practitioner's signature is not a PNG"),
        ({"patient_signature": signature_png() + b"\0" * (1024 * 1024)}, "larger than 1 MB"),
        ({"photo_consents": {"clinical": True}}, "Answer each photography question"),
    ],
)
def test_signing_is_refused_with_a_clear_message_and_saves_nothing(clinic, change, message):
    with pytest.raises(ValidationError, match=message):
        sign(clinic, accept(clinic), **change)
    assert SignedConsent.objects.count() == 0


def test_a_plan_that_is_not_accepted_cannot_be_consented_to(clinic):
    with pytest.raises(ValidationError, match="only an accepted plan"):
        sign(clinic, clinic["plan"])
    assert SignedConsent.objects.count() == 0


def test_a_signed_consent_cannot_be_changed_or_deleted_through_the_orm(clinic):
    consent = sign(clinic, accept(clinic))
    consent.rendered_text = "Something else"
    with pytest.raises(PermissionError):
        consent.save()
    with pytest.raises(PermissionError):
        consent.delete()
    with pytest.raises(PermissionError):
        SignedConsent.objects.filter(pk=consent.pk).update(rendered_text="x")
    with pytest.raises(PermissionError):
        SignedConsent.objects.all().delete()
    stored = SignedConsent.objects.get(pk=consent.pk)
    assert stored.rendered_text != "Something else"
    assert consent_services.verify_consent(stored)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the immutability trigger is PostgreSQL's"
)
def test_postgresql_refuses_raw_changes_to_a_signed_consent(clinic):
    consent = sign(clinic, accept(clinic))
    for sql in [
        "UPDATE treatments_signedconsent SET rendered_text = 'x' WHERE id = %s",
        "DELETE FROM treatments_signedconsent WHERE id = %s",
    ]:
        with (
            pytest.raises(DatabaseError, match="cannot be changed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [consent.pk])
    assert consent_services.verify_consent(SignedConsent.objects.get(pk=consent.pk))


def test_tampering_with_a_stored_signature_breaks_the_fingerprint(clinic):
    consent = sign(clinic, accept(clinic))
    with consent.patient_signature.storage.open(consent.patient_signature.name, "wb") as stored:
        stored.write(signature_png(strokes=1))
    assert not consent_services.verify_consent(SignedConsent.objects.get(pk=consent.pk))


def test_a_session_needs_a_signed_consent_to_that_plan_version(clinic):
    plan = accept(clinic)
    with pytest.raises(ValidationError, match="No signed consent"):
        start(clinic, plan)
    sign(clinic, plan)
    session = start(clinic, plan)
    assert session.consent.plan == plan
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].status == AppointmentStatus.IN_PROGRESS


def test_a_withdrawn_consent_blocks_the_session(clinic):
    plan = accept(clinic)
    consent = sign(clinic, plan)
    with pytest.raises(ValidationError, match="reason"):
        consent_services.withdraw_consent(
            consent=consent, reason=" ", actor=Actor.system(user=clinic["doctor"].user)
        )
    consent_services.withdraw_consent(
        consent=consent, reason="Changed her mind", actor=Actor.system(user=clinic["doctor"].user)
    )
    with pytest.raises(ValidationError, match="withdrawn"):
        start(clinic, plan)
    assert SignedConsent.objects.get(pk=consent.pk).fingerprint == consent.fingerprint


def complete(clinic, session, rows=None):
    return session_services.complete_session(
        session=session,
        placements=rows if rows is not None else placements(clinic, session),
        details={
            "anaesthesia": "local",
            "anaesthetic_agent": "Lidocaine 1% with adrenaline",
            "anaesthetic_volume_ml": Decimal("4.0"),
            "immediate_outcome": "Good lift",
        },
        actor=Actor.system(user=clinic["doctor"].user),
    )


def test_completing_decrements_stock_locks_completes_and_books_the_reviews(clinic):
    plan = accept(clinic)
    sign(clinic, plan)
    session = complete(clinic, start(clinic, plan))
    assert session.is_locked
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == 6
    assert PlacedThreads.objects.filter(session=session).count() == 2
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].status == AppointmentStatus.COMPLETED
    reviews = Appointment.objects.filter(patient=clinic["patient"], appointment_type__kind="review")
    gaps = sorted((r.starts_at - session.completed_at).days for r in reviews)
    assert len(gaps) == 3
    assert 14 <= gaps[0] <= 16 and 91 <= gaps[1] <= 93 and 182 <= gaps[2] <= 184


def test_reviews_are_not_booked_for_a_session_still_open(clinic):
    plan = accept(clinic)
    sign(clinic, plan)
    session = start(clinic, plan)
    with pytest.raises(ValueError, match="completed session"):
        session_services.book_follow_ups(
            session=session, actor=Actor.system(user=clinic["doctor"].user)
        )
    assert not Appointment.objects.filter(
        patient=clinic["patient"], appointment_type__kind="review"
    ).exists()


def test_completing_twice_decrements_stock_once(clinic):
    plan = accept(clinic)
    sign(clinic, plan)
    session = start(clinic, plan)
    complete(clinic, session)
    with pytest.raises(ValidationError, match="already completed"):
        complete(clinic, TreatmentSession.objects.get(pk=session.pk))
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == 6
    assert PlacedThreads.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sqlite_on_disk")
def test_two_tabs_completing_at_once_decrement_stock_once(clinic):
    plan = accept(clinic)
    sign(clinic, plan)
    session = start(clinic, plan)
    rows = placements(clinic, session)
    outcomes, barrier = [], threading.Barrier(2)

    def attempt():
        barrier.wait()
        try:
            complete(clinic, TreatmentSession.objects.get(pk=session.pk), rows)
            outcomes.append("completed")
        except ValidationError as refused:
            outcomes.append(" ".join(refused.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "This session is already completed: add an addendum instead."
    assert outcomes.count("completed") == 1
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == 6


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("expired", "has expired"),
        ("other_location", "choose a lot held at this location"),
        ("too_few", "has only 3 left"),
        ("deviation", "differs from the plan; say why"),
        ("count", "count must be 1 to 20"),
    ],
)
def test_bad_placements_are_refused_and_stock_never_moves(clinic, problem, message):
    from tests.factories import LocationFactory

    plan = accept(clinic)
    sign(clinic, plan)
    session = start(clinic, plan)
    lot = clinic["lot"]
    rows = placements(clinic, session)
    if problem == "expired":
        StockLot.objects.filter(pk=lot.pk).update(
            expires_on=timezone.localdate() - timedelta(days=1)
        )
    elif problem == "other_location":
        elsewhere = stock_services.receive_stock(
            product=clinic["cog"],
            location=LocationFactory(name="Elsewhere"),
            lot_number="LOT-B",
            quantity=10,
            expires_on=timezone.localdate() + timedelta(days=100),
            actor=Actor.system(),
        )
        rows[0]["lot"] = elsewhere.pk
    elif problem == "too_few":
        StockLot.objects.filter(pk=lot.pk).update(quantity_on_hand=3)
    elif problem == "deviation":
        rows[0]["count"] = 3
    elif problem == "count":
        rows[0]["count"] = 0
    on_hand = StockLot.objects.get(pk=lot.pk).quantity_on_hand
    with pytest.raises(ValidationError, match=message):
        complete(clinic, session, rows)
    assert StockLot.objects.get(pk=lot.pk).quantity_on_hand == on_hand
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked
    assert PlacedThreads.objects.count() == 0


def test_a_deviation_with_a_reason_is_recorded(clinic):
    plan = accept(clinic)
    sign(clinic, plan)
    session = start(clinic, plan)
    rows = placements(clinic, session)
    rows[0].update(count=3, deviation="Extra thread for a stronger lift on the left")
    complete(clinic, session, rows)
    placed = PlacedThreads.objects.get(session=session, count=3)
    assert placed.deviation == "Extra thread for a stronger lift on the left"
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == 5


def test_corrections_after_completion_are_addenda_with_who_and_when(clinic):
    plan = accept(clinic)
    sign(clinic, plan)
    session = start(clinic, plan)
    with pytest.raises(ValidationError, match="still open"):
        session_services.add_addendum(
            session=session, text="x", actor=Actor.system(user=clinic["doctor"].user)
        )
    complete(clinic, session)
    addendum = session_services.add_addendum(
        session=session,
        text="Lot for the right side was LOT-A, confirmed.",
        actor=Actor.system(user=clinic["doctor"].user),
    )
    assert addendum.added_by == clinic["doctor"].user and addendum.added_at is not None
    assert TreatmentSession.objects.get(pk=session.pk).immediate_outcome == "Good lift"


def test_publishing_consent_wording_makes_a_new_version_and_keeps_the_old(clinic):
    first = clinic["template"]
    second = consent_services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="New wording for {patient}.",
        risks=DEFAULT_RISKS,
        alternatives="No treatment.",
        actor=Actor.system(user=clinic["doctor"].user),
    )
    first.refresh_from_db()
    assert (first.version, first.is_current, second.version, second.is_current) == (
        1,
        False,
        2,
        True,
    )
    with pytest.raises(ValidationError, match="newer version"):
        sign(clinic, accept(clinic), template=first)
