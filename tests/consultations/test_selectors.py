from datetime import date, timedelta

import pytest
from django.utils import timezone

from consultations.selectors import find_possible_duplicates, search_patients
from tests.factories import LocationFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def zoe():
    return PatientFactory(
        first_name="Zoë",
        last_name="Ångström-Nuñez",
        date_of_birth=date(1980, 4, 5),
        phone="+447911123456",
        email="zoe.angstrom@mail.example",
        record_number="TL000042",
    )


@pytest.fixture
def london():
    return LocationFactory(name="London", country="GB", time_zone="Europe/London")


@pytest.fixture
def new_york():
    return LocationFactory(name="New York", country="US", time_zone="America/New_York")


@pytest.mark.parametrize("query", ["zoe", "ZOE", "Zoë", "angstrom", "nunez", "zoe ang", "ström"])
def test_it_finds_a_name_from_any_part_ignoring_accents_and_case(zoe, query):
    PatientFactory(first_name="Bob", last_name="Smith")
    assert search_patients(query=query) == [zoe]


@pytest.mark.parametrize("query", ["TL000042", "tl000042", "TL00004"])
def test_it_finds_a_record_number(zoe, query):
    assert search_patients(query=query) == [zoe]


def test_it_reads_a_typed_date_of_birth_the_way_the_location_writes_dates(zoe, london, new_york):
    PatientFactory(first_name="May", date_of_birth=date(1980, 5, 4))
    assert search_patients(query="05/04/1980", location=london) == [zoe]
    assert search_patients(query="04/05/1980", location=new_york) == [zoe]
    assert search_patients(query="1980-04-05") == [zoe]


@pytest.mark.parametrize(
    "typed", ["07911 123456", "07911 123 456", "+44 7911 123456", "(07911) 123-456", "123456"]
)
def test_it_finds_a_phone_number_typed_in_any_common_format(zoe, london, typed):
    PatientFactory(phone="+442079460000")
    assert search_patients(query=typed, location=london) == [zoe]


def test_it_lists_the_most_recent_visit_first():
    old = PatientFactory(last_name="Kim", last_visit_at=timezone.now() - timedelta(days=90))
    recent = PatientFactory(last_name="Kimball", last_visit_at=timezone.now() - timedelta(days=1))
    never = PatientFactory(last_name="Kimura")
    assert search_patients(query="kim") == [recent, old, never]


def test_archived_patients_drop_out_unless_asked_for(zoe):
    zoe.is_archived = True
    zoe.save()
    assert search_patients(query="zoe") == []
    assert search_patients(query="zoe", include_archived=True) == [zoe]


def test_a_one_letter_query_finds_nothing_rather_than_everyone(zoe):
    assert search_patients(query="z") == []


@pytest.mark.parametrize("count", [5, 60])
def test_a_search_is_one_query_however_many_patients_match(django_assert_num_queries, count):
    PatientFactory.create_batch(count, last_name="Taylor")
    with django_assert_num_queries(1):
        results = search_patients(query="taylor")
    assert len(results) == min(count, 25)


def test_possible_duplicates_match_name_and_birth_date_or_phone_or_email(zoe):
    by_name = find_possible_duplicates(
        first_name="zoe", last_name="angstrom-nunez", date_of_birth=date(1980, 4, 5)
    )
    by_phone = find_possible_duplicates(
        first_name="Z", last_name="A", date_of_birth=None, phone="+447911123456"
    )
    by_email = find_possible_duplicates(
        first_name="Z", last_name="A", date_of_birth=None, email=zoe.email.upper()
    )
    nobody = find_possible_duplicates(
        first_name="Zoë", last_name="Ångström-Nuñez", date_of_birth=date(1981, 4, 5)
    )
    assert by_name == by_phone == by_email == [zoe]
    assert nobody == []
