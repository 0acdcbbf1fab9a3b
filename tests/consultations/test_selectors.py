import importlib
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consultations.models import Patient
from consultations.name_folding import patient_search_key
from consultations.selectors import SEARCH_LIMIT, find_possible_duplicates, search_patients
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


@pytest.mark.parametrize(
    ("typed", "first_name", "last_name"),
    [
        ("müller", "Hans", "Mueller"),  # typed with the umlaut, registered without
        ("moeller", "Ida", "Møller"),
        ("aaberg", "Sven", "Åberg"),
        ("o’brien", "Liam", "O'Brien"),  # a phone's curly apostrophe
        ("vanderberg", "Piet", "Van der Berg"),
        ("van der berg", "Piet", "Van der Berg"),
        ("smithjones", "Amy", "Smith-Jones"),
        ("smith jones", "Amy", "Smith-Jones"),
        ("smith-jones", "Amy", "Smith-Jones"),
        ("maryjane", "Mary Jane", "Watson"),
        ("strasse", "Eva", "Straße"),
        ("aeroe", "Ole", "Ærø"),
        ("dokovic", "Novak", "Đoković"),
        ("ilkay", "İlkay", "Gündoğan"),
        ("gundogan", "İlkay", "Gündoğan"),
    ],
)
def test_a_name_is_found_without_its_special_letters_or_punctuation(typed, first_name, last_name):
    PatientFactory(first_name="Bob", last_name="Smith")
    wanted = PatientFactory(first_name=first_name, last_name=last_name)
    assert search_patients(query=typed) == [wanted]


@pytest.mark.parametrize("typed", ["muller", "mueller", "müller", "MÜLLER", "Mu\u0308ller"])
def test_every_spelling_of_muller_finds_muller(typed):
    muller = PatientFactory(first_name="Greta", last_name="Müller")
    PatientFactory(first_name="Greta", last_name="Miller")
    assert search_patients(query=typed) == [muller]


def test_a_word_typed_with_an_oe_is_never_read_as_an_umlaut():
    joe = PatientFactory(first_name="Joe", last_name="Bloggs")
    PatientFactory(first_name="John", last_name="Jones")
    assert search_patients(query="joe") == [joe]


@pytest.mark.parametrize("typed", ["%", "_", "%%", "zo%", "z_e", "m_ller", "n%m", "n_m"])
def test_percent_and_underscore_are_no_wildcards(zoe, typed):
    PatientFactory(first_name="Anna", last_name="Müller")
    PatientFactory(first_name="Annamarie", last_name="Nam")
    assert search_patients(query=typed) == []


@pytest.mark.parametrize(("typed", "name"), [("n_m", "Ann_Marie"), ("n%m", "Ann%Marie")])
def test_percent_and_underscore_match_themselves(typed, name):
    PatientFactory(first_name="Annamarie", last_name="Nam")
    literal = PatientFactory(first_name=name, last_name="Test")
    assert search_patients(query=typed) == [literal]


@pytest.mark.parametrize("typed", ["'", "- -", "’‘", "...", "\x00\x00"])
def test_a_query_of_punctuation_alone_finds_nothing_rather_than_everyone(zoe, typed):
    assert search_patients(query=typed) == []


def test_a_long_query_of_any_characters_finds_nothing_without_an_error(zoe):
    assert search_patients(query="<script>alert(1)</script>" + "%_ﷺ" * 100) == []


def test_the_search_key_holds_both_spellings_of_a_name_with_an_umlaut():
    key = patient_search_key(first_name="Zoë", last_name="Müller", preferred_name="Zo")
    assert key == "zoe muller zo mueller"


def test_the_migration_refills_the_search_key_of_existing_patients():
    obrien = PatientFactory(first_name="Seán", last_name="O'Brien")
    Patient.objects.filter(pk=obrien.pk).update(search_name="")
    migration = importlib.import_module(
        "consultations.migrations.0012_patient_search_key_folds_names"
    )
    migration.refill_search_keys(apps, None)
    assert search_patients(query="sean obrien") == [obrien]


def many_patients() -> None:
    """3,000 patients: a few rare names among four common ones, statistics up to date."""
    rare = [("Zoë", "Łukasiewicz"), ("Zoë", "Müller"), ("Zoë", "O'Connor")]
    common = [("Anne", "Smith"), ("Mark", "Jones"), ("Ravi", "Patel"), ("Lin", "Chen")]
    people = [rare[n % 3] if n % 100 == 0 else common[n % 4] for n in range(3000)]
    Patient.objects.bulk_create(
        Patient(
            record_number=f"TX{n:06d}",
            first_name=first,
            last_name=last,
            date_of_birth=date(1980, 1, 1),
            sex="female",
            search_name=patient_search_key(first_name=first, last_name=last),
        )
        for n, (first, last) in enumerate(people)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE consultations_patient")


def search_plan(typed: str) -> tuple[list[Patient], str]:
    """What a search finds, and the plan PostgreSQL runs it with (EXPLAIN ANALYZE)."""
    with CaptureQueriesContext(connection) as captured:
        found = search_patients(query=typed)
    (search,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN ANALYZE " + search["sql"])
        plan = "\n".join(row for (row,) in cursor.fetchall())
    return found, plan


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # VACUUM, which fills in the index's statistics, needs it
@pytest.mark.parametrize("typed", ["lukas", "müller", "o'connor zoe"])
def test_on_postgresql_a_name_search_uses_the_trigram_index(typed):
    many_patients()
    found, plan = search_plan(typed)
    assert found, typed
    assert "patient_name_trgm" in plan, plan


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's query plans")
@pytest.mark.django_db(transaction=True)  # VACUUM, which fills in the index's statistics, needs it
def test_on_postgresql_a_common_name_fills_its_page_without_sorting_every_match():
    many_patients()
    found, plan = search_plan("smith")  # 742 of the 3,000
    assert len(found) == SEARCH_LIMIT
    assert "patient_recent_first" in plan, plan
    assert "Sort" not in plan, plan


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


def test_possible_duplicates_match_a_name_typed_without_its_accents_or_apostrophe():
    obrien = PatientFactory(first_name="Seán", last_name="O'Brien", date_of_birth=date(1970, 1, 2))
    found = find_possible_duplicates(
        first_name="Sean", last_name="OBrien", date_of_birth=date(1970, 1, 2)
    )
    assert found == [obrien]
