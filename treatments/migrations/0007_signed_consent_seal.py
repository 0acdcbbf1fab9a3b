"""Signed consents are sealed (Ed25519), chained to the consent before them, and keep their PDF.

Consents signed earlier keep blank seal columns: they verify by fingerprint alone.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0004_location_country"),
        ("consultations", "0008_reminder_task_moved"),
        ("treatments", "0006_safety_check_and_anaesthesia"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="signedconsent",
            name="copy_pdf",
            field=models.FileField(blank=True, max_length=200, upload_to="consents/"),
        ),
        migrations.AddField(
            model_name="signedconsent",
            name="copy_seal",
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.AddField(
            model_name="signedconsent",
            name="copy_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="signedconsent",
            name="previous_fingerprint",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="signedconsent",
            name="seal",
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.AddField(
            model_name="signedconsent",
            name="seal_key_id",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddConstraint(
            model_name="signedconsent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("previous_fingerprint", ""), _negated=True),
                fields=("previous_fingerprint",),
                name="one_consent_follows_each",
            ),
        ),
    ]
