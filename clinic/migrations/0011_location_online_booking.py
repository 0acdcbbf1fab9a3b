"""A location may open a public page where patients book a consultation online (off by default)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0010_request_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicallocation",
            name="online_booking",
            field=models.BooleanField(
                default=False,
                help_text="Patients may book a consultation on this location's public booking page (/book/<number>/). Off: the page does not exist.",
                verbose_name="online booking",
            ),
        ),
        migrations.AddField(
            model_name="location",
            name="online_booking",
            field=models.BooleanField(
                default=False,
                help_text="Patients may book a consultation on this location's public booking page (/book/<number>/). Off: the page does not exist.",
                verbose_name="online booking",
            ),
        ),
    ]
