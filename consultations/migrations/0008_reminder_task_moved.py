"""Reminders moved into the booking package: queued reminder tasks follow them.

A reminder waiting in the task queue names the function it will run by its
import path. consultations/reminders.py is now consultations/booking/reminders.py,
so reminders already queued must name the new path, or they would fail to run.
"""

from django.db import migrations

OLD_PATH = "consultations.reminders.send_appointment_reminder"
NEW_PATH = "consultations.booking.reminders.send_appointment_reminder"


def follow_the_move(apps, schema_editor):
    tasks = apps.get_model("django_tasks_database", "DBTaskResult")
    tasks.objects.filter(task_path=OLD_PATH).update(task_path=NEW_PATH)


def move_back(apps, schema_editor):
    tasks = apps.get_model("django_tasks_database", "DBTaskResult")
    tasks.objects.filter(task_path=NEW_PATH).update(task_path=OLD_PATH)


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0007_erasure_request"),
        (
            "django_tasks_database",
            "0019_rename_django_task_new_ordering_idx_tasks_db_new_ordering_idx_and_more",
        ),
    ]

    operations = [migrations.RunPython(follow_the_move, move_back)]
