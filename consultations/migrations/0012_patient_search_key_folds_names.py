"""Patient search forgives missing letters and punctuation: the stored key is refilled.

search_name now holds each name folded as one word (O'Brien -> obrien,
Łukasiewicz -> lukasiewicz) and, for names with an umlaut or ring, the older
spelling too (Müller -> muller mueller); see consultations.name_folding. It
becomes a text column, as folding can lengthen a name. The trigram index of
migration 0002 stays on the column (PostgreSQL keeps it through the type change).
"""

from django.db import migrations, models

from consultations.name_folding import patient_search_key

BATCH = 2000


def refill_search_keys(apps, schema_editor):
    Patient = apps.get_model("consultations", "Patient")
    patients = Patient.objects.only("pk", "first_name", "last_name", "preferred_name")
    changed = []
    for patient in patients.order_by("pk").iterator(chunk_size=BATCH):
        patient.search_name = patient_search_key(
            first_name=patient.first_name,
            last_name=patient.last_name,
            preferred_name=patient.preferred_name,
        )
        changed.append(patient)
        if len(changed) == BATCH:
            Patient.objects.bulk_update(changed, ["search_name"])
            changed = []
    Patient.objects.bulk_update(changed, ["search_name"])


class Migration(migrations.Migration):
    dependencies = [("consultations", "0011_photography_consent")]

    operations = [
        migrations.AlterField(
            model_name="patient",
            name="search_name",
            field=models.TextField(default="", editable=False),
        ),
        # Going back leaves the new keys in place: the old search still finds
        # plain names in them.
        migrations.RunPython(refill_search_keys, migrations.RunPython.noop),
    ]
