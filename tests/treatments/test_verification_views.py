"""The verification page a printed consent's QR code opens: is this consent intact?"""

import pytest
from django.urls import reverse

from clinic.models import AuditAction, AuditEvent, Role
from tests.factories import LocationFactory, StaffMemberFactory
from tests.recipes import accept, build_clinic, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


@pytest.fixture
def consent(clinic):
    return sign(clinic, accept(clinic))


@pytest.fixture
def signed_in(client, clinic):
    client.force_login(clinic["user"])
    return client


def verify_url(fingerprint: str) -> str:
    return reverse("treatments:consent_verify", args=[fingerprint])


def form_url() -> str:
    return reverse("treatments:consent_verify_form")


def checks() -> list[str]:
    return list(
        AuditEvent.objects.filter(
            action=AuditAction.VIEW, summary__startswith="Checked"
        ).values_list("summary", flat=True)
    )


def test_an_intact_consent_is_said_to_be_intact_with_whom_and_when(signed_in, consent):
    response = signed_in.get(verify_url(consent.fingerprint))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Intact." in html
    assert "The seal (the clinic's signature over the record) is valid." in html
    assert "The PDF copy handed to the patient is stored unchanged." in html
    assert consent.patient.record_number in html and consent.fingerprint in html
    assert reverse("treatments:consent_detail", args=[consent.pk]) in html
    assert checks() == [f"Checked consent fingerprint {consent.fingerprint}: intact"]


def test_a_pasted_fingerprint_with_spaces_and_capitals_is_found(signed_in, consent):
    typed = " ".join(consent.fingerprint.upper()[i : i + 16] for i in range(0, 64, 16))
    response = signed_in.get(form_url(), {"fingerprint": f"  {typed}\n"})
    assert response.status_code == 200
    assert "Intact." in response.content.decode()


def test_the_form_alone_asks_for_a_fingerprint(signed_in):
    response = signed_in.get(form_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="fingerprint"' in html and "verify-result" not in html
    assert checks() == []


def test_a_forged_fingerprint_finds_no_consent(signed_in, consent):
    forged = consent.fingerprint[:-1] + ("0" if consent.fingerprint[-1] != "0" else "1")
    response = signed_in.get(verify_url(forged))
    assert response.status_code == 404
    html = response.content.decode()
    assert "No consent has this fingerprint at your locations." in html
    assert "Intact" not in html
    assert checks() == [f"Checked consent fingerprint {forged}: no such consent"]


@pytest.mark.parametrize(
    "typed",
    [
        "truncated",  # replaced by the first 12 characters below
        "g" * 64,
        "<script>alert(1)</script>",
        "a" * 65,
        "é" * 64,
        "0" * 63 + "\0",
    ],
)
def test_what_is_not_a_fingerprint_is_said_so_and_never_fails(signed_in, consent, typed):
    if typed == "truncated":
        typed = consent.fingerprint[:12]  # the old audit trail's "abcdef123456…"
    response = signed_in.get(form_url(), {"fingerprint": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This is not a fingerprint" in html
    assert "<script>alert(1)</script>" not in html
    assert len(checks()) == 1 and "not a fingerprint" in checks()[0]


def test_a_malformed_fingerprint_in_the_address_is_said_so(signed_in):
    response = signed_in.get(verify_url("not-a-fingerprint"))
    assert response.status_code == 400
    assert "This is not a fingerprint" in response.content.decode()


def test_two_fingerprints_at_once_are_not_a_fingerprint(signed_in, consent):
    response = signed_in.get(
        form_url(), {"fingerprint": [consent.fingerprint, consent.fingerprint]}
    )
    assert response.status_code == 400


def test_a_consent_at_another_location_is_not_found_there(client, consent):
    elsewhere = StaffMemberFactory(role=Role.PRACTITIONER, locations=[LocationFactory()])
    client.force_login(elsewhere.user)
    response = client.get(verify_url(consent.fingerprint))
    assert response.status_code == 404
    assert consent.patient.last_name not in response.content.decode()


def test_the_front_desk_cannot_check_consents(client, consent, frontdesk_user):
    client.force_login(frontdesk_user)
    response = client.get(verify_url(consent.fingerprint))
    assert response.status_code == 403
    assert consent.patient.last_name not in response.content.decode()


def test_a_manager_can_check_a_consent(client, consent, manager_user):
    client.force_login(manager_user)
    response = client.get(verify_url(consent.fingerprint))
    assert response.status_code == 200
    assert "Intact." in response.content.decode()
