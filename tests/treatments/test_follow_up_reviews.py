"""The 2-week, 3-month and 6-month reviews, each booked as its own appointment type and
named so in the calendar, the reminders and the calendar feed; the data migration that
splits the reviews booked before."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from consultations.booking.calendar_files import feed_event
from consultations.booking.reminders import reminder_email
from consultations.default_content import install_appointment_types
from consultations.models import Appointment, AppointmentType, CalendarFeed
from tests.recipes import accept, build_clinic, completed_session, sign, start

pytestmark = pytest.mark.django_db

split_migration = importlib.import_module("treatments.migrations.0005_review_appointment_types")


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    built = build_clinic(location, practitioner_user)
    install_appointment_types()
    return built


def treat(clinic):
    sign(clinic, accept(clinic))
    return completed_session(start(clinic), lot=clinic["lot"], by=clinic["user"])


def reviews_of(clinic):
    return list(
        Appointment.objects.filter(patient=clinic["patient"], appointment_type__kind="review")
        .select_related("appointment_type", "location", "patient", "room")
        .order_by("starts_at")
    )


def test_each_review_is_booked_as_its_own_type(clinic):
    session = treat(clinic)
    reviews = reviews_of(clinic)
    assert [r.appointment_type.name for r in reviews] == [
        "2-week review",
        "3-month review",
        "6-month review",
    ]
    gaps = [(r.starts_at - session.completed_at).days for r in reviews]
    assert 14 <= gaps[0] <= 16 and 91 <= gaps[1] <= 93 and 182 <= gaps[2] <= 184
    assert reviews[1].notes.startswith("3 months review after the thread lift of")


def test_a_clinic_without_a_type_for_a_stage_books_its_general_review_type(clinic):
    AppointmentType.objects.filter(name="3-month review").update(is_active=False)
    treat(clinic)
    assert [r.appointment_type.name for r in reviews_of(clinic)] == [
        "2-week review",
        "Review",  # build_clinic's general review type
        "6-month review",
    ]


def test_the_calendar_the_reminder_and_the_feed_name_the_review(client, clinic):
    treat(clinic)
    three_months = reviews_of(clinic)[1]
    subject, body = reminder_email(three_months)
    assert subject.startswith("Your 3-month review at Threadline Test Clinic on")
    assert "reminder of your 3-month review at" in body
    assert feed_event(three_months).summary.startswith("3-month review")
    # The calendar's day view shows the type's name on the block.
    client.force_login(clinic["user"])
    day = timezone.localtime(three_months.starts_at, clinic["location"].zone).date()
    page = client.get(reverse("consultations:calendar_day"), {"date": day.isoformat()})
    assert "3-month review" in page.content.decode()
    feed = CalendarFeed.objects.create(staff=clinic["doctor"], token="f" * 43)
    ics = client.get(reverse("consultations:calendar_feed", args=[feed.token])).content.decode()
    assert "SUMMARY:2-week review" in ics


def test_a_consultation_reminder_still_says_nothing_about_the_treatment(clinic):
    subject, body = reminder_email(clinic["appointment"])
    assert subject.startswith("Your appointment at")
    assert "Thread lift" not in subject + body


def test_installing_the_types_twice_adds_nothing(clinic):
    before = AppointmentType.objects.count()
    assert install_appointment_types() == 0
    assert AppointmentType.objects.count() == before


def test_the_migration_moves_each_future_review_to_its_stage_and_leaves_the_rest(clinic):
    """Reviews booked under the old single type, as before the change."""
    AppointmentType.objects.filter(review_stage__gt="").delete()
    old = AppointmentType.objects.get(name="Review")
    AppointmentType.objects.filter(pk=old.pk).update(name="Two-week review")
    treat(clinic)
    reviews = reviews_of(clinic)
    assert {r.appointment_type.name for r in reviews} == {"Two-week review"}
    unrelated = reviews[0]
    # One review whose gap tells nothing (moved far from any due date) stays as it is.
    Appointment.objects.filter(pk=reviews[1].pk).update(
        starts_at=reviews[1].starts_at + timedelta(days=40),
        ends_at=reviews[1].ends_at + timedelta(days=40),
        blocked_until=reviews[1].blocked_until + timedelta(days=40),
    )
    split_migration.split_reviews(apps, None)
    after = {a.pk: a.appointment_type.name for a in reviews_of(clinic)}
    assert after[unrelated.pk] == "2-week review"  # the old type, renamed
    assert after[reviews[1].pk] == "2-week review"  # unclear: left on the old type
    assert after[reviews[2].pk] == "6-month review"
    assert AppointmentType.objects.filter(name="3-month review", review_stage="3_months").exists()
    split_migration.split_reviews(apps, None)  # a second run changes nothing
    assert {a.pk: a.appointment_type.name for a in reviews_of(clinic)} == after


def test_the_migration_does_nothing_on_a_fresh_database(db):
    split_migration.split_reviews(apps, None)
    assert not AppointmentType.objects.exists()
