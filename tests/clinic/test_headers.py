import re
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client, frontdesk_user):
    client.force_login(frontdesk_user)
    response = client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_are_never_cached(client, frontdesk_user):
    client.force_login(frontdesk_user)
    assert "no-store" in client.get(reverse("home"))["Cache-Control"]


def test_templates_have_no_inline_scripts_and_load_nothing_from_the_network():
    for template in TEMPLATES.rglob("*.html"):
        source = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template
        assert not re.search(r"\s(on[a-z]+)=", source), template
        assert not re.search(r'(src|href)="(https?:)?//', source), template


def test_session_and_csrf_cookies_are_samesite_and_http_only(client, frontdesk_user, settings):
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_HTTPONLY is True
    response = client.post(reverse("login"), {"username": "desk", "password": "x"})
    assert response.status_code == 200
    csrf = response.cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"
