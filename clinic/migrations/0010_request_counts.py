"""Request counts for the public pages' rate limits (clinic.rate_limits)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0009_location_currency"),
    ]

    operations = [
        migrations.CreateModel(
            name="RequestCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("window_start", models.DateTimeField()),
                ("count", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["window_start"], name="clinic_requ_window__87b85f_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("key", "window_start"), name="one_count_per_window"
                    )
                ],
            },
        ),
    ]
