"""Consent that cannot be forged: the seal, the chain, and `manage.py verify_consents`.

The forger here has the database and the code: they turn the immutability trigger
off (PostgreSQL's; SQLite has none), edit a consent with raw SQL or its signature
file on disk, and write back the SHA-256 fingerprint the edited record now gives.
Only the Ed25519 seal, made with a key the database never holds, and the chain
that links every consent to the one before it can show what they did.
"""

import threading
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from clinic.signing_keys import (
    key_id,
    private_key_from_pem,
    private_key_pem,
    public_key_pem,
)
from tests.factories import PatientFactory
from tests.recipes import (
    accept,
    build_clinic,
    consent_signed_before_sealing,
    screened_plan,
    sign,
    signature_png,
)
from treatments.models import SignedConsent
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def another_patients_consent(clinic, last_name: str) -> SignedConsent:
    patient = PatientFactory(last_name=last_name)
    plan = screened_plan(
        patient=patient, doctor=clinic["doctor"], location=clinic["location"], product=clinic["cog"]
    )
    plan = plan_services.set_plan_status(
        plan=plan, status="accepted", actor=Actor.system(user=clinic["user"])
    )
    return sign(clinic, plan)


@pytest.fixture
def three_consents(clinic):
    """Three consents signed one after another: the middle one is forged."""
    return [
        sign(clinic, accept(clinic)),
        another_patients_consent(clinic, "Middleton"),
        another_patients_consent(clinic, "Lastly"),
    ]


# -- what a forger does ----------------------------------------------------------------------


def turn_the_immutability_trigger_off(cursor) -> None:
    """A forger's first step on PostgreSQL; on SQLite only the ORM refuses changes."""
    if connection.vendor == "postgresql":
        # (The test's own transaction still holds deferred foreign-key checks of the rows it
        # made; a forger's session would not. PostgreSQL alters no table with checks pending.)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE treatments_signedconsent "
            "DISABLE TRIGGER treatments_signedconsent_immutable"
        )


def write_back_a_recomputed_fingerprint(consent_id: int) -> SignedConsent:
    """Recompute the SHA-256 over the edited record, as the code does, and store it."""
    edited = SignedConsent.objects.get(pk=consent_id)
    fingerprint = consent_services.stored_content_digest(edited)
    with connection.cursor() as cursor:
        turn_the_immutability_trigger_off(cursor)
        cursor.execute(
            "UPDATE treatments_signedconsent SET fingerprint = %s WHERE id = %s",
            [fingerprint, consent_id],
        )
    forged = SignedConsent.objects.get(pk=consent_id)
    assert forged.fingerprint == fingerprint != "" and len(fingerprint) == 64
    return forged


def edit_the_text(consent: SignedConsent) -> None:
    with connection.cursor() as cursor:
        turn_the_immutability_trigger_off(cursor)
        cursor.execute(
            "UPDATE treatments_signedconsent SET rendered_text = %s WHERE id = %s",
            [consent.rendered_text + " I waive every claim against the clinic.", consent.pk],
        )


def edit_the_signature_image(consent: SignedConsent) -> None:
    field = consent.patient_signature
    with field.storage.open(field.name, "wb") as stored:
        stored.write(signature_png(strokes=1))


def edit_the_time(consent: SignedConsent) -> None:
    earlier = consent.signed_at - timedelta(days=3)
    with connection.cursor() as cursor:
        turn_the_immutability_trigger_off(cursor)
        cursor.execute(
            "UPDATE treatments_signedconsent SET signed_at = %s WHERE id = %s",
            [connection.ops.adapt_datetimefield_value(earlier), consent.pk],
        )


FORGERIES = {
    "text": edit_the_text,
    "signature image": edit_the_signature_image,
    "signing time": edit_the_time,
}


def verify_consents_problems(capsys) -> str:
    """What `manage.py verify_consents` reports; it must fail."""
    with pytest.raises(CommandError, match=r"signed consents failed the check"):
        call_command("verify_consents")
    return capsys.readouterr().err


# -- forged consents are detected ------------------------------------------------------------


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_raw_edit_with_a_recomputed_sha256_is_detected_by_the_seal(
    clinic, three_consents, forgery, capsys
):
    first, middle, last = three_consents
    assert all(consent_services.verify_consent(c) for c in three_consents)
    forgery(middle)
    forged = write_back_a_recomputed_fingerprint(middle.pk)

    # The fingerprint matches the edited content: a plain SHA-256 would say "valid".
    assert consent_services.stored_content_digest(forged) == forged.fingerprint
    assert not consent_services.verify_consent(forged)
    assert consent_services.check_consent(forged).problems == [
        "the seal does not match: the record was changed after signing",
        # The copy's seal covers the fingerprint as it was signed.
        "the seal of the stored PDF copy does not match",
    ]

    report = verify_consents_problems(capsys)
    record = forged.patient.record_number
    assert (
        f"consent {forged.pk} (patient {record}, fingerprint {forged.fingerprint}): "
        "the seal does not match" in report
    )
    # The consent signed after it followed the fingerprint as it was: the chain breaks there.
    assert f"consent {last.pk} (patient {last.patient.record_number}" in report
    assert "the chain is broken" in report
    assert f"consent {first.pk} " not in report

    client_page = page_for(clinic, forged.fingerprint)
    assert client_page.status_code == 200
    assert "NOT intact" in client_page.content.decode()
    assert "the seal does not match" in client_page.content.decode()


def page_for(clinic, fingerprint: str):
    """The verification page the printed QR code opens, as the practitioner sees it."""
    client = Client()
    client.force_login(clinic["user"])
    return client.get(reverse("treatments:consent_verify", args=[fingerprint]))


def test_a_consent_deleted_from_the_middle_of_the_chain_is_detected_at_the_next_one(
    clinic, three_consents, capsys
):
    first, middle, last = three_consents
    with connection.cursor() as cursor:
        turn_the_immutability_trigger_off(cursor)
        cursor.execute("DELETE FROM treatments_signedconsent WHERE id = %s", [middle.pk])

    assert consent_services.verify_consent(first)
    check = consent_services.check_consent(SignedConsent.objects.get(pk=last.pk))
    assert not check.intact
    assert check.problems == [
        f"the chain is broken: it follows fingerprint {middle.fingerprint[:16]}…, but the "
        f"consent stored before it has {first.fingerprint[:16]}… (a consent was deleted, "
        "inserted or changed)"
    ]
    report = verify_consents_problems(capsys)
    assert f"consent {last.pk} (patient {last.patient.record_number}" in report
    assert "the chain is broken" in report
    assert page_for(clinic, middle.fingerprint).status_code == 404
    assert "NOT intact" in page_for(clinic, last.fingerprint).content.decode()


def test_a_stored_pdf_copy_replaced_on_disk_is_detected(clinic, three_consents, capsys):
    middle = three_consents[1]
    with middle.copy_pdf.storage.open(middle.copy_pdf.name, "wb") as stored:
        stored.write(b"%PDF-1.7 a different document")
    assert consent_services.check_consent(middle).problems == [
        "the stored PDF copy differs from the one made at signing"
    ]
    assert "the stored PDF copy differs" in verify_consents_problems(capsys)


def test_removing_the_seal_does_not_pass_a_consent_off_as_signed_before_sealing(
    clinic, three_consents, capsys
):
    middle = three_consents[1]
    with connection.cursor() as cursor:
        turn_the_immutability_trigger_off(cursor)
        cursor.execute(
            "UPDATE treatments_signedconsent SET seal = '', seal_key_id = '', "
            "previous_fingerprint = '', copy_pdf = '', copy_sha256 = '', copy_seal = '' "
            "WHERE id = %s",
            [middle.pk],
        )
    edit_the_text(middle)
    forged = write_back_a_recomputed_fingerprint(middle.pk)
    assert not forged.is_sealed
    assert consent_services.check_consent(forged).problems == [
        "not sealed, though a consent signed before it is: its seal was removed"
    ]
    report = verify_consents_problems(capsys)
    assert f"consent {forged.pk} " in report and "its seal was removed" in report


# -- the seal and the chain as they should be ------------------------------------------------


def test_each_consent_is_sealed_and_follows_the_one_signed_before_it(clinic, three_consents):
    first, middle, last = three_consents
    assert first.previous_fingerprint == consent_services.GENESIS
    assert middle.previous_fingerprint == first.fingerprint
    assert last.previous_fingerprint == middle.fingerprint
    assert all(len(c.seal) == 128 and len(c.seal_key_id) == 16 for c in three_consents)
    assert all(c.copy_pdf.name and len(c.copy_sha256) == 64 for c in three_consents)


def test_verify_consents_says_everything_is_intact_in_one_line(clinic, three_consents, capsys):
    call_command("verify_consents")
    out = capsys.readouterr()
    assert out.out.strip() == "All 3 signed consents are intact, and so is their chain."
    assert out.err == ""


def test_verify_consents_with_nothing_signed_passes_unless_some_are_required(db, capsys):
    call_command("verify_consents")
    assert "nothing to check" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No consent has been signed yet"):
        call_command("verify_consents", "--require-some")


def test_verify_consents_requiring_some_passes_when_they_are_intact(clinic, three_consents, capsys):
    call_command("verify_consents", "--require-some")
    assert "All 3 signed consents are intact" in capsys.readouterr().out


def test_the_audit_trail_keeps_the_whole_fingerprint(clinic):
    consent = sign(clinic, accept(clinic))
    event = AuditEvent.objects.get(action=AuditAction.SIGN, patient_id=consent.patient_id)
    assert consent.fingerprint in event.summary


def test_a_consent_signed_before_sealing_still_verifies_and_the_chain_starts_after_it(
    clinic, capsys
):
    old = consent_signed_before_sealing(
        plan=accept(clinic), template=clinic["template"], doctor=clinic["doctor"]
    )
    assert not old.is_sealed and consent_services.verify_consent(old)
    new = another_patients_consent(clinic, "Newman")
    assert new.previous_fingerprint == old.fingerprint
    assert consent_services.verify_consent(new)
    call_command("verify_consents")
    assert "All 2 signed consents are intact" in capsys.readouterr().out


# -- keys --------------------------------------------------------------------------------------


def new_key_pem() -> str:
    return private_key_pem(Ed25519PrivateKey.generate())


def test_consents_sealed_with_an_earlier_key_still_verify_after_a_key_rotation(
    clinic, settings, capsys
):
    old_key, new_key = new_key_pem(), new_key_pem()
    settings.CONSENT_SIGNING_KEY = old_key
    before = sign(clinic, accept(clinic))
    # Rotation: the new private key signs; the old key's public half stays trusted.
    settings.CONSENT_SIGNING_KEY = new_key
    old_public = public_key_pem(private_key_from_pem(old_key, source="test").public_key())
    settings.CONSENT_RETIRED_PUBLIC_KEYS = [old_public]
    after = another_patients_consent(clinic, "Rotated")

    new_id = key_id(private_key_from_pem(new_key, source="test").public_key())
    assert before.seal_key_id != after.seal_key_id == new_id
    assert after.previous_fingerprint == before.fingerprint
    assert consent_services.verify_consent(before) and consent_services.verify_consent(after)
    call_command("verify_consents")
    assert "All 2 signed consents are intact" in capsys.readouterr().out

    # Without the old public key, the old consent cannot be vouched for, and says why.
    settings.CONSENT_RETIRED_PUBLIC_KEYS = []
    assert consent_services.check_consent(before).problems == [
        f"sealed with key {before.seal_key_id}, which this installation does not know "
        "(its public key belongs in CONSENT_RETIRED_PUBLIC_KEY_FILES)",
        "the seal of the stored PDF copy does not match",
    ]


def test_a_consent_sealed_by_a_key_the_forger_made_is_not_trusted(clinic, settings):
    """Someone who can run the code with their own key cannot make a consent that verifies."""
    real_key = new_key_pem()
    settings.CONSENT_SIGNING_KEY = new_key_pem()  # the forger's
    forged = sign(clinic, accept(clinic))
    settings.CONSENT_SIGNING_KEY = real_key
    problems = consent_services.check_consent(forged).problems
    assert problems and "which this installation does not know" in problems[0]


@pytest.mark.usefixtures("sqlite_on_disk")
def test_two_consents_signed_at_once_are_chained_one_after_the_other(clinic, capsys):
    plans = [accept(clinic)]
    other = PatientFactory(last_name="Sametime")
    plan = screened_plan(
        patient=other, doctor=clinic["doctor"], location=clinic["location"], product=clinic["cog"]
    )
    plans.append(
        plan_services.set_plan_status(
            plan=plan, status="accepted", actor=Actor.system(user=clinic["user"])
        )
    )
    outcomes, barrier = [], threading.Barrier(2)

    def attempt(plan):
        barrier.wait()
        try:
            sign(clinic, plan)
            outcomes.append("signed")
        except Exception as error:  # any failure is the test's answer
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["signed", "signed"]
    first, second = SignedConsent.objects.order_by("pk")
    assert first.previous_fingerprint == consent_services.GENESIS
    assert second.previous_fingerprint == first.fingerprint
    call_command("verify_consents")
    assert "All 2 signed consents are intact" in capsys.readouterr().out
