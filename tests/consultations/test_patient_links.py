"""Links sent to patients: what the patient opens, what the database keeps, what the desk sees.

Each purpose's own page is tested with it; here a stand-in page shows the mechanism
alone: tokens, expiry, single use, revocation, limits and the audit trail.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations import patient_links, services
from consultations.models import LinkPurpose, PatientLink
from consultations.views import patient_links as link_views
from tests.clock import travel_to
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def stand_in_page(request, link, actor):
    """What a purpose's page sees: the open link. It answers with the first name only."""
    if request.method == "POST":
        patient_links.use_link(link=link, actor=actor)
        return HttpResponse("Thank you")
    return HttpResponse(f"Hello {link.patient.first_name}")


@pytest.fixture(autouse=True)
def pages(monkeypatch):
    for purpose in LinkPurpose:
        monkeypatch.setitem(patient_links._pages, purpose, stand_in_page)


@pytest.fixture
def patient(location):
    return PatientFactory(
        first_name="Maren",
        last_name="Oyelaran-Quist",
        email="maren@example.com",
        contact_by_email=True,
        preferred_location=location,
    )


@pytest.fixture
def desk(frontdesk_user):
    return Actor(user=frontdesk_user)


def issue(patient, location, desk, purpose=LinkPurpose.MEDICAL_HISTORY, **options):
    return patient_links.issue_link(
        patient=patient, purpose=purpose, location=location, actor=desk, **options
    )


def open_page(issued, method="get", client=None):
    client = client or Client(raise_request_exception=False)
    return getattr(client, method)(issued.url.removeprefix("http://127.0.0.1:8000"))


def test_a_link_carries_256_random_bits_and_the_database_keeps_only_their_digest(
    patient, location, desk
):
    issued = issue(patient, location, desk)

    assert len(issued.token) == 43  # 32 bytes in URL-safe base64
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM consultations_patientlink")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert issued.token not in stored
    assert patient_links.token_digest(issued.token) in stored


def test_the_patient_opens_the_page_with_nothing_of_theirs_in_the_address(patient, location, desk):
    issued = issue(patient, location, desk)

    response = open_page(issued)

    assert response.status_code == 200
    assert response.content == b"Hello Maren"
    assert patient.record_number not in issued.url and "Maren" not in issued.url
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_every_open_is_on_the_patients_audit_trail_and_stamped_on_the_link(patient, location, desk):
    issued = issue(patient, location, desk)

    open_page(issued)
    open_page(issued)

    opens = AuditEvent.objects.filter(patient_id=patient.pk, action=AuditAction.VIEW)
    assert opens.count() == 2
    assert opens.first().actor is None
    link = PatientLink.objects.get()
    assert link.first_opened_at is not None and link.last_opened_at >= link.first_opened_at


def test_an_expired_link_says_so_with_the_clinics_phone_and_shows_nothing_of_the_patient(
    patient, location, desk
):
    issued = issue(patient, location, desk)
    travel_to(timezone.now() + timedelta(days=7, minutes=1))

    response = open_page(issued)

    assert response.status_code == 410
    assert b"expired" in response.content
    assert location.phone.encode() in response.content
    assert b"Maren" not in response.content and b"Oyelaran" not in response.content


def test_the_expiry_is_a_setting(patient, location, desk, settings):
    settings.PATIENT_LINK_DAYS = 2

    link = issue(patient, location, desk).link

    assert link.expires_at - link.created_at == timedelta(days=2)


def test_a_form_link_works_once_and_then_thanks_the_patient_instead(patient, location, desk):
    issued = issue(patient, location, desk)

    first = open_page(issued, "post")
    second = open_page(issued, "post")

    assert first.content == b"Thank you"
    assert second.status_code == 410
    assert b"already been sent" in second.content
    assert PatientLink.objects.get().used_at is not None


def test_a_reading_link_keeps_working_after_it_is_opened(patient, location, desk):
    issued = issue(patient, location, desk, purpose=LinkPurpose.CONSENT_READING)

    open_page(issued, "post")

    assert open_page(issued).status_code == 200


def test_two_tabs_sending_one_form_save_it_once(patient, location, desk):
    issued = issue(patient, location, desk)
    link = patient_links.open_link(token=issued.token, actor=desk)
    stale_copy = PatientLink.objects.get(pk=link.pk)

    patient_links.use_link(link=link, actor=desk)

    with pytest.raises(patient_links.LinkUnusable, match="used"):
        patient_links.use_link(link=stale_copy, actor=desk)


def test_a_new_link_for_the_same_purpose_replaces_the_one_sent_before(patient, location, desk):
    first = issue(patient, location, desk)
    second = issue(patient, location, desk)
    other_purpose = issue(patient, location, desk, purpose=LinkPurpose.BODY_IMAGE)

    assert open_page(first).status_code == 410
    assert open_page(second).status_code == 200
    assert open_page(other_purpose).status_code == 200


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1],
        lambda token: token + "x",
        lambda token: token.swapcase(),
        lambda token: patient_links.token_digest(token),
    ],
    ids=["truncated", "lengthened", "case changed", "the stored digest"],
)
def test_a_mangled_token_opens_nothing_and_names_no_clinic(patient, location, desk, mangle):
    issued = issue(patient, location, desk)

    response = Client().get(reverse("consultations:patient_link", args=[mangle(issued.token)]))

    assert response.status_code == 404
    assert b"Maren" not in response.content
    assert location.name.encode() not in response.content


def test_the_desk_revokes_a_link_from_the_chart_and_it_stops_working(
    client, frontdesk_user, patient, location, desk
):
    issued = issue(patient, location, desk)
    client.force_login(frontdesk_user)

    chart = client.get(reverse("consultations:patient_chart", args=[patient.pk]))
    assert "Medical-history questionnaire" in chart.content.decode()
    response = client.post(
        reverse("consultations:patient_link_revoke", args=[issued.link.pk]), follow=True
    )

    assert "no longer works" in response.content.decode()
    assert "revoked" in response.content.decode()
    assert open_page(issued).status_code == 410
    revoked = AuditEvent.objects.filter(summary__startswith="Revoked a patient link")
    assert revoked.get().actor == frontdesk_user


def test_revoking_a_link_that_already_stopped_changes_nothing(
    client, frontdesk_user, patient, location, desk
):
    issued = issue(patient, location, desk)
    patient_links.revoke_link(link=issued.link, actor=desk)
    client.force_login(frontdesk_user)

    response = client.post(
        reverse("consultations:patient_link_revoke", args=[issued.link.pk]), follow=True
    )

    assert "already stopped working" in response.content.decode()
    assert AuditEvent.objects.filter(summary__startswith="Revoked").count() == 1


def test_one_token_knocking_too_often_is_asked_to_wait(patient, location, desk, monkeypatch):
    monkeypatch.setattr(link_views, "REQUESTS_PER_TOKEN", 3)
    issued = issue(patient, location, desk, purpose=LinkPurpose.CONSENT_READING)

    answers = [open_page(issued).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]


def test_one_address_trying_many_tokens_is_asked_to_wait(monkeypatch):
    monkeypatch.setattr(link_views, "REQUESTS_PER_ADDRESS", 5)
    client = Client()

    answers = [client.get(f"/p/{'A' * 42}{n}/").status_code for n in range(6)]

    assert answers == [404] * 5 + [429]


def test_a_draft_is_kept_with_the_link_until_the_form_is_sent(patient, location, desk):
    issued = issue(patient, location, desk)

    patient_links.save_draft(link=issued.link, answers={"smoker": "no"}, actor=desk)
    assert PatientLink.objects.get().draft == {"smoker": "no"}
    patient_links.use_link(link=issued.link, actor=desk)

    assert PatientLink.objects.get().draft == {}


def test_the_link_goes_by_email_with_the_first_name_and_nothing_clinical(patient, location, desk):
    issued = issue(patient, location, desk)

    channels = patient_links.send_link(
        issued=issued, invitation="Please fill in your medical history.", actor=desk
    )

    assert channels == ["email"]
    (message,) = mail.outbox
    assert message.to == ["maren@example.com"]
    assert "Hello Maren" in message.body and issued.url in message.body
    assert "Oyelaran" not in message.body + message.subject
    assert PatientLink.objects.get().sent_by == "email"


def test_a_patient_who_chose_texts_gets_the_link_by_text(location, desk, text_outbox):
    patient = PatientFactory(
        first_name="Maren", phone="+447911123456", contact_by_sms=True, email=""
    )
    issued = issue(patient, location, desk)

    patient_links.send_link(issued=issued, invitation="Please fill in the form.", actor=desk)

    (text,) = text_outbox
    assert text.to == "+447911123456" and issued.url in text.body
    assert not mail.outbox


def test_a_patient_who_chose_neither_is_not_sent_anything(location, desk, text_outbox):
    patient = PatientFactory(email="x@example.com", contact_by_email=False, contact_by_sms=False)
    issued = issue(patient, location, desk)

    with pytest.raises(patient_links.LinkNotSent, match="has not chosen"):
        patient_links.send_link(issued=issued, invitation="Please fill in.", actor=desk)

    assert not mail.outbox and not text_outbox


def test_behind_a_proxy_each_patients_own_address_is_counted(monkeypatch, settings):
    settings.PROXY_COUNT = 1
    monkeypatch.setattr(link_views, "REQUESTS_PER_ADDRESS", 2)
    client = Client(REMOTE_ADDR="10.0.0.1")

    first = [
        client.get(f"/p/{'A' * 43}/", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code
        for _ in range(3)
    ]
    other = client.get(f"/p/{'A' * 43}/", HTTP_X_FORWARDED_FOR="198.51.100.4").status_code

    assert first == [404, 404, 429]
    assert other == 404


def test_archiving_a_patient_stops_every_link_they_were_sent(patient, location, desk):
    history = issue(patient, location, desk)
    reading = issue(patient, location, desk, purpose=LinkPurpose.CONSENT_READING)

    services.archive_patient(patient=patient, reason="Moved abroad", actor=desk)

    assert open_page(history).status_code == 410
    assert open_page(reading).status_code == 410
