"""A lot's status and its recalls: managers quarantine or recall a lot and contact its patients."""

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Location
from consultations.models import Patient
from tests.recipes import (
    accepted_plan,
    book_treatment,
    build_clinic,
    completed_session,
    screened_patient,
    signed_consent,
    start_session,
    two_vector_plan,
)
from treatments.models import LotRecall, LotStatusChange, RecallContact, RecallNotice, StockLot
from treatments.services import recalls as recall_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


def treated(clinic, days_ahead: int, **patient_fields):
    """A new patient treated with the clinic's lot in a completed session."""
    doctor = clinic["doctor"]
    patient = screened_patient(doctor, **patient_fields)
    plan = two_vector_plan(
        patient=patient, doctor=doctor, location=clinic["location"], product=clinic["cog"]
    )
    plan = accepted_plan(plan, doctor.user)
    signed_consent(plan=plan, template=clinic["template"], doctor=doctor)
    appointment = book_treatment(
        patient=patient,
        doctor=doctor,
        location=clinic["location"],
        appointment_type=clinic["treatment"],
        on=timezone.localdate(timezone=clinic["location"].zone) + timedelta(days=days_ahead),
    )
    session = start_session(appointment=appointment, plan=plan, by=doctor.user)
    completed_session(session, lot=clinic["lot"], by=doctor.user)
    return patient


@pytest.fixture
def recall(clinic, manager_user):
    """The clinic's lot, received by two patients (one without an email), recalled."""
    treated(clinic, 2, first_name="Colette", last_name="Willy")
    treated(clinic, 3, first_name="Jean", last_name="Genet", email="")
    return recall_services.open_recall(
        lot=clinic["lot"],
        reason="Manufacturer's field safety notice FSN-2041",
        announced_on=timezone.localdate(timezone=clinic["location"].zone),
        actor=Actor.system(user=manager_user),
    )


def local_today(holder):
    """Today where the clinic (or the lot) is: a notice cannot be dated in its future."""
    location = holder["location"] if isinstance(holder, dict) else holder.location
    return timezone.localdate(timezone=location.zone)


def html_of(response) -> str:
    return response.content.decode()


# A lot's status -----------------------------------------------------------------------


def test_a_manager_quarantines_a_lot_and_the_change_is_kept_with_who_why_and_when(
    client, clinic, manager_user
):
    lot = clinic["lot"]
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:lot_status", args=[lot.pk]),
        {"status": "quarantined", "reason": "Outer box found damp"},
    )

    assert response.status_code == 302
    assert StockLot.objects.get(pk=lot.pk).status == "quarantined"
    change = LotStatusChange.objects.get(lot=lot)
    assert (change.previous_status, change.status) == ("active", "quarantined")
    assert change.reason == "Outer box found damp" and change.changed_by == manager_user
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(lot.pk), summary__contains="quarantined"
    ).exists()
    page = html_of(client.get(reverse("treatments:lot_detail", args=[lot.pk])))
    assert "Outer box found damp" in page and "Quarantined" in page


@pytest.mark.parametrize("role", ["practitioner", "front_desk"])
def test_a_practitioner_or_the_front_desk_changing_a_lot_status_gets_403_and_nothing_changes(
    client, clinic, users_by_role, role
):
    lot = clinic["lot"]
    client.force_login(users_by_role[role])

    response = client.post(
        reverse("treatments:lot_status", args=[lot.pk]),
        {"status": "recalled", "reason": "Not mine to say"},
    )

    assert response.status_code == 403
    assert StockLot.objects.get(pk=lot.pk).status == "active"
    assert not LotStatusChange.objects.exists()


def test_a_status_change_without_a_reason_or_to_an_unknown_status_changes_nothing(
    client, clinic, manager_user
):
    lot = clinic["lot"]
    client.force_login(manager_user)
    url = reverse("treatments:lot_status", args=[lot.pk])

    no_reason = client.post(url, {"status": "quarantined", "reason": "  "})
    unknown = client.post(url, {"status": "destroyed", "reason": "Gone"})

    assert no_reason.status_code == unknown.status_code == 400
    assert "Say why the lot" in html_of(no_reason)
    assert "Choose active, quarantined or recalled" in html_of(unknown)
    assert StockLot.objects.get(pk=lot.pk).status == "active"
    assert not LotStatusChange.objects.exists()


def test_a_closed_locations_lot_and_recall_are_not_found_even_for_a_manager(
    client, clinic, recall, manager_user
):
    Location.objects.filter(pk=clinic["location"].pk).update(is_active=False)
    client.force_login(manager_user)

    lot_page = client.get(reverse("treatments:lot_detail", args=[clinic["lot"].pk]))
    recall_page = client.get(reverse("treatments:recall_detail", args=[recall.pk]))
    exported = client.get(reverse("treatments:recall_csv", args=[recall.pk]))

    assert lot_page.status_code == recall_page.status_code == exported.status_code == 404
    assert b"Colette" not in recall_page.content + exported.content


# Recalls ----------------------------------------------------------------------------


def test_opening_a_recall_marks_the_lot_recalled_and_lists_every_patient_with_contacts(
    client, clinic, manager_user
):
    treated(clinic, 2, first_name="Colette", last_name="Willy")
    treated(clinic, 3, first_name="Jean", last_name="Genet", email="")
    lot = clinic["lot"]
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:recall_open", args=[lot.pk]),
        {"reason": "FSN-2041: sterility not assured", "announced_on": local_today(clinic)},
        follow=True,
    )

    recall = LotRecall.objects.get(lot=lot)
    assert StockLot.objects.get(pk=lot.pk).status == "recalled"
    page = html_of(response)
    assert "Colette Willy" in page and "colette.willy@mail.example" in page
    assert "Jean Genet" in page and "No email: reach another way" in page
    assert "0 of 2 patient(s) contacted" in page
    # Listing contact details is written to each patient's own trail.
    listed = AuditEvent.objects.filter(
        object_id=str(recall.pk), summary__startswith="Listed with contact details"
    )
    assert listed.count() == 2


def test_a_second_recall_of_a_lot_with_one_open_is_refused(client, recall, manager_user):
    client.force_login(manager_user)
    response = client.post(
        reverse("treatments:recall_open", args=[recall.lot.pk]),
        {"reason": "Again", "announced_on": local_today(recall.lot)},
    )
    assert response.status_code == 400
    assert "already has an open recall" in html_of(response)
    assert LotRecall.objects.count() == 1


def test_a_contact_is_recorded_with_who_when_how_and_the_outcome(client, recall, manager_user):
    colette = next(p for p in recall_services.recall_patients(recall) if p.name == "Colette Willy")
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:recall_contact", args=[recall.pk]),
        {"patient": colette.patient_id, "method": "phone", "outcome": "Review booked Friday"},
        follow=True,
    )

    contact = RecallContact.objects.get()
    assert (contact.method, contact.outcome) == ("phone", "Review booked Friday")
    assert contact.contacted_by == manager_user and contact.contacted_at is not None
    assert "1 of 2 patient(s) contacted" in html_of(response)
    assert AuditEvent.objects.filter(
        patient_id=colette.patient_id, summary__startswith="Contacted (phone)"
    ).exists()


def test_a_contact_for_a_patient_who_did_not_receive_the_lot_is_refused(
    client, clinic, recall, manager_user
):
    client.force_login(manager_user)
    response = client.post(
        reverse("treatments:recall_contact", args=[recall.pk]),
        {"patient": clinic["patient"].pk, "method": "phone", "outcome": "?"},
    )
    assert response.status_code == 400
    assert "Choose a patient on this recall" in html_of(response)
    assert not RecallContact.objects.exists()


def test_the_recall_csv_lists_every_patient_and_no_cell_runs_as_a_formula(
    client, clinic, manager_user
):
    treated(clinic, 2, first_name='=HYPERLINK("http://evil")', last_name="@SUM(A1)")
    recall = recall_services.open_recall(
        lot=clinic["lot"],
        reason="FSN",
        announced_on=timezone.localdate(timezone=clinic["location"].zone),
        actor=Actor.system(user=manager_user),
    )
    client.force_login(manager_user)

    response = client.get(reverse("treatments:recall_csv", args=[recall.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["record_number", "name", "phone", "email"]
    assert len(rows) == 2
    name = rows[1][1]
    assert name.startswith("'=HYPERLINK")
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in rows[1])


def test_the_recall_email_goes_to_each_patient_with_an_address_as_plain_text(
    client, recall, manager_user
):
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:recall_notify", args=[recall.pk]),
        {
            "subject": "Lot {lot} of {product}",
            "body": "Dear {patient},\nPlease call {clinic} on {clinic_phone}.",
        },
        follow=True,
    )

    assert "Emailed the recall notice to 1 patient(s)" in html_of(response)
    [message] = mail.outbox
    lot = recall.lot
    assert message.to == ["colette.willy@mail.example"]
    assert message.subject == f"Lot {lot.lot_number} of {lot.product.name}"
    assert message.body.startswith("Dear Colette Willy,\nPlease call ")
    assert lot.location.name in message.body and lot.location.phone in message.body
    assert message.content_subtype == "plain" and not getattr(message, "alternatives", [])
    notice = RecallNotice.objects.get()
    assert notice.recipients == 1 and notice.sent_by == manager_user
    assert RecallContact.objects.get().method == "email"
    assert AuditEvent.objects.filter(
        object_id=str(notice.pk), summary__contains="to 1 patient(s)"
    ).exists()


@pytest.mark.parametrize(
    "subject, body, message",
    [
        ("Recall", 'Dear {patient}, <img src="x"><script>alert(1)</script>', "remove the markup"),
        ("<b>Recall</b>", "Dear {patient}, please call us.", "remove the markup"),
        ("Recall", "Dear {patient}, see file:///etc/passwd", "file:, javascript: and data:"),
        ("Recall", "Dear {patient}, <!-- hidden --> call us", "remove the markup"),
        ("Recall", "Dear {patient}, open JavaScript:alert(1)", "file:, javascript: and data:"),
    ],
)
def test_an_email_template_with_markup_or_a_file_link_is_refused_and_nothing_is_sent(
    client, recall, manager_user, subject, body, message
):
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:recall_notify", args=[recall.pk]), {"subject": subject, "body": body}
    )

    assert response.status_code == 400
    assert message in html_of(response)
    assert "<script>alert(1)</script>" not in html_of(response)
    assert mail.outbox == []
    assert not RecallNotice.objects.exists() and not RecallContact.objects.exists()


def test_a_web_address_and_a_less_than_sign_in_words_are_sent_as_typed(
    client, recall, manager_user
):
    body = "Dear {patient}, details: https://threadline.example/recall. Risk is < 1 in 1000."
    client.force_login(manager_user)

    client.post(
        reverse("treatments:recall_notify", args=[recall.pk]), {"subject": "Recall", "body": body}
    )

    [message] = mail.outbox
    assert message.body == body.replace("{patient}", "Colette Willy")


@pytest.mark.parametrize(
    "body, message",
    [
        ("Dear {patient.__class__}", "Unknown placeholder {patient.__class__}"),
        ("Dear {name}", "Unknown placeholder {name}"),
        ("Dear {patient", "A brace is not closed"),
        ("", "Write the email."),
    ],
)
def test_a_template_with_an_unknown_placeholder_is_refused_and_nothing_is_sent(
    client, recall, manager_user, body, message
):
    client.force_login(manager_user)
    response = client.post(
        reverse("treatments:recall_notify", args=[recall.pk]), {"subject": "Recall", "body": body}
    )
    assert response.status_code == 400
    assert message in html_of(response)
    assert mail.outbox == []
    assert not RecallNotice.objects.exists() and not RecallContact.objects.exists()


@pytest.mark.parametrize("role", ["practitioner", "front_desk"])
def test_only_managers_open_send_or_close_recalls(client, recall, users_by_role, role):
    client.force_login(users_by_role[role])
    opened = client.post(
        reverse("treatments:recall_open", args=[recall.lot.pk]),
        {"reason": "x", "announced_on": local_today(recall.lot)},
    )
    sent = client.post(
        reverse("treatments:recall_notify", args=[recall.pk]),
        {"subject": "Recall", "body": "Dear {patient}"},
    )
    closed = client.post(reverse("treatments:recall_close", args=[recall.pk]), {"note": "Done"})
    assert opened.status_code == sent.status_code == closed.status_code == 403
    assert mail.outbox == [] and LotRecall.objects.count() == 1
    recall.refresh_from_db()
    assert recall.is_open


# Closing a recall -----------------------------------------------------------------------


def contact_everyone(recall, manager_user):
    for patient in recall_services.recall_patients(recall):
        recall_services.record_contact(
            recall=recall,
            patient=Patient.objects.get(pk=patient.patient_id),
            method="phone",
            outcome="No answer twice; letter sent",
            actor=Actor.system(user=manager_user),
        )


def test_a_recall_with_a_patient_not_yet_contacted_cannot_be_closed_and_says_who(
    client, recall, manager_user
):
    colette = next(p for p in recall_services.recall_patients(recall) if p.name == "Colette Willy")
    recall_services.record_contact(
        recall=recall,
        patient=Patient.objects.get(pk=colette.patient_id),
        method="phone",
        outcome="Review booked",
        actor=Actor.system(user=manager_user),
    )
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:recall_close", args=[recall.pk]), {"note": "Stock returned"}
    )

    assert response.status_code == 400
    assert "1 patient(s) have no recorded contact yet: Jean Genet" in html_of(response)
    recall.refresh_from_db()
    assert recall.is_open and recall.closing_note == ""


def test_a_manager_closes_a_recall_once_everyone_is_contacted_and_the_lot_stays_recalled(
    client, recall, manager_user
):
    contact_everyone(recall, manager_user)
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:recall_close", args=[recall.pk]),
        {"note": "6 unused threads returned to the manufacturer"},
        follow=True,
    )

    recall.refresh_from_db()
    assert not recall.is_open and recall.closed_by == manager_user
    assert recall.closing_note == "6 unused threads returned to the manufacturer"
    page = html_of(response)
    assert "Closed the recall of lot" in page and "6 unused threads returned" in page
    assert "Record the contact" not in page and "Send the recall email" not in page
    assert StockLot.objects.get(pk=recall.lot.pk).status == "recalled"
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(recall.pk), summary__startswith="Closed the recall"
    ).exists()


def test_a_closed_recall_takes_no_more_contacts_or_emails_and_cannot_be_closed_twice(
    client, recall, manager_user
):
    contact_everyone(recall, manager_user)
    recall_services.close_recall(
        recall=recall, note="Stock destroyed", actor=Actor.system(user=manager_user)
    )
    patient = recall_services.recall_patients(recall)[0]
    client.force_login(manager_user)

    contact = client.post(
        reverse("treatments:recall_contact", args=[recall.pk]),
        {"patient": patient.patient_id, "method": "phone", "outcome": "Again"},
    )
    notice = client.post(
        reverse("treatments:recall_notify", args=[recall.pk]),
        {"subject": "Recall", "body": "Dear {patient}"},
    )
    again = client.post(reverse("treatments:recall_close", args=[recall.pk]), {"note": "Twice"})

    assert contact.status_code == 400 and "This recall is closed" in html_of(contact)
    assert notice.status_code == 400 and "This recall is closed" in html_of(notice)
    assert again.status_code == 400 and "already closed" in html_of(again)
    assert RecallContact.objects.count() == 2 and mail.outbox == []
    recall.refresh_from_db()
    assert recall.closing_note == "Stock destroyed"


def test_closing_a_recall_without_a_note_is_refused(client, recall, manager_user):
    contact_everyone(recall, manager_user)
    client.force_login(manager_user)

    response = client.post(reverse("treatments:recall_close", args=[recall.pk]), {"note": "  "})

    assert response.status_code == 400
    assert "Say how the recall ended" in html_of(response)
    recall.refresh_from_db()
    assert recall.is_open


def test_once_closed_the_lot_can_have_a_new_recall(client, recall, manager_user):
    contact_everyone(recall, manager_user)
    recall_services.close_recall(
        recall=recall, note="Stock destroyed", actor=Actor.system(user=manager_user)
    )
    client.force_login(manager_user)

    response = client.post(
        reverse("treatments:recall_open", args=[recall.lot.pk]),
        {"reason": "Second notice FSN-2077", "announced_on": local_today(recall.lot)},
    )

    assert response.status_code == 302
    assert LotRecall.objects.filter(lot=recall.lot, closed_at__isnull=True).count() == 1
