import subprocess
import sys
from pathlib import Path

import pytest

from clinic.signing_keys import new_private_key_pem

BASE_DIR = Path(__file__).resolve().parents[2]

OUTAGE_SCRIPT = """
import django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "a-signed-in-session"  # loading it needs the database
response = client.get("/patients/", HTTP_HOST="clinic.example.org", secure=True)
print(response.status_code, response.get("Retry-After"))
print(response.content.decode())
"""


@pytest.mark.parametrize(
    "database_url",
    ["postgres://postgres@127.0.0.1:1/threadline_nowhere", "sqlite:////nonexistent-dir/x.sqlite3"],
)
def test_pages_answer_a_clear_503_when_the_database_is_down(database_url):
    env = {
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60,
        "CONSENT_SIGNING_KEY": new_private_key_pem(),
        "ALLOWED_HOSTS": "clinic.example.org",
        "PATH": "/usr/bin:/bin",
        "LOG_LEVEL": "CRITICAL",
    }
    result = subprocess.run(
        [sys.executable, "-c", OUTAGE_SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    first_line, _, body = result.stdout.partition("\n")
    assert first_line == "503 30", result.stderr[-2000:]
    assert "Threadline is temporarily unavailable" in body
    assert "Nothing you entered has been half-saved" in body
    assert "Traceback" not in body
