"""Patient search reads a common name's first page in its own order.

Search lists matches most recent visit first (consultations.selectors.recent_first).
With an index in that order, a name thousands of patients share is read in order until
the page is full, instead of every match being fetched and sorted; a rare name is still
found through the trigram index (migration 0002) and its few matches sorted.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("consultations", "0014_appointment_bounded_length")]

    operations = [
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                models.F("last_visit_at").desc(nulls_last=True),
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="patient_recent_first",
            ),
        ),
    ]
