"""Check-ins after a session: day 1 and day 3, answered once, and what the practitioner does.

The check-ins are queued on django-tasks' database backend, as in production, and run
as the worker would once due (as the reminders' tests do): no waiting, no clock.
"""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic.models import AuditEvent, Role
from tests.factories import StaffMemberFactory, UserFactory
from tests.recipes import LOCAL_LIDOCAINE, accept, build_clinic, completed_session, sign
from tests.recipes import start as start_session
from treatments.aftercare import WARNING_SIGNS
from treatments.models import AdverseEvent, CheckInReply

pytestmark = pytest.mark.django_db

CHECK_IN = "treatments.services.check_ins.send_check_in"
LINK = re.compile(r"http://[^\s]+/p/[A-Za-z0-9_-]{43}/")
FEVER = WARNING_SIGNS[0]
THREAD_END = WARNING_SIGNS[4]


@pytest.fixture(autouse=True)
def queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    clinic = build_clinic(location, practitioner_user)
    patient = clinic["patient"]
    patient.email, patient.contact_by_email = "marguerite@mail.example", True
    patient.save()
    return clinic


@pytest.fixture
def session(clinic, django_capture_on_commit_callbacks):
    """A completed session (4 threads from lot LOT-A), with what it leaves for after the commit."""
    sign(clinic, accept(clinic))
    started = start_session(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        return completed_session(
            started, lot=clinic["lot"], by=clinic["user"], details={**LOCAL_LIDOCAINE}
        )


def queued():
    return list(DBTaskResult.objects.filter(task_path=CHECK_IN).order_by("run_after"))


def run(result):
    return result.task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def day_one(session, mailoutbox):
    """The day-1 check-in, sent: the path of its link."""
    mailoutbox.clear()
    assert run(queued()[0]) == "sent by email"
    (email,) = mailoutbox
    (url,) = LINK.findall(email.body)
    return path_of(url)


def something_wrong(path, **extra):
    return Client().post(
        path,
        {
            "answer": "something_wrong",
            "signs": [FEVER, THREAD_END],
            "details": "Hot cheek and a sharp end by my ear",
            **extra,
        },
    )


def test_completing_a_session_queues_a_check_in_for_day_1_and_day_3(session, mailoutbox):
    day_1, day_3 = queued()

    assert day_1.run_after == session.completed_at + timedelta(days=1)
    assert day_3.run_after == session.completed_at + timedelta(days=3)
    assert [m for m in mailoutbox if "How are you" in m.body] == [], "nothing before it is due"


def test_each_check_in_goes_out_when_due_with_a_link_to_the_question(session, mailoutbox, location):
    mailoutbox.clear()
    day_1, day_3 = queued()

    assert run(day_1) == "sent by email"
    assert run(day_3) == "sent by email"

    first, second = mailoutbox
    assert "How are you after your treatment?" in first.body
    assert first.to == ["marguerite@mail.example"]
    page = Client().get(path_of(LINK.findall(second.body)[0]))
    content = page.content.decode()
    assert page.status_code == 200
    assert location.phone in content and location.emergency_phone in content
    assert "All as expected" in content and "Something is wrong" in content
    assert FEVER in content
    assert "Duras" not in content, "only the first name"
    assert Client().get(path_of(LINK.findall(first.body)[0])).status_code == 410, (
        "the newest message is the one that works"
    )
    assert sorted(CheckInReply.objects.values_list("day", flat=True)) == [1, 3]


def test_a_check_in_is_sent_once_even_if_its_task_runs_twice(session, mailoutbox):
    mailoutbox.clear()
    day_1 = queued()[0]

    run(day_1)

    assert run(day_1) == "not sent: already sent"
    assert len(mailoutbox) == 1


def test_the_immediate_backend_of_development_sends_the_check_ins_at_once(
    settings, clinic, django_capture_on_commit_callbacks, mailoutbox
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    sign(clinic, accept(clinic))
    started = start_session(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        completed_session(
            started, lot=clinic["lot"], by=clinic["user"], details={**LOCAL_LIDOCAINE}
        )

    assert sum("How are you after your treatment?" in m.body for m in mailoutbox) == 2


def test_all_as_expected_thanks_the_patient_and_alerts_nobody(day_one, client, clinic):
    response = Client().post(day_one, {"answer": "as_expected", "details": ""})

    assert response.status_code == 200
    assert "glad" in response.content.decode()
    reply = CheckInReply.objects.get(day=1)
    assert reply.answer == "as_expected" and reply.answered_at is not None
    client.force_login(clinic["user"])
    assert (
        "Patients who said something is wrong" not in client.get(reverse("home")).content.decode()
    )


def test_the_check_in_link_works_once(day_one):
    assert something_wrong(day_one).status_code == 200

    again = something_wrong(day_one, details="Now it is worse")

    assert again.status_code == 410
    assert CheckInReply.objects.get(day=1).details == "Hot cheek and a sharp end by my ear"


def test_something_wrong_that_says_nothing_is_refused_and_nothing_is_kept(day_one):
    response = Client().post(day_one, {"answer": "something_wrong", "details": "  "})

    assert response.status_code == 400
    assert "Tell us what is wrong" in response.content.decode()
    reply = CheckInReply.objects.get(day=1)
    assert reply.answered_at is None
    assert Client().get(day_one).status_code == 200, "the link still works"


def test_something_wrong_shows_on_the_practitioners_home_and_becomes_an_adverse_event_in_one_click(
    day_one, client, clinic, session
):
    something_wrong(day_one)
    client.force_login(clinic["user"])

    home = client.get(reverse("home")).content.decode()
    assert "Patients who said something is wrong" in home
    assert "Marguerite Duras" in home and "Hot cheek and a sharp end by my ear" in home
    assert THREAD_END in home

    reply = CheckInReply.objects.get(day=1)
    response = client.post(reverse("treatments:check_in_adverse_event", args=[reply.pk]))

    event = AdverseEvent.objects.get()
    assert response["Location"] == reverse("treatments:adverse_event_edit", args=[event.pk])
    assert event.session == session
    assert list(event.lots.all()) == [clinic["lot"]]
    assert event.onset_on == timezone.localdate(timezone=clinic["location"].zone)
    assert "Hot cheek and a sharp end by my ear" in event.description
    assert FEVER in event.description
    assert event.reported_by == clinic["user"]
    reply.refresh_from_db()
    assert reply.adverse_event == event and reply.handled_by == clinic["user"]
    assert (
        "Patients who said something is wrong" not in client.get(reverse("home")).content.decode()
    )
    assert AuditEvent.objects.filter(
        patient_id=session.patient_id, summary__contains="check-in as an adverse event"
    ).exists()


def test_a_second_click_makes_no_second_adverse_event(day_one, client, clinic):
    something_wrong(day_one)
    client.force_login(clinic["user"])
    url = reverse("treatments:check_in_adverse_event", args=[CheckInReply.objects.get(day=1).pk])

    client.post(url)
    client.post(url)

    assert AdverseEvent.objects.count() == 1


def test_handled_without_an_event_needs_a_note_and_then_leaves_the_home_page(
    day_one, client, clinic
):
    something_wrong(day_one)
    client.force_login(clinic["user"])
    reply = CheckInReply.objects.get(day=1)
    url = reverse("treatments:check_in_handled", args=[reply.pk])

    client.post(url, {"note": ""})
    reply.refresh_from_db()
    assert reply.handled_at is None

    client.post(url, {"note": "Phoned her: a stitch end, trimmed at the clinic"})

    reply.refresh_from_db()
    assert reply.handled_note == "Phoned her: a stitch end, trimmed at the clinic"
    assert AdverseEvent.objects.count() == 0
    assert (
        "Patients who said something is wrong" not in client.get(reverse("home")).content.decode()
    )


def test_another_practitioner_does_not_see_the_alert(day_one, location):
    something_wrong(day_one)
    other = UserFactory(username="locum")
    StaffMemberFactory(user=other, role=Role.PRACTITIONER, locations=[location])
    client = Client()
    client.force_login(other)

    assert (
        "Patients who said something is wrong" not in client.get(reverse("home")).content.decode()
    )


def test_the_practitioner_completes_the_adverse_event_the_click_opened(day_one, client, clinic):
    something_wrong(day_one)
    client.force_login(clinic["user"])
    reply = CheckInReply.objects.get(day=1)
    opened = client.post(reverse("treatments:check_in_adverse_event", args=[reply.pk]), follow=True)
    event = AdverseEvent.objects.get()
    assert "Hot cheek and a sharp end by my ear" in opened.content.decode()

    response = client.post(
        reverse("treatments:adverse_event_edit", args=[event.pk]),
        {
            "event_type": "infection",
            "severity": "moderate",
            "onset_on": event.onset_on.isoformat(),
            "lots": [str(clinic["lot"].pk)],
            "management": "Oral antibiotics",
            "description": event.description,
            "resolved_on": "",
        },
    )

    assert response.status_code == 302
    session_page = client.get(response["Location"]).content.decode()
    assert reverse("treatments:adverse_event_edit", args=[event.pk]) in session_page
    event.refresh_from_db()
    assert (event.event_type, event.severity) == ("infection", "moderate")
    assert event.management == "Oral antibiotics"
    assert list(event.lots.all()) == [clinic["lot"]]
    first = event.history.order_by("history_date", "history_id").first()
    assert (first.event_type, first.severity) == ("other", "mild"), "the first version is kept"


def test_an_adverse_event_cannot_be_completed_with_an_onset_in_the_future(day_one, client, clinic):
    something_wrong(day_one)
    client.force_login(clinic["user"])
    client.post(
        reverse("treatments:check_in_adverse_event", args=[CheckInReply.objects.get(day=1).pk])
    )
    event = AdverseEvent.objects.get()

    response = client.post(
        reverse("treatments:adverse_event_edit", args=[event.pk]),
        {
            "event_type": "infection",
            "severity": "moderate",
            "onset_on": (event.onset_on + timedelta(days=3)).isoformat(),
        },
    )

    assert response.status_code == 400
    event.refresh_from_db()
    assert (event.event_type, event.severity) == ("other", "mild")
