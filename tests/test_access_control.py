"""Who may open what: every URL pattern the project defines, for every role, from one table.

The URL walk reads `django.urls.get_resolver()` when the tests are collected,
so a view added tomorrow is walked tomorrow: it fails
`test_the_table_names_every_url_pattern` (and its own walk test) until a line
for it is added to EXPECTED. Each URL is opened as anonymous, front desk,
practitioner and manager against a real clinic journey (tests/access_fixtures.py),
so views that take ids reach their object rather than answering 404.

For every refusal (403, or a redirect to the sign-in page) the body must carry
nothing about the patient and no image; every 403 must be audited and name the
role needed; a POST with an empty body from a refused role must be refused too
and change nothing in the database. The front desk never sees clinical text.

The second half checks objects addressed by id against the user's locations
(another location's appointments, plans, consents, sessions and stock lots, in
page and document URLs and in JSON bodies; a closed location's even for
managers) and forms tampered with to attach another patient's photo, another
session's lot, another location's lot, room or review appointment. The rule
itself is written once, in clinic.access and each model's `for_user`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import NoReverseMatch, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone
from django.utils.regex_helper import normalize

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Location, Role
from clinic.roles import group_name
from consultations.booking import online
from consultations.booking import services as booking
from consultations.models import (
    Appointment,
    AppointmentKind,
    AppointmentType,
    Consultation,
    PatientPhoto,
    PhotographyConsent,
)
from consultations.views.online_booking import hold_reference
from tests import recipes
from tests.access_fixtures import (
    World,
    accepted_plan,
    book_treatment,
    build_world,
    practitioner_at,
    sign_consent,
)
from tests.clock import stop_kept, travels_kept
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    StaffMemberFactory,
    UserFactory,
)
from tests.recipes import LOCAL_LIDOCAINE_FORM, iter_patterns, receive, sample_path
from treatments.models import (
    AdverseEvent,
    LotRecall,
    Outcome,
    PlacedThreads,
    StockLot,
    TreatmentSession,
)
from treatments.services import plans as plan_services
from treatments.services import recalls as recall_services

# Outcomes -----------------------------------------------------------------------------

LOGIN = "login"  # a redirect to the sign-in page (directly, or through the admin's login)
ANY = "any"  # whatever the page answers, as long as it is not a server error
ROLES = ("anonymous", "front_desk", "practitioner", "manager")
REFUSED = {LOGIN, 403}


def row(anonymous, front_desk, practitioner, manager, *, post_refused=()):
    """One URL's GET outcome per role.

    `post_refused`: roles that may open the page but whose POST must be refused (403).
    Roles refused the GET (login/403) are always also sent an empty POST, which must
    be refused the same way and change nothing.
    """
    return {
        "anonymous": anonymous,
        "front_desk": front_desk,
        "practitioner": practitioner,
        "manager": manager,
        "post_refused": tuple(post_refused),
    }


# The table: one line per URL name, grouped by app. Columns: anonymous, front desk,
# practitioner, manager. 405 = POST-only, open to that role (the GET is refused by method).
EXPECTED = {
    # clinic ---------------------------------------------------------------------------
    "audit_trail": row(LOGIN, 403, 403, 200),
    "choose_location": row(LOGIN, 405, 405, 405),
    "healthz": row(200, 200, 200, 200),
    "home": row(LOGIN, 200, 200, 200),
    "keepalive": row(LOGIN, 204, 204, 204),
    "staff_list": row(LOGIN, 403, 403, 200),
    "staff_reset_two_factor": row(LOGIN, 403, 403, 405),
    "two_factor_backup_codes": row(LOGIN, 302, 302, 302),  # no fresh codes: back home
    "two_factor_new_backup_codes": row(LOGIN, 405, 405, 405),
    "two_factor_settings": row(LOGIN, 200, 200, 200),
    "two_factor_setup": row(LOGIN, 200, 200, 200),
    "two_factor_verify": row(LOGIN, 302, 302, 302),  # no second factor owed: back home
    # accounts (django.contrib.auth) ------------------------------------------------------
    "admin_login_redirect": row(LOGIN, LOGIN, LOGIN, LOGIN),
    "login": row(200, 200, 200, 200),
    "logout": row(LOGIN, 405, 405, 405),
    "password_change": row(LOGIN, 200, 200, 200),
    "password_change_done": row(LOGIN, 200, 200, 200),
    "password_reset": row(200, 200, 200, 200),
    "password_reset_complete": row(200, 200, 200, 200),
    "password_reset_confirm": row(200, 200, 200, 200),
    "password_reset_done": row(200, 200, 200, 200),
    # consultations --------------------------------------------------------------------
    "consultations:appointment_book": row(LOGIN, 200, 200, 200),
    "consultations:appointment_detail": row(LOGIN, 200, 200, 200),
    "consultations:appointment_ics": row(LOGIN, 200, 200, 200),
    "consultations:appointment_move": row(LOGIN, 405, 405, 405),
    "consultations:appointment_patient_lookup": row(LOGIN, 200, 200, 200),
    "consultations:appointment_reschedule": row(LOGIN, 200, 200, 200),
    "consultations:appointment_status": row(LOGIN, 405, 405, 405),
    "consultations:appointment_undo": row(LOGIN, 405, 405, 405),
    "consultations:calendar_day": row(LOGIN, 200, 200, 200),
    "consultations:calendar_feed": row(200, 200, 200, 200),  # the secret token is the key
    "consultations:calendar_feed_settings": row(LOGIN, 403, 200, 403),
    # A patient's link: the token is the key, the same page for anyone holding it (the
    # world's is a medical-history link: opening it shows the form; a GET never uses it).
    "consultations:patient_link": row(200, 200, 200, 200),
    "consultations:send_visit_forms": row(LOGIN, 405, 405, 405),
    "consultations:history_review": row(LOGIN, 403, 405, 403),
    "consultations:online_request": row(LOGIN, 200, 200, 200),
    "consultations:patient_link_revoke": row(LOGIN, 405, 405, 405),
    "consultations:calendar_week": row(LOGIN, 200, 200, 200),
    "consultations:consultation_detail": row(LOGIN, 403, 200, 200, post_refused=["manager"]),
    "consultations:consultation_for_appointment": row(LOGIN, 403, 405, 403),
    "consultations:consultation_start": row(LOGIN, 403, 405, 403),
    "consultations:day_list": row(LOGIN, 200, 200, 200),
    "consultations:intake_done": row(LOGIN, 200, 200, 200),
    "consultations:intake_form": row(LOGIN, 200, 200, 200),
    "consultations:medical_history_detail": row(LOGIN, 403, 200, 200),
    "consultations:medical_history_list": row(LOGIN, 403, 200, 200),
    "consultations:patient_archive": row(LOGIN, 403, 403, 405),
    "consultations:patient_chart": row(LOGIN, 200, 200, 200),
    "consultations:patient_create": row(LOGIN, 200, 200, 200),
    "consultations:patient_edit": row(LOGIN, 200, 200, 200),
    "records:patient_erasure": row(LOGIN, 403, 403, 200),
    "records:patient_export": row(LOGIN, 403, 403, 200),
    "consultations:patient_list": row(LOGIN, 200, 200, 200),
    "consultations:patient_restore": row(LOGIN, 403, 403, 405),
    "consultations:patient_search": row(LOGIN, 200, 200, 200),
    "consultations:photo_compare": row(LOGIN, 403, 200, 200),
    "consultations:photo_image": row(LOGIN, 403, 200, 200),
    "consultations:photo_list": row(LOGIN, 403, 200, 200),
    "consultations:photo_thumbnail": row(LOGIN, 403, 200, 200),
    "consultations:photo_upload": row(LOGIN, 403, 405, 403),
    "consultations:photo_release": row(LOGIN, 403, 405, 403),
    "consultations:photography_consent_record": row(LOGIN, 403, 405, 403),
    "consultations:photography_consent_withdraw": row(LOGIN, 403, 405, 403),
    "consultations:screening_decide": row(LOGIN, 403, 405, 403),
    "consultations:screening_detail": row(LOGIN, 403, 200, 200),
    "consultations:screening_new": row(LOGIN, 403, 200, 403),
    "consultations:screening_pdf": row(LOGIN, 403, 200, 200),
    # online booking: the public pages, open to anyone where the location takes bookings
    "online_booking:start": row(200, 200, 200, 200),
    "online_booking:times": row(400, 400, 400, 400),  # without the questions' pass
    "online_booking:hold": row(405, 405, 405, 405),
    "online_booking:details": row(200, 200, 200, 200),  # the hold's signed reference
    "online_booking:booked": row(302, 302, 302, 302),  # not booked yet: back to the details
    # treatments -----------------------------------------------------------------------
    "treatments:adverse_event_new": row(LOGIN, 403, 200, 403),
    "treatments:adverse_event_edit": row(LOGIN, 403, 200, 403),
    "treatments:check_in_adverse_event": row(LOGIN, 403, 405, 403),
    "treatments:check_in_handled": row(LOGIN, 403, 405, 403),
    "treatments:adverse_event_pdf": row(LOGIN, 403, 200, 200),
    "treatments:adverse_event_report": row(LOGIN, 403, 403, 200),
    "treatments:aftercare_day_pdf": row(LOGIN, 200, 200, 200),
    "treatments:aftercare_pdf": row(LOGIN, 200, 200, 200),  # the desk reprints a sheet
    "treatments:consent_detail": row(LOGIN, 403, 200, 200),
    "treatments:consent_pdf": row(LOGIN, 403, 200, 200),
    "treatments:consent_sign": row(LOGIN, 403, 200, 403),
    "treatments:consent_reading_send": row(LOGIN, 403, 405, 403),
    "treatments:consent_verify": row(LOGIN, 403, 200, 200),
    "treatments:consent_verify_form": row(LOGIN, 403, 200, 200),
    "treatments:consent_withdraw": row(LOGIN, 403, 405, 403),
    "treatments:lot_trace": row(LOGIN, 403, 403, 200),
    "treatments:lot_detail": row(LOGIN, 403, 403, 200),
    "treatments:lot_status": row(LOGIN, 403, 403, 405),
    "treatments:recall_open": row(LOGIN, 403, 403, 405),
    "treatments:recall_detail": row(LOGIN, 403, 403, 200),
    "treatments:recall_contact": row(LOGIN, 403, 403, 405),
    "treatments:recall_notify": row(LOGIN, 403, 403, 405),
    "treatments:recall_close": row(LOGIN, 403, 403, 405),
    "treatments:recall_csv": row(LOGIN, 403, 403, 200),
    "treatments:outcome_new": row(LOGIN, 403, 200, 403),
    "treatments:plan_calibrate": row(LOGIN, 403, 405, 403),
    "treatments:plan_list": row(LOGIN, 403, 200, 200, post_refused=["manager"]),
    "treatments:plan_pdf": row(LOGIN, 403, 200, 200),
    "treatments:plan_revise": row(LOGIN, 403, 405, 403),
    "treatments:plan_save": row(LOGIN, 403, 405, 403),
    "treatments:plan_status": row(LOGIN, 403, 405, 403),
    "treatments:planner": row(LOGIN, 403, 200, 200),
    "treatments:receive_lot": row(LOGIN, 403, 403, 200),
    "treatments:retreatment_recall": row(LOGIN, 200, 200, 200),
    "treatments:session_addendum": row(LOGIN, 403, 405, 403),
    "treatments:session_complete": row(LOGIN, 403, 405, 403),
    "treatments:session_detail": row(LOGIN, 403, 200, 200),
    # The check of an appointment that already has its session opens that session.
    "treatments:session_start": row(LOGIN, 403, 302, 403),
    "treatments:stock_overview": row(LOGIN, 403, 403, 200),
    # admin: one rule for every admin URL (named "admin:…", or unnamed under /admin/):
    # refused to all but managers (redirect to the sign-in page, or 403); the manager's
    # answer depends on the model's permissions, so only the index is pinned down.
    "admin:*": row(LOGIN, LOGIN, LOGIN, ANY),
    "admin:index": row(LOGIN, LOGIN, LOGIN, 200),
    # Managers keep settings there, but never accounts, roles (groups), sign-in devices
    # or the audit trail (read-only):
    "admin:auth_group_change": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:auth_group_changelist": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:auth_user_add": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:auth_user_change": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:auth_user_changelist": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:auth_user_password_change": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:clinic_auditevent_change": row(LOGIN, LOGIN, LOGIN, 200, post_refused=["manager"]),
    "admin:clinic_auditevent_delete": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:otp_static_staticdevice_changelist": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:otp_totp_totpdevice_changelist": row(LOGIN, LOGIN, LOGIN, 403),
    # Another user's authenticator secret (its QR code): not even for managers.
    "admin:otp_totp_totpdevice_config": row(LOGIN, LOGIN, LOGIN, 403),
    "admin:otp_totp_totpdevice_qrcode": row(LOGIN, LOGIN, LOGIN, 403),
}

ADMIN_RULE = "admin:*"


# Which object each URL's arguments name, in the world (tests/access_fixtures.py).
def _pk(attribute: str):
    return lambda world: {"pk": getattr(world, attribute).pk}


def practitioners_group() -> Group:
    return Group.objects.get(name=group_name(Role.PRACTITIONER))


def world_recall(world: World) -> LotRecall:
    """A recall at the world's location, of a lot of its own (the world's lot stays usable)."""
    recall = LotRecall.objects.filter(lot__location=world.location).first()
    if recall is None:
        lot = receive(world.product, world.location, "LOT-RECALLED", by=None)
        recall = recall_services.open_recall(
            lot=lot,
            reason="Manufacturer's notice",
            announced_on=timezone.localdate(timezone=world.location.zone),
            actor=Actor.system(),
        )
    return recall


def patient_audit_event(world: World) -> AuditEvent:
    return AuditEvent.objects.filter(patient_id=world.patient.pk).earliest("pk")


def online_location(world: World):
    """The world's location, taking consultations online."""
    # Written each time: the world may outlive a rolled-back test.
    Location.objects.filter(pk=world.location.pk).update(online_booking=True)
    world.location.online_booking = True
    return world.location


def online_hold(world: World) -> Appointment:
    """A slot held online at the world's location (its first free consultation time)."""
    location = online_location(world)
    consultation = AppointmentTypeFactory(
        name=f"Online consultation {AppointmentType.objects.count()}",
        kind=AppointmentKind.CONSULTATION,
        needs_room=False,
    )
    slot = booking.next_free_slots(
        appointment_type=consultation, location=location, practitioner=world.doctor, limit=1
    )[0]
    return booking.hold_slot(
        location=location,
        appointment_type=consultation,
        practitioner=world.doctor,
        starts_at=slot.starts_at,
        actor=Actor(user=None),
    )


def online_reference(world: World) -> dict:
    hold = online_hold(world)
    return {"location_id": hold.location_id, "reference": hold_reference(hold)}


def online_request(world: World) -> dict:
    """An online booking whose email is the world patient's: waiting for the desk."""
    details = {
        "first_name": "Someone",
        "last_name": "Else",
        "date_of_birth": date(1984, 6, 2),
        "sex": "female",
        "email": world.patient.email,
        "phone": "",
        "contact_by_email": False,
        "contact_by_sms": False,
    }
    outcome = online.submit_online_booking(
        hold=online_hold(world), details=details, actor=Actor(user=None)
    )
    return {"pk": outcome.request.pk}


URL_KWARGS = {
    "staff_reset_two_factor": _pk("doctor"),
    "password_reset_confirm": lambda world: {"uidb64": "MQ", "token": "set-password"},
    "consultations:appointment_detail": _pk("appointment"),
    "consultations:appointment_ics": _pk("appointment"),
    "consultations:appointment_move": _pk("appointment"),
    "consultations:appointment_reschedule": _pk("appointment"),
    "consultations:appointment_status": _pk("appointment"),
    "consultations:appointment_undo": _pk("appointment"),
    "consultations:calendar_feed": lambda world: {"token": world.feed.token},
    "consultations:online_request": online_request,
    "online_booking:start": lambda world: {"location_id": online_location(world).pk},
    "online_booking:times": lambda world: {"location_id": online_location(world).pk},
    "online_booking:hold": lambda world: {"location_id": online_location(world).pk},
    "online_booking:details": online_reference,
    "online_booking:booked": online_reference,
    "consultations:patient_link": lambda world: {"token": world.patient_link.token},
    "consultations:patient_link_revoke": lambda world: {"pk": world.patient_link.link.pk},
    "consultations:send_visit_forms": _pk("patient"),
    "consultations:history_review": _pk("history"),
    "consultations:consultation_detail": _pk("consultation"),
    "consultations:consultation_for_appointment": _pk("appointment"),
    "consultations:consultation_start": _pk("patient"),
    "consultations:intake_done": _pk("patient"),
    "consultations:intake_form": _pk("patient"),
    "consultations:medical_history_detail": _pk("history"),
    "consultations:medical_history_list": _pk("patient"),
    "consultations:patient_archive": _pk("patient"),
    "consultations:patient_chart": _pk("patient"),
    "consultations:patient_edit": _pk("patient"),
    "records:patient_erasure": _pk("patient"),
    "records:patient_export": _pk("patient"),
    "consultations:patient_restore": _pk("patient"),
    "consultations:photo_compare": _pk("patient"),
    "consultations:photo_image": _pk("baseline_photo"),
    "consultations:photo_list": _pk("patient"),
    "consultations:photo_thumbnail": _pk("baseline_photo"),
    "consultations:photo_upload": _pk("patient"),
    "consultations:photo_release": _pk("baseline_photo"),
    "consultations:photography_consent_record": _pk("patient"),
    "consultations:photography_consent_withdraw": lambda world: {
        "pk": PhotographyConsent.objects.filter(patient=world.patient).latest("pk").pk
    },
    "consultations:screening_decide": _pk("screening"),
    "consultations:screening_detail": _pk("screening"),
    "consultations:screening_new": _pk("consultation"),
    "consultations:screening_pdf": _pk("screening"),
    "treatments:adverse_event_new": _pk("session"),
    "treatments:adverse_event_edit": _pk("adverse_event"),
    "treatments:check_in_adverse_event": _pk("check_in_reply"),
    "treatments:check_in_handled": _pk("check_in_reply"),
    "treatments:adverse_event_pdf": _pk("adverse_event"),
    "treatments:aftercare_pdf": _pk("session"),
    "treatments:consent_detail": _pk("consent"),
    "treatments:consent_pdf": _pk("consent"),
    "treatments:consent_sign": _pk("plan"),
    "treatments:consent_reading_send": _pk("plan"),
    "treatments:consent_verify": lambda world: {"fingerprint": world.consent.fingerprint},
    "treatments:consent_withdraw": _pk("consent"),
    "treatments:outcome_new": _pk("session"),
    "treatments:lot_detail": _pk("lot"),
    "treatments:lot_status": _pk("lot"),
    "treatments:recall_open": _pk("lot"),
    "treatments:recall_detail": lambda world: {"pk": world_recall(world).pk},
    "treatments:recall_contact": lambda world: {"pk": world_recall(world).pk},
    "treatments:recall_notify": lambda world: {"pk": world_recall(world).pk},
    "treatments:recall_close": lambda world: {"pk": world_recall(world).pk},
    "treatments:recall_csv": lambda world: {"pk": world_recall(world).pk},
    "treatments:plan_calibrate": _pk("plan"),
    "treatments:plan_list": _pk("patient"),
    "treatments:plan_pdf": _pk("plan"),
    "treatments:plan_revise": _pk("plan"),
    "treatments:plan_save": _pk("plan"),
    "treatments:plan_status": _pk("plan"),
    "treatments:planner": _pk("plan"),
    "treatments:session_addendum": _pk("session"),
    "treatments:session_complete": _pk("session"),
    "treatments:session_detail": _pk("session"),
    "treatments:session_start": _pk("appointment"),
    "admin:auth_group_change": lambda world: {"object_id": practitioners_group().pk},
    "admin:auth_user_change": lambda world: {"object_id": world.doctor.user_id},
    "admin:auth_user_password_change": lambda world: {"id": world.doctor.user_id},
    "admin:clinic_auditevent_change": lambda world: {"object_id": patient_audit_event(world).pk},
    "admin:clinic_auditevent_delete": lambda world: {"object_id": patient_audit_event(world).pk},
    "admin:otp_totp_totpdevice_config": _pk("authenticator"),
    "admin:otp_totp_totpdevice_qrcode": _pk("authenticator"),
}


# The URL walk --------------------------------------------------------------------------


def walked_patterns() -> list[tuple[str, str | None, str]]:
    """(table key, url name, route regex) of every pattern; unnamed ones are keyed by route."""
    return [
        (name or regex, name, regex) for regex, name in iter_patterns(get_resolver().url_patterns)
    ]


def is_admin(name: str | None, regex: str) -> bool:
    return (name or "").startswith("admin:") or (name is None and regex.startswith("admin/"))


def expected_for(key: str, name: str | None, regex: str) -> dict | None:
    if key in EXPECTED:
        return EXPECTED[key]
    if is_admin(name, regex):
        return EXPECTED[ADMIN_RULE]
    return None


PATTERNS = walked_patterns()
SITE_PATTERNS = [(key, name, regex) for key, name, regex in PATTERNS if not is_admin(name, regex)]
ADMIN_PATTERNS = [(key, name, regex) for key, name, regex in PATTERNS if is_admin(name, regex)]


def test_the_table_names_every_url_pattern():
    missing = sorted(key for key, name, regex in PATTERNS if expected_for(key, name, regex) is None)
    assert not missing, (
        "URL patterns missing from EXPECTED in tests/test_access_control.py (add one line "
        f"each, saying what each role gets): {', '.join(missing)}"
    )


def test_the_table_names_no_url_that_is_gone():
    walked = {key for key, _name, _regex in PATTERNS}
    stale = sorted((set(EXPECTED) - {ADMIN_RULE} | set(URL_KWARGS)) - walked)
    assert not stale, (
        f"EXPECTED or URL_KWARGS name URLs the project no longer has: {', '.join(stale)}"
    )


def test_every_url_with_arguments_names_the_object_it_needs():
    missing = sorted(
        key
        for key, name, regex in SITE_PATTERNS
        if any(params for _template, params in normalize(regex)) and key not in URL_KWARGS
    )
    assert not missing, f"add the object each of these URLs takes to URL_KWARGS: {missing}"


def test_every_outcome_in_the_table_is_one_the_suite_knows():
    known = {LOGIN, ANY, 200, 204, 302, 400, 403, 404, 405}
    for key, expected in EXPECTED.items():
        for role in ROLES:
            assert expected[role] in known, f"{key}: unknown outcome {expected[role]!r}"
        assert set(expected["post_refused"]) <= set(ROLES), key


# Helpers -------------------------------------------------------------------------------

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REDIRECTS = {301, 302, 303, 307, 308}
# Rows written whatever a request does: its audit entry, the session, sign-in throttling.
UNTRACKED_MODELS = {
    "clinic.AuditEvent",
    "sessions.Session",
    "axes.AccessAttempt",
    "axes.AccessLog",
    "axes.AccessFailureLog",
}


@pytest.fixture(autouse=True)
def no_second_factor(settings):
    """Test users sign in with force_login: no second factor is owed (2FA has its own tests)."""
    settings.TWO_FACTOR_REQUIRED_ROLES = []


_CLIENTS: dict[str, Client] = {}


def client_for(role: str, users: dict) -> Client:
    """A client signed in as the role (anonymous: signed out).

    One client per role for the whole module: a new client loads the middleware again,
    and WhiteNoise reads every static file's headers when it does.
    """
    client = _CLIENTS.setdefault(role, Client())
    client.cookies.clear()
    if role != "anonymous":
        client.force_login(users[role])
    return client


def outcome_of(client: Client, response) -> int | str:
    """LOGIN for a redirect that ends on the sign-in page, else the status.

    Redirects inside /admin/ are followed to see where they end: the admin's login
    address sends on to ours, and a refused admin logout goes through the admin index.
    """
    status = response.status_code
    for _hop in range(5):
        if response.status_code not in REDIRECTS:
            break
        target = urlsplit(response["Location"])
        if not target.netloc and target.path == reverse("login"):
            return LOGIN
        if target.netloc or not target.path.startswith("/admin/"):
            break
        response = client.get(response["Location"])
    return status


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def leaks(body: bytes, secrets: list[bytes], *, images: bool = True) -> list[str]:
    found = [secret.decode() for secret in secrets if secret in body]
    if images and JPEG_MAGIC in body:
        found.append("JPEG bytes")
    if images and PNG_MAGIC in body:
        found.append("PNG bytes")
    if images and b"data:image/" in body:
        found.append("an embedded image")
    return found


def database_state() -> dict[str, str]:
    """A fingerprint of every table's rows, many-to-many tables included (audit entries,
    sessions and sign-in logs aside). Read raw: this runs around every refused POST."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.label in UNTRACKED_MODELS:
                continue
            table = connection.ops.quote_name(meta.db_table)
            key = connection.ops.quote_name(meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {key}")  # noqa: S608 (model names)
            rows = cursor.fetchall()
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()
            state[meta.label] = f"{len(rows)} rows {digest}"
    return state


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )


def denials_of(path: str) -> int:
    return AuditEvent.objects.filter(action=AuditAction.DENIED, summary__contains=path).count()


# Pages a patient opens from a link greet them by first name: the token is the key, so
# whoever holds it sees that name, and nothing else of the record (checked as for anyone).
FIRST_NAME_SHOWN = {"consultations:patient_link"}


# The journey: built once for the module ------------------------------------------------


class Journey:
    """Location A (its front desk, practitioner and manager, and world A) and location B.

    World B has its own practitioner and patient, a booked treatment appointment
    and an open session besides its completed one, for the cross-location tests.
    """

    def __init__(self):
        self.location = LocationFactory(name="Threadline Test Clinic")
        self.users = {
            "front_desk": staff_user(Role.FRONT_DESK, "desk", self.location),
            "practitioner": staff_user(Role.PRACTITIONER, "doctor", self.location),
            "manager": staff_user(Role.MANAGER, "boss", self.location),
        }
        self.a = build_world(self.location, self.users["practitioner"].staff)
        # Named to sort after A: a manager (who works everywhere) starts at A.
        elsewhere = LocationFactory(name="Zeta Site", address="9 Far Road\nLeeds")
        self.b = b = build_world(
            elsewhere,
            practitioner_at(elsewhere, "doctor-b"),
            tag="B",
            first_name="Bartholomew",
            last_name="Quillfeather",
            phone="+447911765432",
            seed=2,
            product=self.a.product,
        )
        self.b_open_appointment = book_treatment(
            b.patient, b.doctor, b.location, b.treatment_type, days=3, hour=11
        )
        appointment = book_treatment(
            b.patient, b.doctor, b.location, b.treatment_type, days=4, hour=11
        )
        self.b_open_session = recipes.start_session(
            appointment=appointment, plan=b.plan, by=b.doctor.user
        )


def staff_user(role: str, username: str, location):
    user = UserFactory(username=username)
    StaffMemberFactory(user=user, role=role, locations=[location])
    return user


@pytest.fixture(scope="module")
def journey(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once, inside a transaction that each test's own transaction nests in (as a
    savepoint rolled back after the test) and that is rolled back after the module."""
    root = tmp_path_factory.mktemp("access-control-media")
    media = override_settings(
        PRIVATE_MEDIA_ROOT=root,
        STORAGES={
            **django_settings.STORAGES,
            "default": {
                **django_settings.STORAGES["default"],
                "OPTIONS": {"location": str(root), "base_url": None},
            },
        },
    )
    media.enable()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            # The journey's sessions move the clock to their appointments: kept for the module.
            with travels_kept() as clock_moves:
                built = Journey()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            media.disable()
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
    stop_kept(clock_moves)
    media.disable()


@pytest.fixture
def world(journey, db) -> World:
    return journey.a


@pytest.fixture
def users(journey, db) -> dict:
    return journey.users


@pytest.fixture
def sites(journey, db) -> Journey:
    return journey


# The walk, page by page ------------------------------------------------------------------


def site_path(key: str, name: str | None, regex: str, world: World) -> str:
    if name is None:
        return sample_path(regex)
    kwargs = URL_KWARGS[key](world) if key in URL_KWARGS else {}
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "name", "regex"), SITE_PATTERNS, ids=[p[0] for p in SITE_PATTERNS])
def test_each_role_gets_what_the_table_says(key, name, regex, world, users):
    expected = expected_for(key, name, regex)
    if expected is None:
        pytest.fail(f"{key} is missing from EXPECTED: add a line saying what each role gets")
    path = site_path(key, name, regex, world)
    identifiers = world.patient_identifiers()
    if key in FIRST_NAME_SHOWN:
        identifiers = [i for i in identifiers if i != world.patient.first_name.encode()]
    clinical = [text.encode() for text in world.clinical_texts]
    problems = []
    for role in ROLES:
        client = client_for(role, users)
        denied_before = denials_of(path)
        response = client.get(path)
        got = outcome_of(client, response)
        want = expected[role]
        body = body_of(response)
        if want != ANY and got != want:
            problems.append(f"{role}: GET answered {got}, the table says {want}")
        if got in REFUSED or role == "anonymous":
            if found := leaks(body, identifiers):
                problems.append(f"{role}: GET answered {got} showing {found}")
        elif role == "front_desk" and (found := leaks(body, clinical, images=False)):
            problems.append(f"front_desk: GET shows clinical text {found}")
        if got == 403:
            if denials_of(path) <= denied_before:
                problems.append(f"{role}: the 403 was not written to the audit trail")
            if b"This page is for the" not in body:
                problems.append(f"{role}: the 403 does not name the role needed")

        post_refused = role in expected["post_refused"]
        if want in REFUSED or post_refused:
            before = database_state()
            response = client.post(path)
            got = outcome_of(client, response)
            refused_with = 403 if post_refused else want
            if got != refused_with:
                problems.append(f"{role}: empty POST answered {got}, expected {refused_with}")
            if found := leaks(body_of(response), identifiers):
                problems.append(f"{role}: empty POST answered {got} showing {found}")
            if changed := changed_tables(before, database_state()):
                problems.append(f"{role}: a refused POST changed {changed}")
    assert not problems, f"{path} ({key}):\n  " + "\n  ".join(problems)


# The admin -------------------------------------------------------------------------------


ADMIN_SAMPLE_VALUES = {"app_label": "clinic"}


def admin_path(key: str, name: str | None, regex: str, world: World) -> str:
    """A path that resolves to the pattern: the world's object where URL_KWARGS names one,
    else app_label "clinic" and ids 1."""
    if key in URL_KWARGS:
        return reverse(name, kwargs=URL_KWARGS[key](world))
    for template, params in normalize(regex):
        path = "/" + template % {param: ADMIN_SAMPLE_VALUES.get(param, "1") for param in params}
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if name is None or match.view_name == name:
            return path
    return sample_path(regex)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "name", "regex"), ADMIN_PATTERNS, ids=[p[0] for p in ADMIN_PATTERNS]
)
def test_the_admin_is_for_managers_only(key, name, regex, world, users):
    expected = expected_for(key, name, regex)
    identifiers = world.patient_identifiers()
    path = admin_path(key, name, regex, world)
    problems = []
    for role in ROLES:
        client = client_for(role, users)
        response = client.get(path)
        got = outcome_of(client, response)
        want = expected[role]
        if want == ANY:
            if isinstance(got, int) and got >= 500:
                problems.append(f"{role}: answered {got}")
        elif want in REFUSED:
            if got not in REFUSED:
                problems.append(f"{role}: answered {got}: the admin must refuse this role")
            elif found := leaks(body_of(response), identifiers):
                problems.append(f"{role}: refused ({got}) showing {found}")
        elif got != want:
            problems.append(f"{role}: answered {got}, the table says {want}")

        if want in REFUSED or role in expected["post_refused"]:
            before = database_state()
            response = client.post(path)
            got = outcome_of(client, response)
            if got not in REFUSED:
                problems.append(f"{role}: empty POST answered {got}: the admin must refuse it")
            if changed := changed_tables(before, database_state()):
                problems.append(f"{role}: a refused POST changed {changed}")
    assert not problems, f"{path} ({key}):\n  " + "\n  ".join(problems)


# Another location's records --------------------------------------------------------------


def today_text(world: World) -> str:
    return timezone.localdate(timezone=world.location.zone).isoformat()


def other_location_cases(sites: Journey) -> list[tuple[str, str, str, dict | None]]:
    """(label, method, path, body) of every way to name one of location B's records."""
    b = sites.b
    plan, consent, done, open_session = b.plan, b.consent, b.session, sites.b_open_session
    booked = sites.b_open_appointment
    later = (timezone.localdate(timezone=b.location.zone) + timedelta(days=6)).isoformat()

    def url(name, obj):
        return reverse(name, args=[obj.pk])

    return [
        # GET: pages of B's records.
        ("planner", "get", url("treatments:planner", plan), None),
        ("plan pdf", "get", url("treatments:plan_pdf", plan), None),
        ("consent form", "get", url("treatments:consent_sign", plan), None),
        ("consent", "get", url("treatments:consent_detail", consent), None),
        ("consent pdf", "get", url("treatments:consent_pdf", consent), None),
        (
            "consent check",
            "get",
            reverse("treatments:consent_verify", args=[consent.fingerprint]),
            None,
        ),
        ("session", "get", url("treatments:session_detail", done), None),
        ("open session", "get", url("treatments:session_detail", open_session), None),
        ("aftercare pdf", "get", url("treatments:aftercare_pdf", done), None),
        ("review form", "get", url("treatments:outcome_new", done), None),
        ("adverse event form", "get", url("treatments:adverse_event_new", done), None),
        ("appointment", "get", url("consultations:appointment_detail", booked), None),
        ("reschedule", "get", url("consultations:appointment_reschedule", booked), None),
        ("ics", "get", url("consultations:appointment_ics", booked), None),
        (
            "lot trace of B's lot",
            "get",
            reverse("treatments:lot_trace") + "?" + urlencode({"lot": b.lot.lot_number}),
            None,
        ),
        (
            "week of B's practitioner",
            "get",
            reverse("consultations:calendar_week") + f"?practitioner={b.doctor.pk}",
            None,
        ),
        # POST: changes to B's records, with bodies that would otherwise be valid.
        (
            "plan save",
            "json",
            url("treatments:plan_save", plan),
            {"revision": plan.revision, "vectors": [], "notes": "tampered"},
        ),
        (
            "plan calibrate",
            "json",
            url("treatments:plan_calibrate", plan),
            {"photo": b.baseline_photo.pk, "left_pupil": [0.4, 0.4], "right_pupil": [0.6, 0.4]},
        ),
        ("plan status", "post", url("treatments:plan_status", plan), {"status": "draft"}),
        ("plan revise", "post", url("treatments:plan_revise", plan), {}),
        ("consent sign", "post", url("treatments:consent_sign", plan), {"risks": []}),
        ("consent sent to read", "post", url("treatments:consent_reading_send", plan), {}),
        (
            "consent withdraw",
            "post",
            url("treatments:consent_withdraw", consent),
            {"reason": "tampered"},
        ),
        ("session start", "post", url("treatments:session_start", booked), {"plan": plan.pk}),
        (
            "session complete",
            "post",
            url("treatments:session_complete", open_session),
            {
                **LOCAL_LIDOCAINE_FORM,
                **{
                    f"vector-{vector.pk}-{field}": value
                    for vector in open_session.plan.vectors.all()
                    for field, value in (("lot", b.lot.pk), ("count", vector.count))
                },
            },
        ),
        ("addendum", "post", url("treatments:session_addendum", done), {"text": "tampered"}),
        (
            "review",
            "post",
            url("treatments:outcome_new", done),
            {"gais_practitioner": 1, "gais_patient": 1, "satisfaction": 10},
        ),
        (
            "adverse event",
            "post",
            url("treatments:adverse_event_new", done),
            {"event_type": "pain", "severity": "mild", "onset_on": today_text(b)},
        ),
        (
            "appointment status",
            "post",
            url("consultations:appointment_status", booked),
            {"status": "cancelled", "reason": "tampered"},
        ),
        (
            "undo a status",
            "post",
            url("consultations:appointment_undo", booked),
            {"undo_reason": "tampered"},
        ),
        (
            "reschedule",
            "post",
            url("consultations:appointment_reschedule", booked),
            {"starts_at": f"{later}T09:00", "practitioner": b.doctor.pk},
        ),
        (
            "move",
            "json",
            url("consultations:appointment_move", booked),
            {"starts_at": f"{later}T09:00"},
        ),
        ("consultation", "post", url("consultations:consultation_for_appointment", booked), {}),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_another_locations_records_are_out_of_reach(sites, users, role):
    """Front desk and practitioner of location A name B's records by id: 404/403, never data."""
    client = client_for(role, users)
    identifiers = sites.b.patient_identifiers()
    problems = []
    for label, method, path, data in other_location_cases(sites):
        before = database_state()
        if method == "get":
            response = client.get(path)
        elif method == "json":
            response = client.post(path, json.dumps(data), content_type="application/json")
        else:
            response = client.post(path, data)
        got = outcome_of(client, response)
        if got not in (403, 404):
            problems.append(f"{label}: {method.upper()} {path} answered {got}")
        if found := leaks(body_of(response), identifiers):
            problems.append(f"{label}: {method.upper()} {path} answered {got} showing {found}")
        if changed := changed_tables(before, database_state()):
            problems.append(f"{label}: {method.upper()} {path} changed {changed}")
    assert not problems, f"{role} at location A reached location B:\n  " + "\n  ".join(problems)


@pytest.mark.django_db
def test_a_practitioner_cannot_switch_to_another_location(sites, users):
    client = client_for("practitioner", users)
    response = client.post(reverse("choose_location"), {"location": sites.b.location.pk})
    assert response.status_code == 400
    assert "current_location_id" not in client.session


# Forms tampered with ---------------------------------------------------------------------


def url_or_skip(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        pytest.skip(f"{name} does not exist yet")


def post_refused(client, path, data, *, as_json=False) -> tuple[int, list[str]]:
    """POST, and say which tables changed (none may, when the answer is a refusal)."""
    before = database_state()
    if as_json:
        response = client.post(path, json.dumps(data), content_type="application/json")
    else:
        response = client.post(path, data)
    return response.status_code, changed_tables(before, database_state())


def assessment_form(photo: PatientPhoto) -> dict:
    return {"fitzpatrick": "2", "glogau": "2", "baseline_photos": [photo.pk]}


@pytest.mark.django_db
def test_an_assessment_cannot_link_another_patients_photo(sites, users):
    a, b = sites.a, sites.b
    client = client_for("practitioner", users)
    path = url_or_skip("consultations:consultation_detail", a.consultation.pk)
    status, changed = post_refused(client, path, assessment_form(b.baseline_photo))
    assert (status, changed) == (400, [])
    linked = Consultation.objects.get(pk=a.consultation.pk).baseline_photos.all()
    assert list(linked) == [a.baseline_photo]
    # The same form with the patient's own photo is accepted: the photo was the refusal.
    assert client.post(path, assessment_form(a.baseline_photo)).status_code == 302


def review_form(**extra) -> dict:
    return {"gais_practitioner": "2", "gais_patient": "2", "satisfaction": "8", **extra}


@pytest.mark.django_db
def test_a_review_cannot_attach_another_patients_photo_or_appointment(sites, users):
    a, b = sites.a, sites.b
    client = client_for("practitioner", users)
    path = url_or_skip("treatments:outcome_new", a.session.pk)
    status, changed = post_refused(client, path, review_form(photos=[b.follow_up_photo.pk]))
    assert (status, changed) == (400, [])
    b_review = Appointment.objects.filter(
        patient=b.patient, appointment_type__kind=AppointmentKind.REVIEW
    ).first()
    assert b_review is not None, "the journey books review appointments"
    status, changed = post_refused(client, path, review_form(appointment=b_review.pk))
    assert (status, changed) == (400, [])
    count = Outcome.objects.count()
    assert client.post(path, review_form(photos=[a.follow_up_photo.pk])).status_code == 302
    assert Outcome.objects.count() == count + 1


def adverse_form(world: World, lots) -> dict:
    return {
        "event_type": "swelling",
        "severity": "mild",
        "onset_on": today_text(world),
        "lots": [lot.pk for lot in lots],
    }


@pytest.mark.django_db
def test_an_adverse_event_cannot_name_a_lot_from_another_session(sites, users):
    a, b = sites.a, sites.b
    unused = receive(a.product, a.location, "LOT-A-UNUSED", by=a.doctor.user)
    client = client_for("practitioner", users)
    path = url_or_skip("treatments:adverse_event_new", a.session.pk)
    for lot in (b.lot, unused):
        status, changed = post_refused(client, path, adverse_form(a, [lot]))
        assert (status, changed) == (400, []), f"lot {lot.lot_number}"
    count = AdverseEvent.objects.count()
    assert client.post(path, adverse_form(a, [a.lot])).status_code == 302
    assert AdverseEvent.objects.count() == count + 1


def completion_form(session: TreatmentSession, lot: StockLot) -> dict:
    form = {**LOCAL_LIDOCAINE_FORM, "immediate_outcome": "Fine"}
    for vector in session.plan.vectors.all():
        form[f"vector-{vector.pk}-lot"] = str(lot.pk)
        form[f"vector-{vector.pk}-count"] = str(vector.count)
        form[f"vector-{vector.pk}-deviation"] = ""
    return form


@pytest.mark.django_db
def test_a_session_cannot_be_completed_with_another_locations_lot(sites, users):
    a, b = sites.a, sites.b
    appointment = book_treatment(a.patient, a.doctor, a.location, a.treatment_type, days=3, hour=10)
    session = recipes.start_session(appointment=appointment, plan=a.plan, by=a.doctor.user)
    client = client_for("practitioner", users)
    path = url_or_skip("treatments:session_complete", session.pk)
    status, changed = post_refused(client, path, completion_form(session, b.lot))
    assert (status, changed) == (400, [])
    assert not TreatmentSession.objects.get(pk=session.pk).is_locked
    assert not PlacedThreads.objects.filter(session=session).exists()
    assert StockLot.objects.get(pk=b.lot.pk).quantity_on_hand == b.lot.quantity_on_hand
    assert client.post(path, completion_form(session, a.lot)).status_code == 302
    assert TreatmentSession.objects.get(pk=session.pk).is_locked


def booking_form(world: World, *, room, practitioner=None) -> dict:
    day = timezone.localdate(timezone=world.location.zone) + timedelta(days=5)
    return {
        "patient": world.patient.record_number,
        "practitioner": (practitioner or world.doctor).pk,
        "appointment_type": world.treatment_type.pk,
        "starts_at": f"{day.isoformat()}T09:00",
        "room": room.pk,
        "notes": "",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_a_booking_cannot_use_another_locations_room_or_practitioner(sites, users, role):
    a, b = sites.a, sites.b
    client = client_for(role, users)
    path = url_or_skip("consultations:appointment_book")
    for label, form in (
        ("B's room", booking_form(a, room=b.room)),
        ("B's practitioner", booking_form(a, room=a.room, practitioner=b.doctor)),
    ):
        status, changed = post_refused(client, path, form)
        assert (status, changed) == (400, []), label
    count = Appointment.objects.count()
    assert client.post(path, booking_form(a, room=a.room)).status_code == 302
    assert Appointment.objects.count() == count + 1


@pytest.mark.django_db
def test_a_one_click_slot_cannot_name_another_locations_room_or_practitioner(sites, users):
    """The next-free-slot buttons post "practitioner|start|room": ids checked like the form's."""
    a, b = sites.a, sites.b
    client = client_for("front_desk", users)
    path = reverse("consultations:appointment_book")
    form = booking_form(a, room=a.room)
    start = form["starts_at"]
    for label, slot in (
        ("B's room", f"{a.doctor.pk}|{start}|{b.room.pk}"),
        ("B's practitioner", f"{b.doctor.pk}|{start}|{a.room.pk}"),
    ):
        status, changed = post_refused(client, path, {**form, "slot": slot})
        assert (status, changed) == (400, []), label


@pytest.mark.django_db
def test_a_move_cannot_use_another_locations_room_or_practitioner(sites, users):
    a, b = sites.a, sites.b
    appointment = book_treatment(a.patient, a.doctor, a.location, a.treatment_type, days=3, hour=14)
    client = client_for("front_desk", users)
    path = url_or_skip("consultations:appointment_move", appointment.pk)
    day = timezone.localdate(timezone=a.location.zone) + timedelta(days=5)
    starts_at = f"{day.isoformat()}T11:00"
    for label, body in (
        ("B's room", {"starts_at": starts_at, "room": b.room.pk}),
        ("B's practitioner", {"starts_at": starts_at, "practitioner": b.doctor.pk}),
    ):
        status, changed = post_refused(client, path, body, as_json=True)
        assert (status, changed) == (400, []), label
    status, _changed = post_refused(
        client, path, {"starts_at": starts_at, "room": a.room.pk}, as_json=True
    )
    assert status == 200


@pytest.mark.django_db
def test_a_reschedule_cannot_move_to_another_locations_practitioner(sites, users):
    a, b = sites.a, sites.b
    appointment = book_treatment(a.patient, a.doctor, a.location, a.treatment_type, days=3, hour=14)
    client = client_for("front_desk", users)
    path = url_or_skip("consultations:appointment_reschedule", appointment.pk)
    day = timezone.localdate(timezone=a.location.zone) + timedelta(days=5)
    form = {"starts_at": f"{day.isoformat()}T11:00", "practitioner": b.doctor.pk}
    status, changed = post_refused(client, path, form)
    assert (status, changed) == (400, [])
    assert client.post(path, {**form, "practitioner": a.doctor.pk}).status_code == 302


@pytest.mark.django_db
def test_a_plan_cannot_be_calibrated_on_another_patients_photo(sites, users):
    a, b = sites.a, sites.b
    draft = plan_services.revise_plan(plan=a.plan, actor=Actor.system(user=a.doctor.user))
    client = client_for("practitioner", users)
    path = url_or_skip("treatments:plan_calibrate", draft.pk)

    def body(photo):
        return {"photo": photo.pk, "left_pupil": [0.4, 0.4], "right_pupil": [0.6, 0.4]}

    status, changed = post_refused(client, path, body(b.baseline_photo), as_json=True)
    assert (status, changed) == (400, [])
    status, _changed = post_refused(client, path, body(a.baseline_photo), as_json=True)
    assert status == 200


@pytest.mark.django_db
def test_a_photo_comparison_cannot_show_another_patients_photo(sites, users):
    a, b = sites.a, sites.b
    client = client_for("practitioner", users)
    path = url_or_skip("consultations:photo_compare", a.patient.pk)
    response = client.get(path, {"before": b.baseline_photo.pk, "after": a.baseline_photo.pk})
    assert response.status_code == 404
    assert not leaks(response.content, b.patient_identifiers())


@pytest.mark.django_db
def test_a_session_cannot_start_on_another_patients_plan(sites, users):
    a, b = sites.a, sites.b
    appointment = book_treatment(a.patient, a.doctor, a.location, a.treatment_type, days=3, hour=10)
    client = client_for("practitioner", users)
    path = url_or_skip("treatments:session_start", appointment.pk)
    status, changed = post_refused(client, path, {"plan": b.plan.pk})
    assert (status, changed) == (404, [])


def plan_held_at_b(sites: Journey):
    """Patient A's own plan, made, accepted and consented at location B (the newest one),
    and a treatment appointment for patient A at location A."""
    a, b = sites.a, sites.b
    plan_at_b = accepted_plan(a.patient, b.doctor, b.location, a.product)
    sign_consent(plan_at_b, a.template, b.doctor)
    appointment = book_treatment(a.patient, a.doctor, a.location, a.treatment_type, days=3, hour=10)
    return plan_at_b, appointment


@pytest.mark.django_db
def test_a_session_cannot_start_on_a_plan_held_at_another_location(sites, users):
    """Naming location B's plan in the form must not bring it (and its consent) to A."""
    plan_at_b, appointment = plan_held_at_b(sites)
    client = client_for("practitioner", users)
    path = url_or_skip("treatments:session_start", appointment.pk)
    before = database_state()
    response = client.post(path, {"plan": plan_at_b.pk})
    started = TreatmentSession.objects.filter(appointment=appointment).first()
    assert response.status_code in (403, 404) and started is None, (
        f"answered {response.status_code}; a session at {sites.a.location} was started on "
        f"plan {plan_at_b.pk} held at {plan_at_b.location}: {started is not None}; "
        f"changed {changed_tables(before, database_state())}"
    )


@pytest.mark.django_db
def test_a_session_started_without_naming_a_plan_never_takes_another_locations_plan(sites, users):
    """Without a plan in the form the latest accepted plan is used: it must be one at A."""
    _plan_at_b, appointment = plan_held_at_b(sites)
    client = client_for("practitioner", users)
    path = url_or_skip("treatments:session_start", appointment.pk)
    client.post(path, {})
    started = TreatmentSession.objects.filter(appointment=appointment).first()
    assert started is None or started.plan.location_id == sites.a.location.pk, (
        f"a session at {sites.a.location} was started on plan {started.plan_id} held at "
        f"{started.plan.location}"
    )


@pytest.mark.django_db
def test_the_trace_of_a_lot_never_lists_patients_to_non_managers(sites, users):
    """Lots are traced only by managers; a lot number guessed by others shows nobody."""
    for role in ("front_desk", "practitioner"):
        client = client_for(role, users)
        for world in (sites.a, sites.b):
            response = client.get(reverse("treatments:lot_trace"), {"lot": world.lot.lot_number})
            assert response.status_code == 403, role
            assert not leaks(response.content, world.patient_identifiers()), role


# Another location's records named in printed documents and JSON bodies -------------------


def other_location_documents(sites: Journey) -> list[tuple[str, str, str]]:
    """(label, url name, path) of every printed document of one of location B's records."""
    b = sites.b
    return [
        ("plan summary", "treatments:plan_pdf", reverse("treatments:plan_pdf", args=[b.plan.pk])),
        (
            "consent copy",
            "treatments:consent_pdf",
            reverse("treatments:consent_pdf", args=[b.consent.pk]),
        ),
        (
            "aftercare sheet",
            "treatments:aftercare_pdf",
            reverse("treatments:aftercare_pdf", args=[b.session.pk]),
        ),
        (
            "adverse event report",
            "treatments:adverse_event_pdf",
            reverse("treatments:adverse_event_pdf", args=[b.adverse_event.pk]),
        ),
        (
            "calendar file",
            "consultations:appointment_ics",
            reverse("consultations:appointment_ics", args=[sites.b_open_appointment.pk]),
        ),
    ]


def audit_entries_about(world: World) -> int:
    return (
        AuditEvent.objects.filter(patient_id=world.patient.pk)
        .exclude(action=AuditAction.DENIED)
        .count()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_another_locations_documents_are_never_printed(sites, users, role):
    """A PDF or calendar file of B's record asked for at A: 404 (403 where the role may not
    print it at all), no document, nothing written about B's patient, nothing changed."""
    client = client_for(role, users)
    identifiers = sites.b.patient_identifiers()
    problems = []
    for label, name, path in other_location_documents(sites):
        refusal = EXPECTED[name][role]
        expected = refusal if refusal in REFUSED else 404
        before, audited = database_state(), audit_entries_about(sites.b)
        response = client.get(path)
        body = body_of(response)
        got = outcome_of(client, response)
        if got != expected:
            problems.append(f"{label}: answered {got}, expected {expected}")
        if body.startswith(b"%PDF") or b"BEGIN:VCALENDAR" in body:
            problems.append(f"{label}: the document was handed over")
        if found := leaks(body, identifiers):
            problems.append(f"{label}: answered {got} showing {found}")
        if audit_entries_about(sites.b) != audited:
            problems.append(f"{label}: B's patient's audit trail says it was printed or seen")
        if changed := changed_tables(before, database_state()):
            problems.append(f"{label}: changed {changed}")
    assert not problems, f"{role} at location A:\n  " + "\n  ".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_another_locations_patient_record_export_is_refused(sites, users, role):
    """The whole-record export is for managers: anyone else is refused and nothing leaves."""
    client = client_for(role, users)
    path = reverse("records:patient_export", args=[sites.b.patient.pk])
    before = database_state()
    response = client.post(path, {"identity_checked": "on"})
    assert response.status_code == 403
    assert response.get("Content-Type", "").startswith("text/html")
    assert not leaks(body_of(response), sites.b.patient_identifiers())
    assert changed_tables(before, database_state()) == []


@pytest.mark.django_db
def test_a_patients_own_records_are_shared_by_every_location(sites, users):
    """Patients are the clinic's, not one location's: a practitioner at A reads the screening
    summary of a patient consulted elsewhere (their plans, sessions and consents stay B's)."""
    client = client_for("practitioner", users)
    response = client.get(reverse("consultations:screening_pdf", args=[sites.b.screening.pk]))
    assert response.status_code == 200
    assert body_of(response).startswith(b"%PDF")
    assert client.get(reverse("treatments:plan_pdf", args=[sites.b.plan.pk])).status_code == 404


def draft_vector(world: World, **extra) -> dict:
    return {
        "area": "midface",
        "side": "left",
        "product": world.product.pk,
        "count": 2,
        "view": "front",
        "entry": [0.3, 0.6],
        "end": [0.3, 0.2],
        "depth": "subcutaneous",
        "notes": "",
        **extra,
    }


@pytest.mark.django_db
def test_a_plan_save_cannot_name_another_locations_lot(sites, users):
    """Vectors name products, never lots: a vector carrying B's lot id is refused whole."""
    a, b = sites.a, sites.b
    draft = plan_services.revise_plan(plan=a.plan, actor=Actor.system(user=a.doctor.user))
    client = client_for("practitioner", users)
    path = reverse("treatments:plan_save", args=[draft.pk])
    body = {"revision": draft.revision, "vectors": [draft_vector(a, lot=b.lot.pk)], "notes": ""}
    status, changed = post_refused(client, path, body, as_json=True)
    assert (status, changed) == (400, [])
    body["vectors"] = [draft_vector(a)]
    status, _changed = post_refused(client, path, body, as_json=True)
    assert status == 200


@pytest.mark.django_db
def test_a_manager_moves_only_appointments_at_the_current_location(sites, users):
    """Managers reach every location, but a move is read on the current location's wall
    clock: B's appointment, moved while working at A, is not found and stays put."""
    b = sites.b
    booked = sites.b_open_appointment
    client = client_for("manager", users)
    later = (timezone.localdate(timezone=b.location.zone) + timedelta(days=6)).isoformat()
    path = reverse("consultations:appointment_move", args=[booked.pk])
    body = {"starts_at": f"{later}T09:00", "practitioner": b.doctor.pk, "room": b.room.pk}
    status, changed = post_refused(client, path, body, as_json=True)
    assert (status, changed) == (404, [])
    assert (
        client.get(reverse("consultations:appointment_detail", args=[booked.pk])).status_code == 200
    )


@pytest.mark.django_db
def test_a_closed_locations_records_are_out_of_reach_even_for_managers(sites, users):
    """Managers reach every location that is open: once B is closed its records answer 404
    (403 where the manager's role may not do it at all) and nothing changes."""
    b = sites.b
    b.location.is_active = False
    b.location.save(update_fields=["is_active"])
    client = client_for("manager", users)
    identifiers = b.patient_identifiers()
    cases = [case for case in other_location_cases(sites) if not case[0].startswith("lot trace")]
    cases += [(label, "get", path, None) for label, _name, path in other_location_documents(sites)]
    problems = []
    for label, method, path, data in cases:
        before = database_state()
        if method == "get":
            response = client.get(path)
        elif method == "json":
            response = client.post(path, json.dumps(data), content_type="application/json")
        else:
            response = client.post(path, data)
        got = outcome_of(client, response)
        if got not in (403, 404):
            problems.append(f"{label}: {method.upper()} {path} answered {got}")
        if found := leaks(body_of(response), identifiers):
            problems.append(f"{label}: {method.upper()} {path} answered {got} showing {found}")
        if changed := changed_tables(before, database_state()):
            problems.append(f"{label}: {method.upper()} {path} changed {changed}")
    response = client.get(reverse("treatments:lot_trace"), {"lot": b.lot.lot_number})
    if found := leaks(response.content, identifiers):
        problems.append(f"lot trace of B's lot shows {found}")
    assert not problems, "a manager reached closed location B:\n  " + "\n  ".join(problems)


@pytest.mark.django_db
def test_a_review_cannot_name_the_patients_appointment_at_another_location(sites, users):
    """Patient A's own review booked at location B is B's booking: a practitioner at A
    cannot link it to an outcome (nor see it offered)."""
    a, b = sites.a, sites.b
    day = timezone.localdate(timezone=b.location.zone) + timedelta(days=2)
    review_at_b = booking.book_appointment(
        patient=a.patient,
        practitioner=b.doctor,
        location=b.location,
        appointment_type=b.review_type,
        starts_at=datetime.combine(day, time(15), tzinfo=b.location.zone),
        actor=Actor.system(user=b.doctor.user),
    )
    client = client_for("practitioner", users)
    path = reverse("treatments:outcome_new", args=[a.session.pk])
    page = client.get(path).content.decode()
    offered = page[page.index('name="appointment"') :]
    offered = offered[: offered.index("</select>")]
    assert f'value="{review_at_b.pk}"' not in offered
    status, changed = post_refused(client, path, review_form(appointment=review_at_b.pk))
    assert (status, changed) == (400, [])
