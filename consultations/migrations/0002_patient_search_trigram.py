"""PostgreSQL: trigram indexes so "any part of a name" and phone searches stay fast."""

from django.db import migrations

FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS patient_name_trgm
    ON consultations_patient USING gin (search_name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS patient_phone_trgm
    ON consultations_patient USING gin (phone_digits gin_trgm_ops);
"""

BACKWARD = """
DROP INDEX IF EXISTS patient_name_trgm;
DROP INDEX IF EXISTS patient_phone_trgm;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("consultations", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
