"""Signed consents given before photography consents were kept apart: their photo answers
become photography consents, so photos may still be uploaded for those patients."""

from django.db import migrations


def copy_photo_answers(apps, schema_editor):
    SignedConsent = apps.get_model("treatments", "SignedConsent")
    PhotographyConsent = apps.get_model("consultations", "PhotographyConsent")
    rows = []
    for consent in SignedConsent.objects.filter(withdrawal__isnull=True).order_by("signed_at"):
        for use, granted in (consent.photo_consents or {}).items():
            if use in ("clinical", "teaching", "marketing") and isinstance(granted, bool):
                rows.append(
                    PhotographyConsent(
                        patient_id=consent.patient_id,
                        use=use,
                        granted=granted,
                        form="treatment_consent",
                        words="Signed with the treatment consent",
                        source=f"signed-consent:{consent.pk}",
                        recorded_at=consent.signed_at,
                        recorded_by_id=consent.recorded_by_id,
                    )
                )
    PhotographyConsent.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("treatments", "0008_lot_status_and_recalls")]

    operations = [migrations.RunPython(copy_photo_answers, migrations.RunPython.noop)]
