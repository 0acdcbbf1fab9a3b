import importlib
from datetime import time

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clinic.models import Location, Role, Room, RoomKind, StaffMember, WorkingHours
from tests.factories import LocationFactory, RoomFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_staff_member_belongs_to_the_group_of_their_role_only(location):
    staff = StaffMemberFactory(role=Role.FRONT_DESK, locations=[location])
    assert list(staff.user.groups.values_list("name", flat=True)) == ["Front desk"]
    staff.role = Role.PRACTITIONER
    staff.registration_number = "GMC 1234567"
    staff.save()
    assert list(staff.user.groups.values_list("name", flat=True)) == ["Practitioner"]


@pytest.mark.parametrize(
    ("role", "may", "may_not"),
    [
        (
            Role.FRONT_DESK,
            ["clinic.view_demographics", "clinic.manage_bookings"],
            ["clinic.view_clinical", "clinic.manage_clinic", "clinic.view_reports"],
        ),
        (
            Role.PRACTITIONER,
            ["clinic.view_clinical", "clinic.record_clinical"],
            ["clinic.manage_clinic", "clinic.view_reports"],
        ),
        (
            Role.MANAGER,
            [
                "clinic.view_clinical",
                "clinic.manage_clinic",
                "clinic.view_reports",
                "clinic.change_location",
            ],
            ["clinic.record_clinical", "clinic.change_auditevent"],
        ),
    ],
)
def test_the_role_groups_from_the_migration_hold_the_expected_permissions(
    location, role, may, may_not
):
    user = StaffMemberFactory(role=role, locations=[location]).user
    for permission in may:
        assert user.has_perm(permission), permission
    for permission in may_not:
        assert not user.has_perm(permission), permission


def test_the_three_role_groups_exist_after_migrating():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Front desk",
        "Practitioner",
        "Clinic manager",
    }


def test_only_managers_reach_the_admin_site(location):
    manager = StaffMemberFactory(role=Role.MANAGER, locations=[location])
    desk = StaffMemberFactory(role=Role.FRONT_DESK, locations=[location])
    assert manager.user.is_staff
    assert not desk.user.is_staff


def test_a_practitioner_needs_a_registration_number(location):
    staff = StaffMember(user=UserFactory(), role=Role.PRACTITIONER, registration_number=" ")
    with pytest.raises(ValidationError) as error:
        staff.full_clean()
    assert "registration_number" in error.value.message_dict


def test_each_user_has_at_most_one_staff_record(location):
    staff = StaffMemberFactory(role=Role.FRONT_DESK)
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffMember.objects.create(user=staff.user, role=Role.MANAGER)


def test_a_location_needs_a_real_time_zone():
    location = Location(
        name="Atlantis", address="-", phone="1", emergency_phone="2", time_zone="Mars/Olympus"
    )
    with pytest.raises(ValidationError) as error:
        location.full_clean()
    assert "not an IANA time zone" in str(error.value.message_dict["time_zone"])


@pytest.mark.parametrize(
    ("country", "field", "number", "message"),
    [
        (
            "GB",
            "emergency_phone",
            "+44 7700 900123",
            "Enter a UK phone number such as 0121 234 5678 or +44 121 234 5678.",
        ),
        (
            "US",
            "phone",
            "020 7946 0321",
            "Enter a US phone number such as (201) 555-0123 or +1 201-555-0123.",
        ),
        ("GB", "phone", "call us", "Enter a UK phone number such as"),
    ],
)
def test_a_locations_own_numbers_are_checked_in_its_countrys_format(
    location, country, field, number, message
):
    location.country = country
    setattr(location, field, number)
    with pytest.raises(ValidationError) as error:
        location.full_clean()
    assert list(error.value.message_dict) == [field]
    assert error.value.message_dict[field][0].startswith(message)


def test_a_location_takes_numbers_as_dialled_there_or_with_the_country_code(location):
    location.country = "US"
    location.phone, location.emergency_phone = "(212) 555-0147", "+44 20 7946 0321"
    location.full_clean()


def test_working_hours_must_end_after_they_start_and_be_at_the_staffs_location(location):
    staff = StaffMemberFactory(locations=[location])
    elsewhere = LocationFactory(name="Elsewhere")
    backwards = WorkingHours(
        staff=staff, location=location, weekday=0, starts_at=time(17), ends_at=time(9)
    )
    with pytest.raises(ValidationError) as error:
        backwards.full_clean()
    assert "The end must be after the start." in error.value.message_dict["ends_at"]
    with pytest.raises(IntegrityError), transaction.atomic():
        backwards.save()
    wrong_place = WorkingHours(
        staff=staff, location=elsewhere, weekday=0, starts_at=time(9), ends_at=time(17)
    )
    with pytest.raises(ValidationError) as error:
        wrong_place.full_clean()
    assert "does not work at that location" in str(error.value.message_dict["location"])


def test_changes_to_clinic_settings_keep_their_history(location):
    location.phone = "+44 20 7946 0999"
    location.save()
    assert [h.phone for h in location.history.order_by("history_date")] == [
        "+44 20 7946 0000",
        "+44 20 7946 0999",
    ]


@pytest.mark.parametrize(
    ("time_zone", "country", "jurisdiction"),
    [
        ("Europe/London", "GB", "GB-ENG"),
        ("America/New_York", "US", "US-NY"),
        ("America/Denver", "US", "US"),
        ("Australia/Sydney", "AU", "AU"),
        ("Europe/Lisbon", "PT", "XX"),
    ],
)
def test_a_location_without_a_jurisdiction_takes_it_from_its_time_zone_or_country(
    time_zone, country, jurisdiction
):
    location = LocationFactory(name=f"Clinic in {time_zone}", time_zone=time_zone, country=country)
    assert location.jurisdiction == jurisdiction


def test_the_migration_gives_existing_locations_the_jurisdiction_of_their_time_zone():
    london = LocationFactory(name="London", time_zone="Europe/London", country="GB")
    new_york = LocationFactory(name="New York", time_zone="America/New_York", country="US")
    chosen = LocationFactory(name="Glasgow", time_zone="Europe/London", jurisdiction="GB-SCT")
    Location.objects.filter(pk__in=[london.pk, new_york.pk]).update(jurisdiction="")
    migration = importlib.import_module("clinic.migrations.0007_location_jurisdiction")
    migration.derive_jurisdictions(django_apps, None)
    assert dict(Location.objects.values_list("name", "jurisdiction")) == {
        "London": "GB-ENG",
        "New York": "US-NY",
        "Glasgow": "GB-SCT",
    }
    assert chosen.jurisdiction == "GB-SCT"


def test_the_migration_makes_rooms_procedure_rooms_unless_their_name_says_consult(location):
    for name in ["Treatment room 1", "Consultation room", "Procedure room A", "Consult room B"]:
        RoomFactory(location=location, name=name, kind=RoomKind.PROCEDURE)
    migration = importlib.import_module("clinic.migrations.0008_room_kind")
    migration.guess_room_kinds(django_apps, None)
    assert dict(Room.objects.values_list("name", "kind")) == {
        "Treatment room 1": "procedure",
        "Consultation room": "consultation",
        "Procedure room A": "procedure",
        "Consult room B": "consultation",
    }


def test_a_new_room_is_a_procedure_room_unless_the_manager_says_otherwise(location):
    """A procedure room takes every type, so a room added in a hurry refuses no booking."""
    assert RoomFactory(location=location).kind == RoomKind.PROCEDURE


def test_a_manager_sets_a_locations_jurisdiction_in_the_clinic_settings(client, location):
    manager = UserFactory(username="settings-manager")
    StaffMemberFactory(user=manager, role=Role.MANAGER, locations=[location])
    client.force_login(manager)
    url = reverse("admin:clinic_location_change", args=[location.pk])
    form = client.get(url).content.decode()
    assert 'name="jurisdiction"' in form
    response = client.post(
        url,
        {
            "name": location.name,
            "address": location.address,
            "phone": location.phone,
            "emergency_phone": location.emergency_phone,
            "country": "GB",
            "time_zone": "Europe/London",
            "jurisdiction": "GB-WLS",
            "paper_size": "A4",
            "cooling_off_adult_days": "0",
            "cooling_off_minor_days": "7",
            "is_active": "on",
            "rooms-TOTAL_FORMS": "0",
            "rooms-INITIAL_FORMS": "0",
            "rooms-MIN_NUM_FORMS": "0",
            "rooms-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    location.refresh_from_db()
    assert location.jurisdiction == "GB-WLS"
    assert location.history.first().jurisdiction == "GB-WLS"


def location_admin_form(location, **changes) -> dict:
    return {
        "name": location.name,
        "address": location.address,
        "phone": location.phone,
        "emergency_phone": location.emergency_phone,
        "country": location.country,
        "currency": location.currency,
        "time_zone": location.time_zone,
        "jurisdiction": location.jurisdiction,
        "paper_size": location.paper_size,
        "cooling_off_adult_days": "0",
        "cooling_off_minor_days": "7",
        "is_active": "on",
        "rooms-TOTAL_FORMS": "0",
        "rooms-INITIAL_FORMS": "0",
        "rooms-MIN_NUM_FORMS": "0",
        "rooms-MAX_NUM_FORMS": "1000",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"emergency_phone": "+44 7700 900123"}, "emergency_phone", "Enter a UK phone number"),
        ({"currency": "£"}, "currency", "three-letter ISO 4217 code"),
        ({"country": "JP", "currency": ""}, "currency", "Give the currency prices are shown in"),
    ],
)
def test_a_managers_location_edit_is_refused_with_the_reason_and_saves_nothing(
    client, location, changes, field, message
):
    manager = UserFactory(username="settings-manager")
    StaffMemberFactory(user=manager, role=Role.MANAGER, locations=[location])
    client.force_login(manager)
    url = reverse("admin:clinic_location_change", args=[location.pk])
    before = location.history.count()
    response = client.post(url, location_admin_form(location, **changes))
    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field][0]
    location.refresh_from_db()
    assert (location.emergency_phone, location.currency, location.country) == (
        "+44 20 7946 0999",
        "GBP",
        "GB",
    )
    assert location.history.count() == before


def test_a_manager_gives_the_currency_of_a_location_in_a_country_not_known(client, location):
    manager = UserFactory(username="settings-manager")
    StaffMemberFactory(user=manager, role=Role.MANAGER, locations=[location])
    client.force_login(manager)
    url = reverse("admin:clinic_location_change", args=[location.pk])
    changes = {"country": "JP", "currency": "JPY", "phone": "03-1234-5678"}
    changes |= {"emergency_phone": "+81 3-1234-5678", "time_zone": "Asia/Tokyo"}
    response = client.post(url, location_admin_form(location, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    location.refresh_from_db()
    assert (location.country, location.currency) == ("JP", "JPY")


@pytest.mark.parametrize(
    ("country", "currency"),
    [("GB", "GBP"), ("US", "USD"), ("IE", "EUR"), ("DE", "EUR"), ("FR", "EUR"), ("AU", "AUD")],
)
def test_a_location_without_a_currency_takes_its_countrys(country, currency):
    assert LocationFactory(name=f"Clinic in {country}", country=country).currency == currency


def test_the_migration_gives_existing_locations_their_countrys_currency():
    for name, country in [("London", "GB"), ("New York", "US"), ("Dublin", "IE"), ("Tokyo", "JP")]:
        LocationFactory(name=name, country=country)
    LocationFactory(name="Zurich", country="CH", currency="EUR")  # chosen: kept
    Location.objects.exclude(name="Zurich").update(currency="")
    migration = importlib.import_module("clinic.migrations.0009_location_currency")
    migration.currencies_from_countries(django_apps, None)
    assert dict(Location.objects.values_list("name", "currency")) == {
        "London": "GBP",
        "New York": "USD",
        "Dublin": "EUR",
        "Tokyo": "",  # asked of the manager
        "Zurich": "EUR",
    }
