from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.hostile_input.endpoints import (
    ENDPOINTS_BY_NAME,
)
from tests.hostile_input.harness import (
    Case,
    run_case,
)
from tests.hostile_input.snapshot import (
    snapshot,
)
from tests.hostile_input.world import (
    jpeg_bytes,
)

pytestmark = pytest.mark.django_db

# -- uploads: what is not a photo --------------------------------------------------------------

NOT_PHOTOS = {
    "script-as-jpeg": ("face.jpg", b"<script>alert(1)</script>", "image/jpeg"),
    "svg-with-script": (
        "face.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/svg+xml",
    ),
    "html": ("face.html", b"<html><img src=x onerror=alert(1)></html>", "text/html"),
    "empty": ("face.jpg", b"", "image/jpeg"),
    "truncated-jpeg": ("face.jpg", jpeg_bytes()[:200], "image/jpeg"),
    "passwd-name": ("../../../../etc/passwd", b"root:x:0:0", "text/plain"),
}


@pytest.mark.parametrize("name", NOT_PHOTOS, ids=list(NOT_PHOTOS))
def test_an_upload_that_is_not_a_photo_is_refused_and_nothing_is_stored(
    name, world, clients, private_media
):
    filename, content, content_type = NOT_PHOTOS[name]
    endpoint = ENDPOINTS_BY_NAME["consultations:photo_upload"]
    upload = SimpleUploadedFile(filename, content, content_type=content_type)
    payload = {**endpoint.valid(world), "files": upload}
    files_before = sorted(p.name for p in private_media.rglob("*") if p.is_file())
    problem = run_case(
        clients["practitioner"],
        endpoint,
        endpoint.url(world),
        Case(name, payload, True),
        snapshot(),
    )
    assert not problem, problem
    assert sorted(p.name for p in private_media.rglob("*") if p.is_file()) == files_before


def test_a_photo_with_a_hostile_file_name_is_stored_under_a_name_of_its_own(
    world, clients, private_media
):
    endpoint = ENDPOINTS_BY_NAME["consultations:photo_upload"]
    upload = io.BytesIO(jpeg_bytes())
    upload.name = '<img src=x onerror=alert(1)>"; ../../etc/passwd.jpg'
    response = clients["practitioner"].post(
        endpoint.url(world), {**endpoint.valid(world), "files": upload}
    )
    assert response.status_code == 302
    stored = [p for p in private_media.rglob("*") if p.is_file()]
    assert all(private_media in p.parents for p in stored)
    assert not any("passwd" in p.name or "<" in p.name for p in stored)
