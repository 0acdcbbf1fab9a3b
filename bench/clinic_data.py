"""The data every benchmark runs on: the large clinic, seeded once per database."""

from django.contrib.auth import get_user_model
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.locations import SESSION_KEY
from clinic.models import Location
from clinic.site.large_clinic import seed_large_clinic
from consultations.models import Patient


def ensure_large_clinic() -> None:
    """Seed the large clinic into an empty database (a few minutes, once)."""
    if not Patient.objects.exists():
        print("seeding the large clinic (once per database)…", flush=True)
        seed_large_clinic()


def signed_in(username: str, location: Location | None = None) -> Client:
    """A client signed in as a seeded user, second factor verified, working at `location`."""
    user = get_user_model().objects.get(username=username)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    if location is not None:
        session[SESSION_KEY] = location.pk
    session.save()
    return client
