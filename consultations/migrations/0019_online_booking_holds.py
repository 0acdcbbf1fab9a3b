"""Online booking: a slot held for a patient booking online, and the desk's matches.

An appointment may be "held" with no patient while the patient gives their details;
the hold ends at hold_expires_at (none: the desk is matching the patient), and an
ended hold stays, cancelled, with no patient. The PostgreSQL exclusion constraints of
0005 count held rows (only cancelled and no-show free a slot), so nobody books over a
live hold. A check constraint allows a missing patient on such rows only.
OnlineBookingRequest keeps the details of an online booking that matches an existing
patient until the desk decides.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0011_location_online_booking"),
        ("consultations", "0018_appointment_patient_answers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OnlineBookingRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "details",
                    models.JSONField(
                        help_text="What the patient typed: names, birth date, contact."
                    ),
                ),
                (
                    "submitted_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["submitted_at", "pk"],
            },
        ),
        migrations.AddField(
            model_name="appointment",
            name="hold_expires_at",
            field=models.DateTimeField(
                blank=True,
                help_text="For an online hold: when it lets the slot go (empty: the desk decides).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalappointment",
            name="hold_expires_at",
            field=models.DateTimeField(
                blank=True,
                help_text="For an online hold: when it lets the slot go (empty: the desk decides).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="appointment",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="appointments",
                to="consultations.patient",
            ),
        ),
        migrations.AlterField(
            model_name="appointment",
            name="status",
            field=models.CharField(
                choices=[
                    ("booked", "Booked"),
                    ("arrived", "Arrived"),
                    ("in_progress", "In progress"),
                    ("completed", "Completed"),
                    ("cancelled", "Cancelled"),
                    ("no_show", "No-show"),
                    ("held", "Held for an online booking"),
                ],
                default="booked",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="appointmentstatuschange",
            name="from_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("booked", "Booked"),
                    ("arrived", "Arrived"),
                    ("in_progress", "In progress"),
                    ("completed", "Completed"),
                    ("cancelled", "Cancelled"),
                    ("no_show", "No-show"),
                    ("held", "Held for an online booking"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="appointmentstatuschange",
            name="to_status",
            field=models.CharField(
                choices=[
                    ("booked", "Booked"),
                    ("arrived", "Arrived"),
                    ("in_progress", "In progress"),
                    ("completed", "Completed"),
                    ("cancelled", "Cancelled"),
                    ("no_show", "No-show"),
                    ("held", "Held for an online booking"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="historicalappointment",
            name="status",
            field=models.CharField(
                choices=[
                    ("booked", "Booked"),
                    ("arrived", "Arrived"),
                    ("in_progress", "In progress"),
                    ("completed", "Completed"),
                    ("cancelled", "Cancelled"),
                    ("no_show", "No-show"),
                    ("held", "Held for an online booking"),
                ],
                default="booked",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.CheckConstraint(
                condition=models.Q(patient__isnull=False)
                | models.Q(status="held")
                | models.Q(status="cancelled", hold_expires_at__isnull=False),
                name="appointment_patient_unless_held",
            ),
        ),
        migrations.AddField(
            model_name="onlinebookingrequest",
            name="appointment",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="online_request",
                to="consultations.appointment",
            ),
        ),
        migrations.AddField(
            model_name="onlinebookingrequest",
            name="candidates",
            field=models.ManyToManyField(blank=True, related_name="+", to="consultations.patient"),
        ),
        migrations.AddField(
            model_name="onlinebookingrequest",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="onlinebookingrequest",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                help_text="Who the desk booked it for: a matching patient or a newly registered one.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="online_booking_requests",
                to="consultations.patient",
            ),
        ),
    ]
