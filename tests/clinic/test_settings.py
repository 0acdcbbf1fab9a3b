import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clinic.signing_keys import new_private_key_pem, private_key_from_pem, public_key_pem

BASE_DIR = Path(__file__).resolve().parents[2]


def run_manage(*args, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean_env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "CONSENT_SIGNING_KEY",
            "CONSENT_SIGNING_KEY_FILE",
            "CONSENT_RETIRED_PUBLIC_KEY_FILES",
        )
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "clinic.example.org",
    "DATABASE_URL": "postgres://threadline@db.internal:5432/threadline",
    "CONSENT_SIGNING_KEY": new_private_key_pem(),
}


def test_check_deploy_reports_nothing_under_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off." in result.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50) + "\n")
    env = {**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(key_file)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr


def the_one_line(result: subprocess.CompletedProcess) -> str:
    """What the operator reads: the last line of the refusal."""
    return result.stderr.strip().splitlines()[-1]


def test_production_refuses_to_start_without_a_consent_signing_key():
    result = run_manage("check", env={**PRODUCTION, "CONSENT_SIGNING_KEY": ""})
    assert result.returncode != 0
    assert the_one_line(result) == (
        "django.core.exceptions.ImproperlyConfigured: CONSENT_SIGNING_KEY (or "
        "CONSENT_SIGNING_KEY_FILE) must be set when DEBUG is off: signed consents cannot be "
        "sealed without it."
    )


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("not a key at all", "CONSENT_SIGNING_KEY is not a readable, unencrypted PEM private key"),
        (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode(),
            "CONSENT_SIGNING_KEY must be an Ed25519 private key.",
        ),
        (
            public_key_pem(private_key_from_pem(new_private_key_pem(), source="").public_key()),
            "CONSENT_SIGNING_KEY is not a readable, unencrypted PEM private key",
        ),
    ],
    ids=["garbage", "rsa-key", "public-key"],
)
def test_production_refuses_to_start_with_a_wrong_consent_signing_key(key, says):
    result = run_manage("check", env={**PRODUCTION, "CONSENT_SIGNING_KEY": key})
    assert result.returncode != 0
    assert says in the_one_line(result)


def test_production_refuses_to_start_with_an_unreadable_consent_key_file(tmp_path):
    missing = tmp_path / "no-such-key.pem"
    env = {**PRODUCTION, "CONSENT_SIGNING_KEY": "", "CONSENT_SIGNING_KEY_FILE": str(missing)}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert f"CONSENT_SIGNING_KEY_FILE: cannot read {missing}" in the_one_line(result)


def test_the_consent_key_and_retired_public_keys_come_from_files(tmp_path):
    key_file, old_public = tmp_path / "consent.pem", tmp_path / "old-consent.pub.pem"
    key_file.write_text(new_private_key_pem())
    old_key = private_key_from_pem(new_private_key_pem(), source="")
    old_public.write_text(public_key_pem(old_key.public_key()))
    env = {
        **PRODUCTION,
        "CONSENT_SIGNING_KEY": "",
        "CONSENT_SIGNING_KEY_FILE": str(key_file),
        "CONSENT_RETIRED_PUBLIC_KEY_FILES": str(old_public),
    }
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    old_public.write_text("garbage")
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "CONSENT_RETIRED_PUBLIC_KEY_FILES" in the_one_line(result)


SQLITE_CONCURRENCY_SCRIPT = """
import threading, django
django.setup()
from django.db import connection, transaction
from clinic.models import Location

print(connection.cursor().execute("PRAGMA journal_mode").fetchone()[0])
errors, barrier = [], threading.Barrier(6)

def write(n):
    barrier.wait()
    try:
        with transaction.atomic():
            count = Location.objects.count()
            Location.objects.create(
                name=f"Site {n} after {count}", address="-", phone="-", emergency_phone="-"
            )
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()

threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
for t in threads: t.start()
for t in threads: t.join()
print(Location.objects.count(), errors)
"""


def test_sqlite_runs_in_wal_mode_and_queues_concurrent_writers(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'threadline.sqlite3'}"}
    assert run_manage("migrate", "-v0", env=env).returncode == 0
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_CONCURRENCY_SCRIPT],
        cwd=BASE_DIR,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ["wal", "6", "[]"], result.stderr[-2000:]


def test_static_files_collect_under_production_settings(tmp_path):
    env = {**PRODUCTION, "STATIC_ROOT": str(tmp_path / "static")}
    result = run_manage("collectstatic", "--noinput", "-v0", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/htmx/htmx.min.js" in manifest
    assert list((tmp_path / "static" / "vendor" / "htmx").glob("htmx.min.*.js.gz"))


def test_production_logs_are_json_lines_on_stdout():
    import json

    script = "import logging, django; django.setup(); logging.getLogger('threadline').warning('hi')"
    clean_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**clean_env, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert (record["level"], record["logger"], record["message"]) == ("WARNING", "threadline", "hi")


def test_media_storage_can_be_s3_compatible_object_storage():
    script = (
        "import django; django.setup(); from django.core.files.storage import storages;"
        "s = storages['default']; print(type(s).__name__, s.bucket_name, s.default_acl)"
    )
    env = {
        **PRODUCTION,
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": "clinic-photos",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
    }
    clean_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["S3Storage", "clinic-photos", "private"], result.stderr[-2000:]
