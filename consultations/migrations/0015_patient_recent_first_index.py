"""PostgreSQL: patient search reads a common name's first page in its own order.

Search lists matches most recent visit first (consultations.selectors.recent_first).
With an index in that order, a name thousands of patients share is read in order until
the page is full, instead of every match being fetched and sorted; a rare name is still
found through the trigram index (migration 0002) and its few matches sorted. SQLite
cannot index NULLS LAST, and a clinic on SQLite is small enough to sort.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX IF NOT EXISTS patient_recent_first
    ON consultations_patient (last_visit_at DESC NULLS LAST, created_at DESC, id DESC);
"""

BACKWARD = "DROP INDEX IF EXISTS patient_recent_first;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("consultations", "0014_appointment_bounded_length")]

    operations = [migrations.RunPython(forwards, backwards)]
