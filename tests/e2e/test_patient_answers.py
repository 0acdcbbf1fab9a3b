"""A patient answers their reminder and their check-in from links on a phone (390x844)."""

import re

from django.core import mail
from playwright.sync_api import expect

from clinic.actors import Actor
from consultations import patient_links
from consultations.models import LinkPurpose
from tests.e2e.test_pages_fit_and_are_accessible import fits_and_passes_axe
from tests.recipes import LOCAL_LIDOCAINE, accept, build_clinic, completed_session, sign
from tests.recipes import start as start_session
from treatments.models import CheckInReply
from treatments.services.check_ins import send_check_in

LINK = re.compile(r"https?://[^/\s]+(/p/[A-Za-z0-9_-]{43}/)")


def test_a_patient_confirms_the_booking_from_the_reminders_link_on_a_phone(
    phone, location, private_media, practitioner_user
):
    clinic = build_clinic(location, practitioner_user)
    issued = patient_links.issue_link(
        patient=clinic["patient"],
        purpose=LinkPurpose.BOOKING,
        location=location,
        appointment=clinic["appointment"],
        actor=Actor.system(),
    )

    phone.goto(issued.url.removeprefix("http://127.0.0.1:8000"))
    expect(phone.get_by_test_id("booking")).to_be_visible()
    assert fits_and_passes_axe(phone) == []
    phone.get_by_role("button", name="I'll be there").click()

    expect(phone.get_by_role("status")).to_contain_text("we look forward to seeing you")
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].confirmed_at is not None


def test_a_patient_says_something_is_wrong_at_a_check_in_on_a_phone(
    phone, location, private_media, practitioner_user
):
    clinic = build_clinic(location, practitioner_user)
    patient = clinic["patient"]
    patient.email, patient.contact_by_email = "marguerite@mail.example", True
    patient.save()
    sign(clinic, accept(clinic))
    session = completed_session(
        start_session(clinic), lot=clinic["lot"], by=clinic["user"], details={**LOCAL_LIDOCAINE}
    )
    # In development tasks run at once: completing the session sent both check-ins, and
    # the day-3 one, the newest, is the link that works.
    assert send_check_in.call(session_id=session.pk, day=3) == "not sent: already sent"
    path = [LINK.search(m.body).group(1) for m in mail.outbox if "How are you" in m.body][-1]

    phone.goto(path)
    expect(phone.get_by_test_id("emergency")).to_be_visible()
    assert fits_and_passes_axe(phone) == []
    phone.get_by_role("radio", name=re.compile("Something is wrong")).check()
    phone.get_by_label("What is wrong? Tell us in your own words").fill("My cheek is hot")
    phone.get_by_role("button", name="Send").click()

    expect(phone.get_by_test_id("answered")).to_contain_text("We have told your practitioner")
    assert CheckInReply.objects.get(day=3).details == "My cheek is hot"
