"""Who may reach which location's records: the one rule every `for_user` method uses."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from clinic.access import get_for_user_or_404, reachable_locations
from clinic.models import Role, Room
from consultations.models import Appointment, AppointmentStatus, AppointmentType
from tests.factories import (
    LocationFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites():
    london = LocationFactory(name="London")
    leeds = LocationFactory(name="Leeds")
    closed = LocationFactory(name="Bath", is_active=False)
    return london, leeds, closed


def names(locations) -> list[str]:
    return sorted(location.name for location in locations)


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.FRONT_DESK])
def test_staff_reach_the_open_locations_they_work_at(sites, role):
    london, _leeds, closed = sites
    staff = StaffMemberFactory(role=role, locations=[london, closed])
    assert names(reachable_locations(staff.user)) == ["London"]


def test_a_manager_reaches_every_open_location_even_where_not_a_member(sites):
    london, _leeds, _closed = sites
    manager = StaffMemberFactory(role=Role.MANAGER, locations=[london])
    assert names(reachable_locations(manager.user)) == ["Leeds", "London"]


def test_a_superuser_without_a_staff_record_reaches_every_open_location(sites):
    admin = UserFactory(username="root", is_superuser=True)
    assert names(reachable_locations(admin)) == ["Leeds", "London"]


def test_an_account_without_a_staff_record_or_a_visitor_reaches_nothing(sites):
    assert names(reachable_locations(UserFactory(username="nobody"))) == []
    assert names(reachable_locations(AnonymousUser())) == []


def test_a_model_that_does_not_say_who_may_reach_it_cannot_be_fetched(sites):
    london, _leeds, _closed = sites
    staff = StaffMemberFactory(role=Role.FRONT_DESK, locations=[london])
    room = RoomFactory(location=london)
    # A model without for_user is a mistake to fix, never a record open to everyone.
    with pytest.raises(TypeError, match="Room has no for_user"):
        get_for_user_or_404(Room, staff.user, pk=room.pk)


def test_a_record_is_found_at_the_users_location_and_not_found_elsewhere(sites):
    london, leeds, _closed = sites
    staff = StaffMemberFactory(role=Role.FRONT_DESK, locations=[london])
    doctor = StaffMemberFactory(role=Role.PRACTITIONER, locations=[london, leeds])
    patient = PatientFactory()
    kind = AppointmentType.objects.create(name="Review", kind="review", duration_minutes=20)
    starts = timezone.now() + timedelta(days=3)

    def appointment_at(location, starts):
        return Appointment.objects.create(
            patient=patient,
            practitioner=doctor,
            location=location,
            appointment_type=kind,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=20),
            blocked_until=starts + timedelta(minutes=20),
        )

    # One practitioner, so two different times: the database refuses double booking.
    here = appointment_at(london, starts)
    there = appointment_at(leeds, starts + timedelta(hours=2))
    assert get_for_user_or_404(Appointment, staff.user, pk=here.pk) == here
    with pytest.raises(Http404):
        get_for_user_or_404(Appointment, staff.user, pk=there.pk)
    with pytest.raises(Http404):
        # The lookup narrows a queryset the view chose; the location rule still applies.
        cancelled = Appointment.objects.filter(status=AppointmentStatus.CANCELLED)
        get_for_user_or_404(cancelled, staff.user, pk=here.pk)
