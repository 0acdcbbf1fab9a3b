"""PostgreSQL: the database itself refuses overlapping bookings.

A practitioner or a room is never booked twice over [starts_at, blocked_until)
(the buffer after included); a patient never holds two appointments over
[starts_at, ends_at). Cancelled and no-show appointments free the slot.
SQLite relies on the booking service's serialised write transaction instead.
"""

from django.db import migrations

ACTIVE = "status NOT IN ('cancelled', 'no_show')"

FORWARD = f"""
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE consultations_appointment
    ADD CONSTRAINT appointment_no_practitioner_overlap
    EXCLUDE USING gist (practitioner_id WITH =, tstzrange(starts_at, blocked_until) WITH &&)
    WHERE ({ACTIVE});
ALTER TABLE consultations_appointment
    ADD CONSTRAINT appointment_no_room_overlap
    EXCLUDE USING gist (room_id WITH =, tstzrange(starts_at, blocked_until) WITH &&)
    WHERE (room_id IS NOT NULL AND {ACTIVE});
ALTER TABLE consultations_appointment
    ADD CONSTRAINT appointment_no_patient_overlap
    EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
    WHERE ({ACTIVE});
"""

BACKWARD = """
ALTER TABLE consultations_appointment DROP CONSTRAINT IF EXISTS appointment_no_practitioner_overlap;
ALTER TABLE consultations_appointment DROP CONSTRAINT IF EXISTS appointment_no_room_overlap;
ALTER TABLE consultations_appointment DROP CONSTRAINT IF EXISTS appointment_no_patient_overlap;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("consultations", "0004_booking")]

    operations = [migrations.RunPython(forwards, backwards)]
