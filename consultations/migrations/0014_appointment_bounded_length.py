"""Range queries on appointments read only the span they ask about.

A booking keeps its practitioner and room busy for at most the longest appointment type
plus the longest buffer (ten hours), and the database now says so: a search for what
meets a span looks back at most that far, so the (practitioner, starts_at),
(location, starts_at) and new (room, starts_at) indexes answer it instead of the whole
earlier history being read.
"""

from datetime import timedelta

from django.db import migrations, models

LONGEST_BLOCK = timedelta(hours=10)  # consultations.models.LONGEST_BLOCK when written


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0008_room_kind"),
        ("consultations", "0013_appointment_type_room_kind"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(fields=["room", "starts_at"], name="consultatio_room_id_2a1563_idx"),
        ),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.CheckConstraint(
                condition=models.Q(blocked_until__lte=models.F("starts_at") + LONGEST_BLOCK),
                name="appointment_blocks_at_most_the_longest_type",
            ),
        ),
    ]
