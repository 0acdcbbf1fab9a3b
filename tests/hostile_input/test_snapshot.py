"""The harness's "changes nothing" sees every write: a case judged on the tables its request
wrote to still fails on a half-save anywhere."""

import pytest
from django.db import connection, transaction

from consultations.models import Patient
from tests.factories import LocationFactory, PatientFactory, RoomFactory, StaffMemberFactory
from tests.hostile_input.snapshot import WriteWatcher, describe_changes, snapshot

pytestmark = pytest.mark.django_db


def changes_seen(write) -> str:
    """What the harness reports for `write`, judged as run_case judges a request."""
    before = snapshot()
    watcher = WriteWatcher()
    with transaction.atomic():
        with connection.execute_wrapper(watcher):
            write()
        changes = describe_changes(before, snapshot(tables=watcher.tables))
        transaction.set_rollback(True)
    return changes


def test_an_insert_an_update_and_a_delete_are_each_seen():
    patient = PatientFactory(first_name="Ada")
    room = RoomFactory(location=LocationFactory())

    def half_save():
        Patient.objects.filter(pk=patient.pk).update(first_name="Changed")
        LocationFactory(name="Half-saved")
        room.delete()

    changes = changes_seen(half_save)
    assert "consultations_patient: rows changed" in changes
    assert "clinic_location: 1 -> 2 rows" in changes
    assert "clinic_room: 1 -> 0 rows" in changes


def test_a_write_to_a_many_to_many_table_is_seen(location):
    other = LocationFactory(name="Elsewhere")
    staff = StaffMemberFactory(locations=[location])
    changes = changes_seen(lambda: staff.locations.add(other))
    assert changes == "clinic_staffmember_locations: 1 -> 2 rows"


def test_reading_changes_nothing():
    PatientFactory()
    assert changes_seen(lambda: list(Patient.objects.select_for_update())) == ""


def test_a_statement_the_watcher_cannot_name_a_table_for_makes_it_read_every_table():
    watcher = WriteWatcher()
    watcher.note('INSERT INTO "clinic_room" ("name") VALUES (%s)')
    assert watcher.tables == {"clinic_room"}
    watcher.note("WITH moved AS (SELECT 1) UPDATE clinic_room SET name = 'x'")
    assert watcher.tables is None
