"""Threadline settings: one module, read from the environment.

Development needs nothing set: SQLite in var/, DEBUG on, a throwaway secret.
Production sets DEBUG=0 and a real SECRET_KEY (or SECRET_KEY_FILE); the
security settings then switch on and `manage.py check --deploy` is clean.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from clinic.signing_keys import (
    private_key_from_pem,
    public_key_from_pem,
    public_key_pem,
    read_key_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)


def _read_secret(name: str) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    if path := env.str(f"{name}_FILE", default=""):
        return Path(path).read_text().strip()
    secret: str = env.str(name, default="")
    return secret


SECRET_KEY = _read_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off.")
    # Development only: never used once DEBUG is off.
    SECRET_KEY = "development-only-secret-key-not-for-production-use-threadline"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where staff open Threadline: printed consents carry a link (and QR code) to their
# verification page here. By default the first of ALLOWED_HOSTS over https.
_first_host = ALLOWED_HOSTS[0].lstrip(".") if ALLOWED_HOSTS else ""
SITE_URL = env.str(
    "SITE_URL",
    default="http://127.0.0.1:8000"
    if DEBUG
    else (f"https://{_first_host}" if _first_host not in ("", "*") else ""),
).rstrip("/")
if not SITE_URL:
    raise ImproperlyConfigured(
        "SITE_URL (such as https://clinic.example.org) must be set when ALLOWED_HOSTS "
        "does not name the site."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "simple_history",
    "csp",
    "phonenumber_field",
    "django_tasks",
    "django_tasks_db",
    "clinic",
    "consultations",
    "treatments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # After the password, holds users who need a second factor on its pages.
    "clinic.two_factor.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "clinic.middleware.PrivateCacheMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so it sees a failed login after every other middleware ran.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.navigation.navigation",
            ],
        },
    },
]

# Database ------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'threadline.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock
    # at BEGIN so check-then-insert sequences serialise; the timeout makes a
    # second writer queue instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
    }
    # Tests run on an in-memory database (Django's default): no disk, and one per pytest-xdist
    # worker. The tests that need two writers at once move to a file for their duration (the
    # `sqlite_on_disk` fixture in tests/conftest.py); TEST_SQLITE_PATH names a file for all.
    if test_path := env.str("TEST_SQLITE_PATH", default=""):
        DATABASES["default"]["TEST"] = {"NAME": test_path}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if password := _read_secret("DATABASE_PASSWORD"):
        DATABASES["default"]["PASSWORD"] = password

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Authentication ------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions end: a request renews the session's expiry (at most about once a
# minute, see clinic.idle_sessions), so it lapses after this many minutes without one.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=15)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_ENGINE = "clinic.idle_sessions"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True

# Two-factor sign-in (django-otp: an authenticator app, plus one-time backup
# codes). These roles must use it: practitioners and managers in production,
# nobody in development (the demo accounts sign in with a password alone).
# Anyone may enrol from "Two-factor sign-in"; once enrolled they are always
# asked for a code. Roles: practitioner, manager, front_desk.
_ROLES = {"practitioner", "manager", "front_desk"}
TWO_FACTOR_REQUIRED_ROLES = [
    role.strip()
    for role in env.list(
        "TWO_FACTOR_REQUIRED_ROLES", default=[] if DEBUG else ["practitioner", "manager"]
    )
    if role.strip()
]
if env.bool("TWO_FACTOR_FOR_FRONT_DESK", default=False) and (
    "front_desk" not in TWO_FACTOR_REQUIRED_ROLES
):
    TWO_FACTOR_REQUIRED_ROLES.append("front_desk")
if unknown := set(TWO_FACTOR_REQUIRED_ROLES) - _ROLES:
    raise ImproperlyConfigured(
        f"TWO_FACTOR_REQUIRED_ROLES: unknown role {', '.join(sorted(unknown))} "
        f"(use {', '.join(sorted(_ROLES))})."
    )
# The name authenticator apps show beside the code.
OTP_TOTP_ISSUER = env.str("TWO_FACTOR_ISSUER", default="Threadline")
# The admin never shows a device's secret key or QR code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# django-axes: lock a username from an address after repeated failures.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "clinic.signals.lockout_username"
# Reverse proxies in front of the app servers (clinic.client_address).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "clinic.client_address.client_address"
AXES_VERBOSE = False

# Internationalisation ------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# Static files and private media ---------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]

# Largest photo accepted (consultations.photos); a proxy in front must allow
# at least 20 of these in one request.
PHOTO_MAX_UPLOAD_BYTES = env.int("PHOTO_MAX_UPLOAD_BYTES", default=25 * 1024 * 1024)

# Patient photos and signed documents: never under STATIC_ROOT, never served
# by the web server, only through authorised views.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=VAR_DIR / "media")

# Where photos and signatures live: "local" (PRIVATE_MEDIA_ROOT, the default) or "s3"
# (any S3-compatible object store, private bucket, files served only through our views).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE == "s3":
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
            "region_name": env.str("S3_REGION", default=None),
            "access_key": _read_secret("S3_ACCESS_KEY") or None,
            "secret_key": _read_secret("S3_SECRET_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            "location": env.str("S3_PREFIX", default="threadline"),
        },
    }
elif MEDIA_STORAGE == "local":
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    }
else:
    raise ImproperlyConfigured("MEDIA_STORAGE must be local or s3.")

STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "clinic.staticfiles.HashedStaticFilesStorage"
        )
    },
}

# Phone numbers are stored in E.164; forms parse them as typed at the
# user's location (see consultations.forms).
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_REGION = env.str("PHONE_REGION", default="GB")

# Consent signatures ----------------------------------------------------------

# Every signed consent is sealed with an Ed25519 key kept outside the database
# (clinic.signing_keys says why and how keys rotate). Make one with
#     python -m clinic.signing_keys > consent_signing_key.pem
# With DEBUG on and none set, a development key is made in var/ on first use.
if _key_file := env.str("CONSENT_SIGNING_KEY_FILE", default=""):
    CONSENT_SIGNING_KEY = read_key_file(_key_file, source="CONSENT_SIGNING_KEY_FILE")
else:
    CONSENT_SIGNING_KEY = env.str("CONSENT_SIGNING_KEY", default="", multiline=True)
if CONSENT_SIGNING_KEY:
    private_key_from_pem(CONSENT_SIGNING_KEY, source="CONSENT_SIGNING_KEY")
elif not DEBUG:
    raise ImproperlyConfigured(
        "CONSENT_SIGNING_KEY (or CONSENT_SIGNING_KEY_FILE) must be set when DEBUG is off: "
        "signed consents cannot be sealed without it."
    )
CONSENT_DEVELOPMENT_KEY_FILE = VAR_DIR / "consent-signing-key.pem"
# The public halves of earlier signing keys, so consents they sealed still verify.
CONSENT_RETIRED_PUBLIC_KEYS = [
    public_key_pem(
        public_key_from_pem(
            read_key_file(path, source="CONSENT_RETIRED_PUBLIC_KEY_FILES"),
            source=f"CONSENT_RETIRED_PUBLIC_KEY_FILES ({path})",
        )
    )
    for path in env.list("CONSENT_RETIRED_PUBLIC_KEY_FILES", default=[])
]

# Clinical rules ------------------------------------------------------------

# A treatment plan needs a screening at most this many days old.
SCREENING_VALID_DAYS = env.int("SCREENING_VALID_DAYS", default=90)

# Forms ---------------------------------------------------------------------

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email ---------------------------------------------------------------------

# EMAIL_URL such as smtp+tls://user:password@mail.example.org:587; the
# console backend by default prints messages instead of sending them.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="threadline@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Text messages (clinic.text_messages) -----------------------------------------

# "console" logs each text (development), "locmem" keeps them in a list (tests),
# "http" posts them to a provider, "disabled" refuses them. With DEBUG off the
# default is "disabled": a clinic that configured no provider sees its texts
# refused (in the log and each reminder's result), never silently dropped.
TEXT_MESSAGE_BACKEND = env.str("TEXT_MESSAGE_BACKEND", default="console" if DEBUG else "disabled")
TEXT_MESSAGE_HTTP_URL = env.str("TEXT_MESSAGE_HTTP_URL", default="")
TEXT_MESSAGE_HTTP_TOKEN = _read_secret("TEXT_MESSAGE_HTTP_TOKEN")
TEXT_MESSAGE_SENDER = env.str("TEXT_MESSAGE_SENDER", default="")
TEXT_MESSAGE_HTTP_TIMEOUT = env.float("TEXT_MESSAGE_HTTP_TIMEOUT", default=10.0)
if TEXT_MESSAGE_BACKEND not in {"console", "locmem", "http", "disabled"}:
    raise ImproperlyConfigured(
        "TEXT_MESSAGE_BACKEND must be one of console, locmem, http, disabled."
    )
if TEXT_MESSAGE_BACKEND == "http":
    _missing = [
        name
        for name, value in [
            ("TEXT_MESSAGE_HTTP_URL", TEXT_MESSAGE_HTTP_URL),
            ("TEXT_MESSAGE_HTTP_TOKEN", TEXT_MESSAGE_HTTP_TOKEN),
            ("TEXT_MESSAGE_SENDER", TEXT_MESSAGE_SENDER),
        ]
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(
            f"TEXT_MESSAGE_BACKEND=http needs {', '.join(_missing)} to be set."
        )
    # The token travels in a header: only over TLS, except to this machine.
    _provider = urlsplit(TEXT_MESSAGE_HTTP_URL)
    if not (
        _provider.scheme == "https"
        or (_provider.scheme == "http" and _provider.hostname in {"127.0.0.1", "localhost", "::1"})
    ):
        raise ImproperlyConfigured("TEXT_MESSAGE_HTTP_URL must be an https:// address.")
if TEXT_MESSAGE_HTTP_TIMEOUT <= 0:
    raise ImproperlyConfigured("TEXT_MESSAGE_HTTP_TIMEOUT must be a positive number of seconds.")

# Background tasks (django-tasks) ---------------------------------------------

# Appointment reminders are background tasks. "immediate" runs a task at once in
# the web process (development: a reminder is printed to the console as soon as
# the appointment is booked). "database" keeps tasks in the database until they
# are due; production runs the worker beside the web servers, as many as wanted:
#     python manage.py db_worker --no-reload
_TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
TASKS_BACKEND = env.str("TASKS_BACKEND", default="immediate" if DEBUG else "database")
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}
# How long before an appointment its reminder (email, text) goes out.
REMINDER_HOURS_BEFORE = env.int("REMINDER_HOURS_BEFORE", default=24)
# Inside this many hours of the start a patient may no longer cancel or move from their
# booking link: the page asks them to call, so the desk can offer the slot to someone else.
PATIENT_CANCEL_NOTICE_HOURS = env.int("PATIENT_CANCEL_NOTICE_HOURS", default=24)
if not 0 <= PATIENT_CANCEL_NOTICE_HOURS <= 14 * 24:
    raise ImproperlyConfigured("PATIENT_CANCEL_NOTICE_HOURS must be between 0 and 336.")
# How long a link sent to a patient (a form, the consent to read) keeps working.
PATIENT_LINK_DAYS = env.int("PATIENT_LINK_DAYS", default=7)
if not 1 <= PATIENT_LINK_DAYS <= 90:
    raise ImproperlyConfigured("PATIENT_LINK_DAYS must be between 1 and 90.")
# Online booking (a location's public page, when the manager turns it on): how long a
# chosen slot is held while the patient types their details. Holds past their time are
# freed by any booking that meets them and by `python manage.py release_online_holds`
# (run it every few minutes beside the worker).
ONLINE_BOOKING_HOLD_MINUTES = env.int("ONLINE_BOOKING_HOLD_MINUTES", default=10)
if not 1 <= ONLINE_BOOKING_HOLD_MINUTES <= 60:
    raise ImproperlyConfigured("ONLINE_BOOKING_HOLD_MINUTES must be between 1 and 60.")

# Security headers ----------------------------------------------------------

# No inline script or style anywhere: every script and stylesheet is a file
# under static/, so the policy can stay this strict.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # Off only for a plain-HTTP load test on loopback (make loadtest).
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Logging: one record per line on stdout, for the process manager to collect.
# LOG_FORMAT=json (the production default) writes one JSON object per line.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "level": env.str("LOG_LEVEL", default="INFO"),
        }
    },
    "root": {"handlers": ["stdout"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "weasyprint": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
