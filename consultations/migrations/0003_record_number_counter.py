"""The record-number counter starts with its single row."""

from django.db import migrations


def create_counter(apps, schema_editor):
    apps.get_model("consultations", "RecordNumberCounter").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("consultations", "0002_patient_search_trigram")]

    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
