"""A backup restored into a fresh database has the same patients, consents and photos."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from clinic.actors import Actor
from tests.recipes import accept, build_clinic, sign

BASE_DIR = Path(__file__).resolve().parents[2]

CHECK_SCRIPT = """
import django
django.setup()
from consultations.models import Patient, PatientPhoto
from treatments.models import SignedConsent
from treatments.services.consent import verify_consent
consents = list(SignedConsent.objects.all())
photos = list(PatientPhoto.objects.all())
print(sorted(Patient.objects.values_list("record_number", flat=True)))
print([verify_consent(c) for c in consents])
print([p.image.storage.exists(p.image.name) for p in photos])
"""


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


@pytest.fixture
def fresh_database(tmp_path):
    """An empty database of the same kind, named for this test, dropped afterwards."""
    if connection.vendor == "postgresql":
        name = f"threadline_restore_{uuid.uuid4().hex[:8]}"
        settings = connection.settings_dict
        base = ["-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)]
        base += ["-U", settings["USER"] or "postgres"]
        subprocess.run(["createdb", *base, name], check=True)
        host = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
        yield f"postgres://{settings['USER'] or 'postgres'}@{host}/{name}"
        subprocess.run(["dropdb", *base, "--if-exists", name], check=True)
    else:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_has_the_same_patients_consents_and_photos(
    clinic,
    private_media,
    tmp_path,
    fresh_database,
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from consultations import services as consultation_services
    from consultations.demo_photos import demo_photo_jpeg
    from consultations.models import Patient

    sign(clinic, accept(clinic))
    consultation_services.add_patient_photos(
        patient=clinic["patient"],
        files=[
            SimpleUploadedFile("a.jpg", demo_photo_jpeg(seed=3, view="frontal", stage="baseline"))
        ],
        view="frontal",
        stage="baseline",
        taken_on=timezone.localdate(),
        actor=Actor.system(user=clinic["doctor"].user),
    )
    expected = sorted(Patient.objects.values_list("record_number", flat=True))

    call_command("backup", str(tmp_path / "backups"))
    (backup,) = (tmp_path / "backups").iterdir()

    restored_media = tmp_path / "restored-media"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": fresh_database,
        "PRIVATE_MEDIA_ROOT": str(restored_media),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage = [sys.executable, "manage.py"]
    if connection.vendor == "postgresql":
        subprocess.run([*manage, "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
    restore = subprocess.run(
        [*manage, "restore", str(backup), "--yes"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert restore.returncode == 0, restore.stderr[-2000:]
    check = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    lines = check.stdout.splitlines()
    assert lines == [str(expected), "[True]", "[True]"], check.stderr[-2000:]


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a Threadline backup"):
        call_command("restore", str(tmp_path), "--yes")
