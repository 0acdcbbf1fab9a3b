"""On PostgreSQL the database itself refuses to change or delete a signed consent."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION treatments_signedconsent_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a signed consent cannot be changed or deleted';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatments_signedconsent_immutable
    BEFORE UPDATE OR DELETE ON treatments_signedconsent
    FOR EACH ROW EXECUTE FUNCTION treatments_signedconsent_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS treatments_signedconsent_immutable ON treatments_signedconsent;
DROP FUNCTION IF EXISTS treatments_signedconsent_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("treatments", "0002_consent_sessions_outcomes")]

    operations = [migrations.RunPython(forwards, backwards)]
