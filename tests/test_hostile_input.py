"""Hostile input: every form and JSON endpoint answers bad input clearly and saves nothing.

The design brief: "Bad input gets a clear error and changes nothing" and
"Printed documents are safe". For every endpoint in ENDPOINTS (one row each:
URL name, method, who sends it, how valid data is built, which fields it
reads) a generated set of bad inputs per field is sent: wrong types, missing
fields, 10 000-character strings, huge and negative numbers, HTML and script,
file:// and cloud-metadata URLs, SQL-looking text, NUL bytes, invalid UTF-8
and lists where a scalar goes. Each answer must be

- never a 5xx;
- either a success (text a free-text field legitimately stores as typed) or a
  refusal with a clear message: the page re-rendered with a field error
  (`is-invalid`, an error list or an alert), a redirect carrying an error
  message, or JSON `{"error": "..."}`; input a field cannot hold (a date that
  is not a date, an over-long text, a NUL byte) must be refused;
- and a refusal changes nothing: the row count and content of every table
  (tests.hostile_fixtures.snapshot) is the same before and after;
- and no redirect leaves the site, whatever `next` says.

Free-text fields get the markup, URLs and SQL all at once (they may store
them: the pages must then escape them) and, one field at a time, what they
cannot hold; every other field gets every bad value one at a time.

Each request runs in a savepoint that is rolled back, so cases never see each
other's effects. Bugs found are listed in KNOWN_BUGS and run one by one in
`test_known_bug` as strict xfails: the suite stays green while they stand and
turns red once they are fixed, to be moved out of the list.

Then: accepted hostile text is shown escaped on every page that shows it;
printed documents print hostile patient text as text and fetch nothing; body
size limits, wrong content types, methods and CSRF.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django import forms
from django.contrib.messages import ERROR
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pypdf import PdfReader

from clinic.two_factor import BACKUP_CODES_SESSION_KEY
from consultations import services as consultation_services
from consultations.booking.forms import BookingForm, LocalDateTimeField
from consultations.consultation_forms import AreaForm, AssessmentForm, BodyImageForm, DecisionForm
from consultations.forms import (
    ArchiveForm,
    MedicalHistoryForm,
    NewPatientForm,
    PatientForm,
    PreviousTreatmentForm,
)
from consultations.models import CONSULTATION_AREAS, Appointment, Patient
from tests.factories import TEST_PASSWORD
from tests.hostile_fixtures import (
    ACCEPTABLE_TEXT,
    FILE_URL,
    HUGE,
    IMG_ONERROR,
    LONG,
    METADATA_URL,
    NEGATIVE,
    NUL,
    OVERFLOW_FLOAT,
    PDF_IMG,
    PDF_LINK,
    PDF_PAYLOADS,
    PDF_STYLE,
    RAW_MARKUP,
    SCRIPT,
    SQL,
    WORDS,
    World,
    build_world,
    current_code,
    describe_changes,
    jpeg_bytes,
    snapshot,
    vendor,
)
from tests.treatments.session_fixtures import consent_form
from treatments import services
from treatments.models import ThreadProduct, TreatmentPlan
from treatments.outcome_forms import AdverseEventForm, OutcomeForm
from treatments.session_forms import (
    AddendumForm,
    PlacementForm,
    SessionDetailsForm,
    WholeNumberField,
    WithdrawalForm,
)
from treatments.stock_forms import LotTraceForm, ReceiveLotForm

pytestmark = pytest.mark.django_db

# Where an error shows on a re-rendered page: a field error, an error list, an alert.
ERROR_MARKERS = re.compile(
    r'is-invalid|invalid-feedback|alert-danger|alert-warning|errorlist|role="alert"'
)
UNKNOWN_ID = "2147483647"  # a whole number no row has

# How a refusal looks for each kind of endpoint.
PAGE, REDIRECT, JSON, TEXT = "page", "redirect", "json", "text"

# -- fields and the bad values each kind gets --------------------------------------------------

# Field kinds. "text" may store any text as typed (HTML, SQL, URLs): the page must then
# escape it. Everything else must refuse what is not one of its values. "ignored" is
# read leniently on purpose (a bad `next` falls back to a default; a bad prefill is left
# out). "bool" is a checkbox: any value ticks it.
TEXT_KIND, EMAIL, PHONE, NUMBER, DATE, DATETIME, CHOICE, ID, MULTI, BOOL, TOKEN, LOOKUP = (
    "text",
    "email",
    "phone",
    "number",
    "date",
    "datetime",
    "choice",
    "id",
    "multi",
    "bool",
    "token",  # an exact value (a fingerprint, a signature): anything else is refused
    "lookup",  # text that must name an existing record
)
IGNORED, PRESENCE, FILE = "ignored", "presence", "file"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = True
    max_length: int | None = None


@dataclass(frozen=True)
class Case:
    id: str
    payload: Any  # a dict of fields, a JSON-able object, or raw bytes
    must_refuse: bool


def kind_of(form_field: forms.Field) -> str:
    if isinstance(form_field, forms.BooleanField):
        return BOOL
    if isinstance(form_field, forms.ModelMultipleChoiceField | forms.MultipleChoiceField):
        return MULTI
    if isinstance(form_field, forms.ModelChoiceField):
        return ID
    if isinstance(form_field, forms.ChoiceField):
        return CHOICE
    if isinstance(form_field, forms.DateTimeField | LocalDateTimeField):
        return DATETIME
    if isinstance(form_field, forms.DateField):
        return DATE
    if isinstance(form_field, forms.IntegerField | forms.DecimalField | WholeNumberField):
        return NUMBER
    if type(form_field).__name__ == "SatisfactionField":
        return NUMBER
    if isinstance(form_field, forms.EmailField):
        return EMAIL
    if type(form_field).__name__ == "PhoneNumberField":
        return PHONE
    if isinstance(form_field, forms.FileField):
        return FILE
    return TEXT_KIND


def form_fields(form: forms.BaseForm, **overrides: str) -> list[Field]:
    """The fields of a Django form as the page posts them (prefixed names), kinds inferred."""
    found = []
    for name, form_field in form.fields.items():
        found.append(
            Field(
                form.add_prefix(name),
                overrides.get(name, kind_of(form_field)),
                form_field.required,
                getattr(form_field, "max_length", None),
            )
        )
    return found


LENIENT = (TEXT_KIND, BOOL, IGNORED, PRESENCE)


def form_bad_values(spec: Field, valid: Any, *, query: bool) -> list[tuple[str, Any, bool]]:
    """(case id, value, must it be refused) for one form field; None means "leave it out".

    Hostile text (HTML, URLs, SQL) in free-text fields is sent to all of them at once
    (see form_cases); here a free-text field gets what it cannot hold. Any other field
    gets wrong types, huge and negative numbers, markup, NUL bytes and over-long text.
    """
    kind = spec.kind
    lenient = kind in LENIENT
    some = valid if valid not in (None, "", []) else "x"
    if isinstance(some, list):
        some = some[0]
    missing_refused = spec.required and not query and kind != IGNORED
    if kind == BOOL:
        # A checkbox: any value ticks it.
        return [("script", SCRIPT, False), ("list", [some, WORDS], False)]
    if kind in (IGNORED, PRESENCE):
        # Read leniently on purpose (a fallback, a button's name): only nothing may break,
        # and no redirect may leave the site (run_case checks every Location).
        return [
            ("script", SCRIPT, False),
            ("sql", SQL, False),
            ("nul-byte", NUL, False),
            ("list", [some, WORDS], False),
            ("missing", None, missing_refused),
            ("file-url", FILE_URL, False),
            ("metadata-url", METADATA_URL, False),
            ("scheme-relative-url", "//attacker.example/", False),
            ("javascript-url", "javascript:alert(1)", False),
        ]
    too_long = not (kind == TEXT_KIND and (spec.max_length or 10**6) >= len(LONG))
    values: list[tuple[str, Any, bool]] = [
        ("ten-thousand-chars", LONG, too_long),
        ("nul-byte", NUL, not query or not lenient),
        ("list", [some, WORDS], not lenient),
        ("missing", None, missing_refused),
        ("empty", "", missing_refused),
    ]
    if kind == TEXT_KIND:
        return values
    values += [
        *[(name, text, True) for name, text in ACCEPTABLE_TEXT.items()],
        ("words-in-number", WORDS, True),
        ("huge-number", HUGE, True),
        ("negative", NEGATIVE, kind != "count"),
        ("overflowing-float", OVERFLOW_FLOAT, True),
    ]
    if kind in (CHOICE, MULTI, TOKEN, LOOKUP):
        values.append(("number-in-choice", "99", True))
    if kind in (ID, MULTI, LOOKUP):
        values.append(("unknown-id", UNKNOWN_ID, True))
    return values


# -- endpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One form or JSON endpoint: a row of the table (ENDPOINTS)."""

    name: str  # URL name
    method: str  # "POST" (a form or JSON), "GET" (a search or filter form)
    role: str  # who sends it: frontdesk, practitioner, manager, anonymous
    body: str  # "form" (urlencoded), "multipart", "json", "query"
    answer: str  # how a refusal is shown: PAGE, REDIRECT, JSON, TEXT
    url: Callable[[World], str]
    valid: Callable[[World], Any]
    fields: Callable[[World], list[Field]] = field(default=lambda w: [])
    json_fields: Callable[[World], list[tuple[tuple, str, bool]]] = field(default=lambda w: [])
    writes: bool = True  # does valid data change a watched table?
    baseline: str = "success"  # "success", or "any" where today's state makes success moot
    success: Callable[[Any], bool] | None = None  # a success that is not a redirect


def day(world: World, days: int, hour: int = 10, minute: int = 0) -> str:
    local = timezone.localdate(timezone=world.location.zone) + timedelta(days=days)
    return f"{local.isoformat()}T{hour:02d}:{minute:02d}"


def today(world: World, days: int = 0) -> str:
    return (timezone.localdate(timezone=world.location.zone) + timedelta(days=days)).isoformat()


def patient_valid(w: World, **extra) -> dict:
    return {
        "first_name": "Ada",
        "last_name": "Byron-King",
        "preferred_name": "",
        "date_of_birth": "1980-04-05",
        "sex": "female",
        "phone": "020 7946 0123",
        "email": "ada@mail.example",
        "address": "1 Lane\nLondon",
        "emergency_contact_name": "",
        "emergency_contact_relation": "",
        "emergency_contact_phone": "",
        "family_doctor": "",
        "preferred_location": str(w.location.pk),
        "contact_by_email": "on",
        **extra,
    }


def intake_valid(w: World) -> dict:
    data = {"diabetes": "none", "smoking": "never", "notes": "Nothing else"}
    data.update(
        {
            "treatments-TOTAL_FORMS": "1",
            "treatments-INITIAL_FORMS": "0",
            "treatments-MIN_NUM_FORMS": "0",
            "treatments-MAX_NUM_FORMS": "30",
            "treatments-0-kind": "toxin",
            "treatments-0-treated_on": today(w, -200),
            "treatments-0-area": "brow",
            "treatments-0-details": "Forehead lines",
        }
    )
    return data


def intake_fields(w: World) -> list[Field]:
    row = PreviousTreatmentForm(prefix="treatments-0")
    # Django reads TOTAL_FORMS (a negative count is no rows) and ignores the others' values.
    management = [
        Field("treatments-TOTAL_FORMS", "count"),
        *[
            Field(f"treatments-{name}", IGNORED, required=False)
            for name in ("INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
        ],
    ]
    # The formset's row is optional as a whole: a field missing from it is an empty row's.
    row_fields = [
        Field(f.name, f.kind, required=False, max_length=f.max_length) for f in form_fields(row)
    ]
    return form_fields(MedicalHistoryForm()) + management + row_fields


def consultation_valid(w: World) -> dict:
    data = {
        "expectations": "A fresher jawline",
        "wanted_by": "",
        "fitzpatrick": "3",
        "glogau": "2",
        "skin_thickness": "normal",
        "skin_quality": "Good",
        "asymmetry_notes": "",
        "baseline_photos": [str(w.photo.pk)],
    }
    for area in CONSULTATION_AREAS:
        data[f"area-{area}-concern"] = "Jowls" if area == "jawline" else ""
        data[f"area-{area}-goal"] = "Lift" if area == "jawline" else ""
        data[f"area-{area}-laxity"] = "2" if area == "jawline" else ""
    return data


def consultation_fields(w: World) -> list[Field]:
    assessment = AssessmentForm(patient=w.patient, today=timezone.localdate())
    area = AreaForm(area="jawline", area_label="Jawline")
    return form_fields(assessment) + form_fields(area)


def completion_valid(w: World) -> dict:
    data = {
        "anaesthesia": "local",
        "anaesthetic_agent": "Lidocaine 1% with adrenaline",
        "anaesthetic_volume_ml": "4.5",
        "immediate_outcome": "Good lift",
        "complications": "",
    }
    for vector in w.open_session.plan.vectors.all():
        data[f"vector-{vector.pk}-lot"] = str(w.lot.pk)
        data[f"vector-{vector.pk}-count"] = str(vector.count)
        data[f"vector-{vector.pk}-deviation"] = ""
    return data


def completion_fields(w: World) -> list[Field]:
    vector = w.open_session.plan.vectors.first()
    placement = PlacementForm(vector=vector, number=1)
    return form_fields(placement, lot=ID) + form_fields(
        SessionDetailsForm(), anaesthetic_volume_ml=NUMBER
    )


def vector_payloads(plan: TreatmentPlan) -> list[dict]:
    return [
        {
            "area": v.area,
            "side": v.side,
            "product": v.product_id,
            "count": v.count,
            "view": v.view,
            "entry": [v.entry_x, v.entry_y],
            "end": [v.end_x, v.end_y],
            "depth": v.depth,
            "notes": v.notes,
        }
        for v in plan.vectors.order_by("position", "pk")
    ]


def plan_save_valid(w: World) -> dict:
    plan = TreatmentPlan.objects.get(pk=w.draft_plan.pk)
    return {"revision": plan.revision, "vectors": vector_payloads(plan), "notes": "Lift the jowls"}


# (path into the JSON body, kind, required)
PLAN_SAVE_FIELDS = [
    (("revision",), NUMBER, True),
    (("vectors",), "list", True),
    (("notes",), TEXT_KIND, False),
    (("vectors", 0), "object", False),  # leaving one out is a smaller plan
    (("vectors", 0, "area"), CHOICE, True),
    (("vectors", 0, "side"), CHOICE, True),
    (("vectors", 0, "product"), ID, True),
    (("vectors", 0, "count"), NUMBER, True),
    (("vectors", 0, "view"), CHOICE, True),
    (("vectors", 0, "entry"), "point", True),
    (("vectors", 0, "end"), "point", True),
    (("vectors", 0, "depth"), CHOICE, True),
    (("vectors", 0, "notes"), TEXT_KIND, False),
]
CALIBRATE_FIELDS = [
    (("photo",), ID, True),
    (("left_pupil",), "point", True),
    (("right_pupil",), "point", True),
]
MOVE_FIELDS = [
    (("starts_at",), DATETIME, True),
    (("practitioner",), "optional-id", False),
    (("room",), "optional-id", False),
]


def post_only(name: str, role: str, url, valid=lambda w: {}, **options) -> Endpoint:
    return Endpoint(name, "POST", role, "form", REDIRECT, url, valid, **options)


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "choose_location",
        "POST",
        "frontdesk",
        "form",
        TEXT,
        lambda w: reverse("choose_location"),
        lambda w: {"location": str(w.location.pk), "next": "/patients/"},
        lambda w: [Field("location", ID), Field("next", IGNORED, required=False)],
        writes=False,
    ),
    Endpoint(
        "consultations:patient_create",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:patient_create"),
        patient_valid,
        lambda w: form_fields(NewPatientForm(location=w.location)),
    ),
    Endpoint(
        "consultations:patient_edit",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:patient_edit", args=[w.patient.pk]),
        lambda w: patient_valid(w, first_name="Marguerite", last_name="Duras"),
        lambda w: form_fields(PatientForm(location=w.location, instance=w.patient)),
    ),
    post_only(
        "consultations:patient_archive",
        "manager",
        lambda w: reverse("consultations:patient_archive", args=[w.patient.pk]),
        lambda w: {"reason": "Moved away"},
        fields=lambda w: form_fields(ArchiveForm()),
    ),
    post_only(
        "consultations:patient_restore",
        "manager",
        lambda w: reverse("consultations:patient_restore", args=[w.patient.pk]),
        writes=False,  # restoring a record that is not archived changes nothing
    ),
    Endpoint(
        "consultations:intake_form",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:intake_form", args=[w.patient.pk]),
        intake_valid,
        intake_fields,
    ),
    Endpoint(
        "consultations:photo_upload",
        "POST",
        "practitioner",
        "multipart",
        PAGE,
        lambda w: reverse("consultations:photo_upload", args=[w.patient.pk]),
        lambda w: {
            "files": io.BytesIO(jpeg_bytes()),
            "view": "frontal",
            "stage": "2_weeks",
            "taken_on": today(w),
        },
        lambda w: [Field("view", CHOICE), Field("stage", CHOICE), Field("taken_on", DATE)],
    ),
    Endpoint(
        "consultations:appointment_book",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:appointment_book"),
        lambda w: {
            "patient": w.patient.record_number,
            "practitioner": str(w.doctor.pk),
            "appointment_type": str(w.consultation_type.pk),
            "starts_at": day(w, 6),
            "room": "",
            "notes": "First visit",
        },
        lambda w: [
            *form_fields(BookingForm(location=w.location), patient=LOOKUP),
            Field("slot", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "consultations:appointment_move",
        "POST",
        "frontdesk",
        "json",
        JSON,
        lambda w: reverse("consultations:appointment_move", args=[w.consultation_appointment.pk]),
        lambda w: {"starts_at": day(w, 6, 12), "practitioner": w.doctor.pk, "room": None},
        json_fields=lambda w: MOVE_FIELDS,
    ),
    Endpoint(
        "consultations:appointment_status",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:appointment_status", args=[w.consultation_appointment.pk]),
        lambda w: {"status": "cancelled", "reason": "The patient asked", "next": ""},
        lambda w: [
            Field("status", CHOICE),
            # The appointment keeps at most 200 characters of it (Appointment.cancel_reason).
            Field("reason", TEXT_KIND, max_length=200),
            Field("next", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "consultations:appointment_reschedule",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse(
            "consultations:appointment_reschedule", args=[w.consultation_appointment.pk]
        ),
        lambda w: {"starts_at": day(w, 6, 15), "practitioner": str(w.doctor.pk)},
        lambda w: [Field("starts_at", DATETIME), Field("practitioner", ID, required=False)],
    ),
    Endpoint(
        "consultations:calendar_feed_settings",
        "POST",
        "practitioner",
        "form",
        TEXT,
        lambda w: reverse("consultations:calendar_feed_settings"),
        lambda w: {"revoke": "1"},
        lambda w: [Field("revoke", PRESENCE)],
    ),
    post_only(
        "consultations:consultation_start",
        "practitioner",
        lambda w: reverse("consultations:consultation_start", args=[w.patient.pk]),
    ),
    post_only(
        "consultations:consultation_for_appointment",
        "practitioner",
        lambda w: reverse(
            "consultations:consultation_for_appointment", args=[w.consultation_appointment.pk]
        ),
    ),
    Endpoint(
        "consultations:consultation_detail",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("consultations:consultation_detail", args=[w.consultation.pk]),
        consultation_valid,
        consultation_fields,
    ),
    Endpoint(
        "consultations:screening_new",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("consultations:screening_new", args=[w.consultation.pk]),
        lambda w: {
            "concerned": "no",
            "preoccupied": "no",
            "distress": "1",
            "social": "1",
            "work": "1",
            "avoidance": "1",
            "interference": "no",
        },
        lambda w: form_fields(BodyImageForm()),
    ),
    Endpoint(
        "consultations:screening_decide",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("consultations:screening_decide", args=[w.screening.pk]),
        lambda w: {"decision": "accepted", "justification": ""},
        lambda w: form_fields(DecisionForm()),
    ),
    post_only(
        "treatments:plan_list",
        "practitioner",
        lambda w: reverse("treatments:plan_list", args=[w.patient.pk]),
        baseline="any",  # the undecided screening closes the gate: refused with a message
    ),
    Endpoint(
        "treatments:plan_save",
        "POST",
        "practitioner",
        "json",
        JSON,
        lambda w: reverse("treatments:plan_save", args=[w.draft_plan.pk]),
        plan_save_valid,
        json_fields=lambda w: PLAN_SAVE_FIELDS,
    ),
    post_only(
        "treatments:plan_status",
        "practitioner",
        lambda w: reverse("treatments:plan_status", args=[w.draft_plan.pk]),
        lambda w: {"status": "proposed"},
        fields=lambda w: [Field("status", CHOICE)],
    ),
    post_only(
        "treatments:plan_revise",
        "practitioner",
        lambda w: reverse("treatments:plan_revise", args=[w.accepted_plan.pk]),
        writes=False,  # the series' draft is already open: continuing it changes nothing
    ),
    Endpoint(
        "treatments:plan_calibrate",
        "POST",
        "practitioner",
        "json",
        JSON,
        lambda w: reverse("treatments:plan_calibrate", args=[w.draft_plan.pk]),
        lambda w: {"photo": w.photo.pk, "left_pupil": [0.4, 0.45], "right_pupil": [0.6, 0.45]},
        json_fields=lambda w: CALIBRATE_FIELDS,
    ),
    Endpoint(
        "treatments:receive_lot",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("treatments:receive_lot"),
        lambda w: {
            "product": str(w.cog.pk),
            "lot_number": "NEW-7",
            "expires_on": today(w, 200),
            "quantity": "5",
        },
        lambda w: form_fields(ReceiveLotForm(location=w.location, today=timezone.localdate())),
    ),
    Endpoint(
        "treatments:consent_sign",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:consent_sign", args=[w.accepted_plan.pk]),
        lambda w: consent_form(
            {"template": w.template}, TreatmentPlan.objects.get(pk=w.accepted_plan.pk)
        ),
        lambda w: [
            Field("template", IGNORED, required=False),
            Field("text_sha256", TOKEN),
            Field("risks", MULTI),
            Field("photo_clinical", CHOICE),
            Field("photo_teaching", CHOICE),
            Field("photo_marketing", CHOICE),
            Field("patient_signature", TOKEN),
            Field("practitioner_signature", TOKEN),
        ],
    ),
    Endpoint(
        "treatments:consent_withdraw",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:consent_withdraw", args=[w.consent.pk]),
        lambda w: {"reason": "She changed her mind"},
        lambda w: form_fields(WithdrawalForm()),
    ),
    post_only(
        "treatments:session_start",
        "practitioner",
        lambda w: reverse("treatments:session_start", args=[w.treatment_appointment.pk]),
        lambda w: {"plan": str(w.accepted_plan.pk)},
        fields=lambda w: [Field("plan", ID, required=False)],
    ),
    Endpoint(
        "treatments:session_complete",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:session_complete", args=[w.open_session.pk]),
        completion_valid,
        completion_fields,
    ),
    Endpoint(
        "treatments:session_addendum",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:session_addendum", args=[w.done_session.pk]),
        lambda w: {"text": "The left vector was 5 mm lower than drawn."},
        lambda w: form_fields(AddendumForm()),
    ),
    Endpoint(
        "treatments:outcome_new",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:outcome_new", args=[w.done_session.pk]),
        lambda w: {
            "gais_practitioner": "2",
            "gais_patient": "2",
            "satisfaction": "8",
            "notes": "Pleased",
            "appointment": "",
        },
        lambda w: form_fields(
            OutcomeForm(session=w.done_session, user=w.done_session.practitioner.user)
        ),
    ),
    Endpoint(
        "treatments:adverse_event_new",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:adverse_event_new", args=[w.done_session.pk]),
        lambda w: {
            "event_type": "bruising",
            "severity": "mild",
            "onset_on": today(w),
            "lots": [str(w.lot.pk)],
            "management": "Cold compress",
            "resolved_on": "",
            "description": "A small bruise at the left entry point",
        },
        lambda w: form_fields(AdverseEventForm(session=w.done_session)),
    ),
    Endpoint(
        "login",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: reverse("login"),
        lambda w: {"username": w.frontdesk.username, "password": TEST_PASSWORD},
        lambda w: [
            Field("username", TEXT_KIND, max_length=150),
            Field("password", TEXT_KIND),
        ],
        writes=False,  # last_login is written, but only on success
    ),
    Endpoint(
        "password_reset",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: reverse("password_reset"),
        lambda w: {"email": w.frontdesk.email},
        lambda w: [Field("email", EMAIL)],
        writes=False,
    ),
    # Privacy rights (managers): a copy of the record, an erasure request.
    Endpoint(
        "records:patient_export",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("records:patient_export", args=[w.patient.pk]),
        lambda w: {"identity_checked": "on"},
        lambda w: [Field("identity_checked", PRESENCE)],
        writes=False,  # a download; only the audit trail records it
        success=lambda r: r.status_code == 200 and r["Content-Type"] == "application/zip",
    ),
    Endpoint(
        "records:patient_erasure",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("records:patient_erasure", args=[w.patient.pk]),
        lambda w: {"identity_checked": "on"},
        lambda w: [Field("identity_checked", PRESENCE)],
        success=lambda r: (
            r.status_code == 200 and any(t.name.endswith("erasure_done.html") for t in r.templates)
        ),
    ),
    # Staff and two-factor sign-in.
    Endpoint(
        "two_factor_setup",
        "POST",
        "enroller",
        "form",
        PAGE,
        lambda w: reverse("two_factor_setup"),
        lambda w: {"code": current_code(w.enroller, confirmed=False), "next": "/patients/"},
        lambda w: [
            Field("code", TOKEN, max_length=16),
            Field("next", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "two_factor_verify",
        "POST",
        "verifier",
        "form",
        PAGE,
        lambda w: reverse("two_factor_verify"),
        lambda w: {"code": current_code(w.verifier, confirmed=True), "next": "/patients/"},
        lambda w: [
            Field("code", TOKEN, max_length=32),
            Field("next", IGNORED, required=False),
        ],
        writes=True,  # the app's device remembers the code used
    ),
    Endpoint(
        "two_factor_backup_codes",
        "POST",
        "backup",
        "form",
        PAGE,
        lambda w: reverse("two_factor_backup_codes"),
        lambda w: {"saved": "on", "next": "/patients/"},
        lambda w: [Field("saved", PRESENCE), Field("next", IGNORED, required=False)],
        writes=False,  # only the session forgets the codes
    ),
    post_only(
        "two_factor_new_backup_codes",
        "frontdesk",
        lambda w: reverse("two_factor_new_backup_codes"),
        baseline="any",  # no authenticator app: refused with a message
    ),
    post_only(
        "staff_reset_two_factor",
        "manager",
        lambda w: reverse("staff_reset_two_factor", args=[w.verifier.staff.pk]),
    ),
    # Search and filter forms (GET): they never change anything, whatever they are sent.
    Endpoint(
        "consultations:patient_list",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:patient_list"),
        lambda w: {"q": "Duras", "archived": "1"},
        lambda w: [Field("q", TEXT_KIND, required=False), Field("archived", IGNORED, False)],
    ),
    Endpoint(
        "consultations:patient_search",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:patient_search"),
        lambda w: {"q": "05/04/1980"},
        lambda w: [Field("q", TEXT_KIND, required=False)],
    ),
    Endpoint(
        "consultations:calendar_day",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:calendar_day"),
        lambda w: {"date": today(w, 1), "by": "room"},
        lambda w: [Field("date", DATE, required=False), Field("by", IGNORED, False)],
    ),
    Endpoint(
        "consultations:calendar_week",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:calendar_week"),
        lambda w: {"date": today(w, 1), "practitioner": str(w.doctor.pk)},
        lambda w: [Field("date", DATE, required=False), Field("practitioner", ID, False)],
    ),
    Endpoint(
        "consultations:appointment_book (prefill)",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:appointment_book"),
        lambda w: {
            "practitioner": str(w.doctor.pk),
            "start": day(w, 6),
            "room": str(w.room.pk),
            "patient": str(w.patient.pk),
            "type": str(w.consultation_type.pk),
        },
        lambda w: [
            Field(name, IGNORED, required=False)
            for name in ("practitioner", "start", "room", "patient", "type")
        ],
    ),
    Endpoint(
        "consultations:day_list",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:day_list"),
        lambda w: {"date": today(w, 2)},
        lambda w: [Field("date", DATE, required=False)],
    ),
    Endpoint(
        "consultations:photo_compare",
        "GET",
        "practitioner",
        "query",
        PAGE,
        lambda w: reverse("consultations:photo_compare", args=[w.patient.pk]),
        lambda w: {"before": str(w.photo.pk)},
        lambda w: [Field("before", ID, required=False), Field("after", ID, required=False)],
    ),
    Endpoint(
        "treatments:lot_trace",
        "GET",
        "manager",
        "query",
        PAGE,
        lambda w: reverse("treatments:lot_trace"),
        lambda w: {"lot": "LOT-A"},
        lambda w: form_fields(LotTraceForm()),
    ),
    Endpoint(
        "audit_trail",
        "GET",
        "manager",
        "query",
        PAGE,
        lambda w: reverse("audit_trail"),
        lambda w: {
            "patient": w.patient.record_number,
            "user": w.doctor_user.username,
            "action": "",
            "date_from": today(w, -7),
            "date_to": today(w),
            "page": "1",
        },
        lambda w: [
            Field("patient", LOOKUP, required=False),
            Field("user", TEXT_KIND, required=False, max_length=150),
            Field("action", CHOICE, required=False),
            Field("date_from", DATE, required=False),
            Field("date_to", DATE, required=False),
            Field("page", IGNORED, required=False),
            Field("format", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "treatments:adverse_event_report",
        "GET",
        "manager",
        "query",
        PAGE,
        lambda w: reverse("treatments:adverse_event_report"),
        lambda w: {"date_from": today(w, -30), "date_to": today(w)},
        lambda w: [Field("date_from", DATE), Field("date_to", DATE)],
    ),
]
ENDPOINTS_BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}

# URL names with no input to be hostile with (read-only pages, PDFs, files), and those
# covered elsewhere in this module; an URL name in neither list is reported by
# test_every_url_is_in_the_table.
READ_ONLY_URLS = {
    "home",
    "healthz",
    "admin_login_redirect",
    "consultations:patient_chart",
    "consultations:intake_done",
    "consultations:medical_history_list",
    "consultations:medical_history_detail",
    "consultations:photo_list",
    "consultations:photo_image",
    "consultations:photo_thumbnail",
    "consultations:appointment_detail",
    "consultations:appointment_ics",
    "consultations:calendar_feed",  # test_a_calendar_feed_token_of_any_shape_is_not_found
    "consultations:screening_detail",
    "consultations:screening_pdf",  # test_printed_documents_show_hostile_text_as_text...
    "treatments:planner",
    "treatments:plan_pdf",
    "treatments:stock_overview",
    "treatments:consent_detail",
    "treatments:session_detail",
    "treatments:consent_pdf",
    "treatments:aftercare_pdf",
    "treatments:aftercare_day_pdf",
    "staff_list",
    "two_factor_settings",
    "keepalive",
}
# Django's own pages: the admin (managers' clinic settings) and the password pages that
# take a one-time token. Outside this suite: the admin's forms are Django's.
NOT_COVERED_PREFIXES = ("admin:",)
NOT_COVERED_URLS = {
    "logout",
    "password_change",
    "password_change_done",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}

# Features still being written when this suite was made: covered once their URLs exist.
PENDING_FEATURES = {
    "privacy export and erasure": ("export", "erasure", "erase"),
    "staff and two-factor sign-in": ("two_factor", "otp", "staff"),
}  # admin pages excluded (NOT_COVERED_PREFIXES)


# -- known bugs (run one by one as strict xfails) ----------------------------------------------

# (endpoint name, case id) -> (reason, vendors it happens on, or None for every database).
# Fixed since this suite found them (keep them fixed): a `next` that is not a path taken
# for a view name by redirect() (choose_location, appointment_status, two-factor pages);
# an empty POST taken for a GET (`Form(request.POST or None)`) on ten forms; a 10**30 id
# in a multiple choice or a plan's product overflowing SQLite; a cancellation reason of
# any length or with a NUL byte; a non-ASCII text_sha256 at consent signing; JSON bodies
# accepted whatever their Content-Type; a NUL byte in the search box reaching
# PostgreSQL; django-axes storing a 10,000-character username.
KNOWN_BUGS: dict[tuple[str, str], tuple[str, frozenset[str] | None]] = {}


def known_bug(endpoint: str, case: str) -> tuple[str, frozenset[str] | None] | None:
    bug = KNOWN_BUGS.get((endpoint, case))
    if bug is None:
        return None
    _reason, vendors = bug
    return bug if vendors is None or vendor() in vendors else None


# -- building the cases ------------------------------------------------------------------------


def without(data: dict, name: str) -> dict:
    return {key: value for key, value in data.items() if key != name}


def form_cases(endpoint: Endpoint, world: World) -> list[Case]:
    valid = endpoint.valid(world)
    specs = endpoint.fields(world)
    query = endpoint.method == "GET"
    cases = []
    # Hostile text in every free-text field at once: stored as typed, or refused cleanly.
    texts = [spec.name for spec in specs if spec.kind == TEXT_KIND]
    if texts:
        for case_id, text in ACCEPTABLE_TEXT.items():
            cases.append(
                Case(f"all-text={case_id}", {**valid, **dict.fromkeys(texts, text)}, False)
            )
    for spec in specs:
        current = valid.get(spec.name)
        for case_id, value, must_refuse in form_bad_values(spec, current, query=query):
            data = without(valid, spec.name) if value is None else {**valid, spec.name: value}
            cases.append(Case(f"{spec.name}={case_id}", data, must_refuse))
        if spec.kind == BOOL:
            continue
        # Invalid UTF-8 in the body: %FF%FE is no character at all.
        rest = urlencode(form_encodable(without(valid, spec.name)), doseq=True)
        raw = (rest + ("&" if rest else "") + f"{spec.name}=%FF%FE").encode("ascii")
        cases.append(Case(f"{spec.name}=invalid-utf8", raw, spec.kind not in LENIENT))
    everything_required = any(spec.required for spec in specs) and not query
    cases.append(Case("empty-body", {}, everything_required))
    cases.append(Case("unknown-field", {**valid, "is_superuser": "1", SCRIPT: SCRIPT}, False))
    return cases


class Raw:
    """A literal to put in a JSON body as is (JSON cannot spell 1e309 otherwise)."""

    def __init__(self, text: str):
        self.text = text


def encode_json(payload: Any) -> bytes:
    raws: dict[str, str] = {}

    def default(value):
        if isinstance(value, Raw):
            key = f"@@raw{len(raws)}@@"
            raws[key] = value.text
            return key
        raise TypeError(value)

    text = json.dumps(payload, default=default)
    for key, literal in raws.items():
        text = text.replace(json.dumps(key), literal)
    return text.encode("utf-8")


def set_path(data: Any, path: tuple, value: Any) -> Any:
    changed = copy.deepcopy(data)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


MISSING = object()


def json_bad_values(kind: str, required: bool) -> list[tuple[str, Any, bool]]:
    scalars: list[tuple[str, Any]] = [
        ("words", WORDS),
        ("huge-int", 10**30),
        ("negative", -1),
        ("overflowing-float", Raw("1e309")),
        ("fraction", 1.5),
        ("true", True),
        ("number-as-text", "1"),
        ("list", [1, 2]),
        ("object", {"a": 1}),
        ("long-text", LONG),
        ("nul-text", NUL),
        ("script", SCRIPT),
        ("sql", SQL),
    ]
    if kind == TEXT_KIND:
        scalars += [
            (name, text) for name, text in ACCEPTABLE_TEXT.items() if name not in ("script", "sql")
        ]
    values = []
    for case_id, value in scalars:
        # Free text may be any string but an over-long one or one with a NUL byte.
        refuse = kind != TEXT_KIND or not isinstance(value, str) or value in (LONG, NUL)
        values.append((case_id, value, refuse))
    values.append(("null", None, kind != "optional-id"))
    values.append(("missing", MISSING, required))
    if kind == "point":
        values += [
            ("one-coordinate", [0.5], True),
            ("text-coordinate", [0.5, WORDS], True),
            ("infinite-coordinate", [Raw("1e309"), 0.5], True),
            ("huge-coordinate", [10**30, 0.5], True),
            ("negative-coordinate", [-1, 0.5], True),
            ("boolean-coordinate", [True, 0.5], True),
        ]
    if kind == "list":
        values += [("too-many", [{"area": "midface"}] * 1000, True)]
    return values


def json_cases(endpoint: Endpoint, world: World) -> list[Case]:
    valid = endpoint.valid(world)
    cases = []
    for path, kind, required in endpoint.json_fields(world):
        name = ".".join(str(part) for part in path)
        for case_id, value, must_refuse in json_bad_values(kind, required):
            cases.append(Case(f"{name}={case_id}", set_path(valid, path, value), must_refuse))
    deep = b"[" * 50_000 + b"]" * 50_000
    cases += [
        Case("body=not-json", b"revision=1&vectors=", True),
        Case("body=truncated", encode_json(valid)[:-1], True),
        Case("body=invalid-utf8", encode_json(valid).replace(b"}", b', "x": "\xff\xfe"}', 1), True),
        Case("body=invalid-utf8-only", b"\xff\xfe", True),
        Case("body=empty", b"", True),
        Case("body=array", [valid], True),
        Case("body=string", "hello", True),
        Case("body=null", None, True),
        Case("body=NaN", encode_json(valid).replace(b"}", b', "x": NaN}', 1), True),
        Case("body=deeply-nested", deep[: 9 * 1024] + deep[-9 * 1024 :], True),
        Case("body=unknown-field", {**valid, "is_superuser": True}, True),
    ]
    return cases


def cases_for(endpoint: Endpoint, world: World) -> list[Case]:
    if endpoint.body == "json":
        return json_cases(endpoint, world)
    return form_cases(endpoint, world)


# -- sending and judging -----------------------------------------------------------------------


def form_encodable(data: dict) -> dict:
    return {key: value for key, value in data.items() if not hasattr(value, "read")}


def send(client: Client, endpoint: Endpoint, url: str, payload: Any):
    if endpoint.body == "json":
        body = payload if isinstance(payload, bytes) else encode_json(payload)
        return client.post(url, data=body, content_type="application/json")
    if endpoint.body == "query":
        if isinstance(payload, bytes):
            return client.get(f"{url}?{payload.decode('ascii')}")
        return client.get(url, payload)
    if isinstance(payload, bytes):
        return client.post(url, data=payload, content_type="application/x-www-form-urlencoded")
    if endpoint.body == "multipart":
        return client.post(url, payload)
    body = urlencode(payload, doseq=True)
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


def error_messages(response) -> list[str]:
    """The error messages this request added (not those an earlier one left behind)."""
    request = getattr(response, "wsgi_request", None)
    storage = getattr(request, "_messages", None)
    if storage is None:
        return []
    return [str(m) for m in storage._queued_messages if m.level >= ERROR]


def text_of(response) -> str:
    if getattr(response, "streaming", False):
        return ""
    return response.content.decode("utf-8", errors="replace")


def json_error(response) -> str | None:
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) and error.strip() else None


def verdict(endpoint: Endpoint, response) -> tuple[str, str]:
    """("refused" | "accepted" | "unclear", why) for one answer."""
    status = response.status_code
    if endpoint.success is not None and endpoint.success(response):
        return "accepted", ""
    if endpoint.answer == JSON:
        if 400 <= status < 500:
            if response["Content-Type"].startswith("application/json") and json_error(response):
                return "refused", ""
            return "unclear", f"{status} without a JSON error message"
        if status == 200:
            return "accepted", ""
        return "unclear", f"answered {status}"
    if status in (301, 302, 303):
        problems = error_messages(response)
        if problems:
            return "refused", ""
        if endpoint.answer == REDIRECT or endpoint.method == "POST":
            return "accepted", ""
        return "unclear", f"redirected to {response['Location']}"
    if status in (403, 404, 405, 413, 429):
        # Django's error pages: the page names the problem.
        return "refused", ""
    if 400 <= status < 500:
        text = text_of(response)
        if endpoint.answer == TEXT:
            return ("refused", "") if text.strip() else ("unclear", f"{status} with no message")
        if ERROR_MARKERS.search(text):
            return "refused", ""
        return "unclear", f"{status} but the page shows no error"
    if status == 200:
        if endpoint.method == "GET":
            return "accepted", ""
        # A form page shown again with its errors (the sign-in page answers 200).
        if ERROR_MARKERS.search(text_of(response)):
            return "refused", ""
        return "unclear", "200 on a POST without errors or a redirect"
    return "unclear", f"answered {status}"


def stays_on_site(location: str) -> bool:
    """A redirect to a path here (or to this host), never elsewhere nor to another scheme."""
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == "testserver"
    return location.startswith("/") and not location.startswith("//")


def describe_exception(response) -> str:
    info = getattr(response, "exc_info", None)
    if not info:
        return ""
    exc = info[1]
    return f": {type(exc).__name__}: {str(exc)[:160]}"


def run_case(client: Client, endpoint: Endpoint, url: str, case: Case, before: dict) -> str:
    """Send one case in a savepoint that is rolled back; "" if the answer was right, else why.

    `before` is the snapshot of the database as every case finds it (each is rolled back).
    """
    # The database is rolled back after each case: so are the client's cookies (a session
    # key cycled by a sign-in, messages left for the next page).
    cookies = copy.deepcopy(client.cookies)
    client.cookies.pop("messages", None)
    with transaction.atomic():
        try:
            response = send(client, endpoint, url, case.payload)
            status = response.status_code
            if status >= 500:
                return f"answered {status}{describe_exception(response)}"
            try:
                after = snapshot()
            except (DatabaseError, TransactionManagementError) as error:
                return f"answered {status} but left the transaction broken: {error}"
            outcome, why = verdict(endpoint, response)
            changes = describe_changes(before, after)
            if response.has_header("Location") and not stays_on_site(response["Location"]):
                return f"redirected off the site, to {response['Location']!r}"
            if outcome == "unclear":
                return why + (f" (and changed {changes})" if changes else "")
            if outcome == "refused" and changes:
                return f"refused ({status}) but changed {changes}"
            if endpoint.method == "GET" and changes:
                return f"a GET changed {changes}"
            if outcome == "accepted" and case.must_refuse:
                return f"accepted ({status})" + (f", changing {changes}" if changes else "")
            return ""
        finally:
            transaction.set_rollback(True)
            client.cookies = cookies


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def world(location, frontdesk_user, practitioner_user, manager_user, private_media) -> World:
    return build_world(location, frontdesk_user, practitioner_user, manager_user)


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def clients(world) -> dict[str, Client]:
    made = {
        "frontdesk": signed_in(world.frontdesk),
        "practitioner": signed_in(world.doctor_user),
        "manager": signed_in(world.manager),
        "anonymous": signed_in(None),
        "enroller": signed_in(world.enroller),
        "verifier": signed_in(world.verifier),
        "backup": signed_in(world.frontdesk),
    }
    # Enrolment starts on the first visit (an unconfirmed app): the form then confirms it.
    made["enroller"].get(reverse("two_factor_setup"))
    # Fresh backup codes waiting to be acknowledged.
    session = made["backup"].session
    session[BACKUP_CODES_SESSION_KEY] = ["abcd2345", "efgh6789"]
    session.save()
    return made


def check_valid_data_is_accepted(client: Client, endpoint: Endpoint, url: str, world: World):
    """The cases are only worth anything if the valid data they start from is accepted."""
    cookies = copy.deepcopy(client.cookies)
    client.cookies.pop("messages", None)
    with transaction.atomic():
        before = snapshot()
        response = send(client, endpoint, url, endpoint.valid(world))
        assert response.status_code < 500, describe_exception(response)
        outcome, why = verdict(endpoint, response)
        if endpoint.baseline == "success":
            assert outcome == "accepted", (
                f"valid data for {endpoint.name} was not accepted: {response.status_code} {why} "
                f"{error_messages(response)} {text_of(response)[:3000]}"
            )
            changes = describe_changes(before, snapshot())
            if endpoint.method == "POST" and endpoint.writes:
                assert changes, f"valid data for {endpoint.name} saved nothing"
        transaction.set_rollback(True)
    client.cookies = cookies


# -- 1. bad input: a clear error, and nothing changes ------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_bad_input_gets_a_clear_error_and_changes_nothing(endpoint, world, clients):
    client = clients[endpoint.role]
    url = endpoint.url(world)
    check_valid_data_is_accepted(client, endpoint, url, world)
    before = snapshot()
    failures = []
    for case in cases_for(endpoint, world):
        if known_bug(endpoint.name, case.id):
            continue
        problem = run_case(client, endpoint, url, case, before)
        if problem:
            failures.append(f"{case.id}: {problem}")
    assert not failures, f"{endpoint.name}: {len(failures)} bad answers\n" + "\n".join(failures)


def known_bug_params() -> list:
    params = []
    for (name, case), (reason, vendors) in sorted(KNOWN_BUGS.items()):
        applies = vendors is None or vendor() in vendors
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if applies else []
        params.append(pytest.param(name, case, marks=marks, id=f"{name}|{case}"))
    none = pytest.mark.skip(reason="no known bugs: KNOWN_BUGS is empty")
    return params or [pytest.param("", "", marks=none, id="none")]


@pytest.mark.parametrize(("endpoint_name", "case_id"), known_bug_params())
def test_known_bug(endpoint_name, case_id, world, clients):
    """One known bug's case alone; a strict xfail: it passes (and fails the run) once fixed."""
    endpoint = ENDPOINTS_BY_NAME[endpoint_name]
    case = next(c for c in cases_for(endpoint, world) if c.id == case_id)
    problem = run_case(clients[endpoint.role], endpoint, endpoint.url(world), case, snapshot())
    assert not problem, f"{endpoint_name} {case_id}: {problem}"


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


# -- property-based: any text at all, in the two highest-value endpoints -----------------------

HYPOTHESIS = hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=150)


@HYPOTHESIS
@given(first_name=ANY_TEXT, last_name=ANY_TEXT, address=st.text(max_size=600))
def test_registration_with_any_text_is_stored_as_typed_or_refused_cleanly(
    world, clients, first_name, last_name, address
):
    """Each example in its own rolled-back savepoint: the database is counted around each."""
    endpoint = ENDPOINTS_BY_NAME["consultations:patient_create"]
    client = clients["frontdesk"]
    data = patient_valid(world, first_name=first_name, last_name=last_name, address=address)
    client.cookies.pop("messages", None)
    with transaction.atomic():
        before = snapshot()
        response = send(client, endpoint, endpoint.url(world), data)
        assert response.status_code < 500, describe_exception(response)
        outcome, why = verdict(endpoint, response)
        assert outcome != "unclear", why
        if outcome == "refused":
            assert snapshot() == before
        else:
            patient = Patient.objects.exclude(pk=world.patient.pk).get()
            assert (patient.first_name, patient.last_name, patient.address) == (
                first_name.strip(),
                last_name.strip(),
                address.strip(),
            )
        transaction.set_rollback(True)


def json_containers(children):
    """Lists and objects of JSON values (for st.recursive)."""
    return st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=8), children, max_size=3
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    json_containers,
    max_leaves=6,
)


@HYPOTHESIS
@given(
    path=st.sampled_from([path for path, _kind, _required in PLAN_SAVE_FIELDS]),
    value=JSON_VALUES,
    notes=st.text(max_size=4100),
)
def test_plan_save_with_any_json_in_any_field_saves_whole_or_nothing(
    world, clients, path, value, notes
):
    endpoint = ENDPOINTS_BY_NAME["treatments:plan_save"]
    client = clients["practitioner"]
    body = set_path({**endpoint.valid(world), "notes": notes}, path, value)
    with transaction.atomic():
        before = snapshot()
        revision = TreatmentPlan.objects.get(pk=world.draft_plan.pk).revision
        response = send(client, endpoint, endpoint.url(world), body)
        assert response.status_code < 500, describe_exception(response)
        plan = TreatmentPlan.objects.get(pk=world.draft_plan.pk)
        if response.status_code == 200:
            assert plan.revision == revision + 1
            assert plan.notes == body["notes"]
            assert len(notes) <= 4000 and "\x00" not in notes
        else:
            assert 400 <= response.status_code < 500 and json_error(response), response.content
            assert snapshot() == before
        transaction.set_rollback(True)


# -- 2. accepted hostile text is shown escaped -------------------------------------------------


def assert_escaped(page: str, text: str, where: str) -> None:
    assert text not in page, f"{where} shows {text!r} unescaped"
    assert escape(text) in page, f"{where} does not show {text!r} (escaped)"


def assert_no_raw_markup(page: str, where: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in page, f"{where} shows {markup!r} unescaped"


def test_hostile_text_that_is_accepted_is_shown_escaped_wherever_it_appears(world, clients):
    desk, doctor, manager = clients["frontdesk"], clients["practitioner"], clients["manager"]
    # Registered at the desk with markup for a name.
    response = desk.post(
        reverse("consultations:patient_create"),
        patient_valid(
            world,
            first_name=SCRIPT,
            last_name=IMG_ONERROR,
            preferred_name=PDF_STYLE,
            address=PDF_LINK,
            family_doctor=SQL,
        ),
    )
    assert response.status_code == 302, text_of(response)[:2000]
    patient = Patient.objects.get(first_name=SCRIPT)
    assert (patient.last_name, patient.address, patient.family_doctor) == (
        IMG_ONERROR,
        PDF_LINK,
        SQL,
    )
    # Booked with markup in the notes.
    book = ENDPOINTS_BY_NAME["consultations:appointment_book"]
    response = desk.post(
        book.url(world),
        {**book.valid(world), "patient": patient.record_number, "notes": SCRIPT},
    )
    assert response.status_code == 302, text_of(response)[:2000]
    appointment = Appointment.objects.get(patient=patient)
    # The practitioner's consultation notes, the plan's notes and a vector's.
    consultation = ENDPOINTS_BY_NAME["consultations:consultation_detail"]
    response = doctor.post(
        consultation.url(world),
        {
            **consultation_valid(world),
            "expectations": SCRIPT,
            "skin_quality": IMG_ONERROR,
            "area-jawline-concern": PDF_IMG,
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    save = ENDPOINTS_BY_NAME["treatments:plan_save"]
    body = plan_save_valid(world)
    body["notes"] = SCRIPT
    body["vectors"][0]["notes"] = IMG_ONERROR
    response = send(doctor, save, save.url(world), body)
    assert response.status_code == 200, response.content
    # A product (typed by a manager) with markup for a name, with a lot in stock.
    product = ThreadProduct.objects.create(
        manufacturer=IMG_ONERROR,
        name=SCRIPT,
        material="PDO",
        thread_type="mono",
        gauge=29,
        thread_length_mm=38,
        needle_length_mm=40,
        delivery="needle",
        absorption_months=6,
        unit_price="6.50",
    )
    services.receive_stock(
        product=product,
        location=world.location,
        lot_number="HOSTILE-1",
        expires_on=timezone.localdate() + timedelta(days=10),
        quantity=3,
        received_by=world.manager,
    )
    # A session's addendum.
    addendum = ENDPOINTS_BY_NAME["treatments:session_addendum"]
    assert doctor.post(addendum.url(world), {"text": SCRIPT}).status_code == 302

    starts = timezone.localtime(appointment.starts_at, world.location.zone).date().isoformat()
    pages = {
        "chart": (desk, reverse("consultations:patient_chart", args=[patient.pk])),
        "chart (clinical)": (doctor, reverse("consultations:patient_chart", args=[patient.pk])),
        "edit form": (desk, reverse("consultations:patient_edit", args=[patient.pk])),
        "search": (desk, reverse("consultations:patient_search") + "?q=script"),
        "search query": (desk, f"/patients/?{urlencode({'q': SCRIPT})}"),
        "appointment": (desk, reverse("consultations:appointment_detail", args=[appointment.pk])),
        "calendar": (desk, reverse("consultations:calendar_day") + f"?date={starts}"),
        "day list": (desk, reverse("consultations:day_list") + f"?date={starts}"),
        "consultation": (doctor, f"/consultations/{world.consultation.pk}/"),
        "planner": (doctor, reverse("treatments:planner", args=[world.draft_plan.pk])),
        "stock": (manager, reverse("treatments:stock_overview")),
        "session": (doctor, reverse("treatments:session_detail", args=[world.done_session.pk])),
        "audit trail": (manager, reverse("audit_trail") + "?" + urlencode({"user": SCRIPT})),
    }  # fmt: skip
    shown = {}
    for where, (client, url) in pages.items():
        response = client.get(url)
        assert response.status_code == 200, f"{where}: {response.status_code}"
        shown[where] = text_of(response)
        assert_no_raw_markup(shown[where], where)

    for where in ("chart", "chart (clinical)", "edit form"):
        assert_escaped(shown[where], SCRIPT, where)
        assert_escaped(shown[where], IMG_ONERROR, where)
    assert_escaped(shown["chart (clinical)"], PDF_LINK, "chart")
    assert_escaped(shown["edit form"], PDF_STYLE, "edit form")
    for where in ("search", "appointment", "calendar", "day list"):
        assert_escaped(shown[where], SCRIPT, where)
    assert_escaped(shown["search query"], SCRIPT, "search query")
    for text in (SCRIPT, IMG_ONERROR, PDF_IMG):
        assert_escaped(shown["consultation"], text, "consultation")
    assert_escaped(shown["stock"], SCRIPT, "stock")
    assert_escaped(shown["stock"], IMG_ONERROR, "stock")
    assert_escaped(shown["session"], SCRIPT, "session")
    # The planner's data block is JSON in a <script type="application/json">: < and > escaped.
    block = re.search(
        r'<script id="planner-data" type="application/json">(.*?)</script>', shown["planner"], re.S
    )
    assert block, "the planner's data block is missing"
    assert "<" not in block.group(1) and ">" not in block.group(1)
    data = json.loads(block.group(1))
    assert data["notes"] == SCRIPT
    assert data["vectors"][0]["notes"] == IMG_ONERROR
    assert SCRIPT in [product["name"] for product in data["products"]]


# -- 3. printed documents: hostile text printed as text, nothing fetched -----------------------

PRINTED = {
    "screening summary": ("practitioner", "consultations:screening_pdf", "screening"),
    "plan summary": ("practitioner", "treatments:plan_pdf", "draft_plan"),
    "consent copy": ("practitioner", "treatments:consent_pdf", "consent"),
    "aftercare sheet": ("practitioner", "treatments:aftercare_pdf", "done_session"),
    "day's aftercare sheets": ("frontdesk", "treatments:aftercare_day_pdf", None),
}
EVERY_PAYLOAD = " ".join(PDF_PAYLOADS)


def squeezed(text: str) -> str:
    """Without white space (lines wrap where the layout likes) and ligatures spelled out."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def make_hostile(world: World) -> None:
    """The patient's name and every note the documents print carry markup that would fetch."""
    Patient.objects.filter(pk=world.patient.pk).update(
        first_name=f"{PDF_IMG} {PDF_STYLE}"[:100], last_name=PDF_LINK
    )
    user = world.doctor_user
    draft = TreatmentPlan.objects.get(pk=world.draft_plan.pk)
    vectors = vector_payloads(draft)
    vectors[0]["notes"] = PDF_STYLE
    services.save_plan(
        plan=draft, revision=draft.revision, vectors=vectors, notes=EVERY_PAYLOAD, saved_by=user
    )
    consultation_services.decide_screening(
        screening=world.screening,
        decision="overridden",
        justification=f"Seen by her psychologist: {EVERY_PAYLOAD}",
        decided_by=user,
    )
    services.withdraw_consent(consent=world.consent, reason=EVERY_PAYLOAD, withdrawn_by=user)


@pytest.mark.parametrize("document", PRINTED, ids=list(PRINTED))
def test_printed_documents_show_hostile_text_as_text_and_fetch_nothing(
    document, world, clients, caplog
):
    make_hostile(world)
    role, url_name, record = PRINTED[document]
    args = [getattr(world, record).pk] if record else []
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        response = clients[role].get(reverse(url_name, args=args))
    assert response.status_code == 200, text_of(response)[:2000]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = squeezed(pdf_text(response.content))
    for payload in PDF_PAYLOADS:
        assert squeezed(payload) in text, f"{document} does not print {payload!r} as text"
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert not refused, refused
    assert not [r for r in caplog.records if r.name == "clinic.pdf" and r.levelno >= logging.ERROR]


def test_the_record_export_prints_hostile_text_as_text_and_fetches_nothing(world, clients, caplog):
    """The export's summary.pdf, and the consent copies and aftercare sheets it holds."""
    make_hostile(world)
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        response = clients["manager"].post(
            reverse("records:patient_export", args=[world.patient.pk]),
            {"identity_checked": "on"},
        )
    assert response.status_code == 200, text_of(response)[:2000]
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        pdfs = {name: archive.read(name) for name in archive.namelist() if name.endswith(".pdf")}
    assert "summary.pdf" in pdfs
    for name, pdf in pdfs.items():
        text = squeezed(pdf_text(pdf))
        for payload in PDF_PAYLOADS:  # the patient's name is on every document
            assert squeezed(payload) in text, f"{name} does not print {payload!r} as text"
    refused = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert not refused, refused


# -- 4. sizes, content types, methods, CSRF ----------------------------------------------------


def assert_json_refusal_changes_nothing(client, url, *, data, content_type, **extra):
    before = snapshot()
    response = client.post(url, data=data, content_type=content_type, **extra)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert json_error(response), response.content[:300]
    assert snapshot() == before
    return response


def test_a_plan_save_over_256_kb_is_refused_with_a_message(world, clients):
    endpoint = ENDPOINTS_BY_NAME["treatments:plan_save"]
    body = encode_json(plan_save_valid(world))
    padded = body[:-1] + b" " * (256 * 1024 + 1 - len(body)) + b"}"
    assert len(padded) == 256 * 1024 + 1 and json.loads(padded)
    response = assert_json_refusal_changes_nothing(
        clients["practitioner"], endpoint.url(world), data=padded, content_type="application/json"
    )
    assert "too large" in json_error(response)


def test_an_appointment_move_over_10_kb_is_refused_with_a_message(world, clients):
    endpoint = ENDPOINTS_BY_NAME["consultations:appointment_move"]
    body = encode_json(endpoint.valid(world))
    padded = body[:-1] + b" " * (10 * 1024 + 1 - len(body)) + b"}"
    response = assert_json_refusal_changes_nothing(
        clients["frontdesk"], endpoint.url(world), data=padded, content_type="application/json"
    )
    assert "too large" in json_error(response)


def test_a_form_over_djangos_limits_is_refused_and_saves_nothing(world, clients, settings):
    endpoint = ENDPOINTS_BY_NAME["consultations:patient_create"]
    client = clients["frontdesk"]
    url = endpoint.url(world)
    over = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    for name, data in {
        "over the size limit": {**patient_valid(world), "address": "x" * over},
        "too many fields": {
            **patient_valid(world),
            **{f"f{n}": "1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)},
        },
    }.items():
        before = snapshot()
        response = send(client, endpoint, url, data)
        assert response.status_code == 400, (name, response.status_code)
        assert snapshot() == before, name


JSON_ENDPOINTS = [
    "treatments:plan_save",
    "treatments:plan_calibrate",
    "consultations:appointment_move",
]


@pytest.mark.parametrize("name", JSON_ENDPOINTS)
def test_json_endpoints_refuse_a_body_that_is_not_json(name, world, clients):
    endpoint = ENDPOINTS_BY_NAME[name]
    client, url = clients[endpoint.role], endpoint.url(world)
    valid = endpoint.valid(world)
    form_encoded = urlencode({key: json.dumps(value) for key, value in valid.items()})
    assert_json_refusal_changes_nothing(
        client, url, data=form_encoded, content_type="application/x-www-form-urlencoded"
    )
    # multipart/form-data, as a browser's form would send it.
    before = snapshot()
    response = client.post(url, {key: json.dumps(value) for key, value in valid.items()})
    assert 400 <= response.status_code < 500 and json_error(response), response.content[:300]
    assert snapshot() == before
    assert_json_refusal_changes_nothing(client, url, data="hello", content_type="text/plain")


@pytest.mark.parametrize("name", JSON_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_json_endpoints_refuse_json_sent_as_another_content_type(
    name, content_type, world, clients
):
    """A cross-site form can send text/plain or urlencoded bodies, never application/json."""
    endpoint = ENDPOINTS_BY_NAME[name]
    assert_json_refusal_changes_nothing(
        clients[endpoint.role],
        endpoint.url(world),
        data=encode_json(endpoint.valid(world)),
        content_type=content_type,
    )


POST_ONLY = [
    "choose_location",
    "consultations:patient_archive",
    "consultations:patient_restore",
    "consultations:photo_upload",
    "consultations:appointment_move",
    "consultations:appointment_status",
    "consultations:consultation_start",
    "consultations:consultation_for_appointment",
    "consultations:screening_decide",
    "treatments:plan_save",
    "treatments:plan_status",
    "treatments:plan_revise",
    "treatments:plan_calibrate",
    "treatments:consent_withdraw",
    "treatments:session_start",
    "treatments:session_complete",
    "treatments:session_addendum",
    "two_factor_new_backup_codes",
    "staff_reset_two_factor",
]


def test_get_on_post_only_endpoints_is_405_and_changes_nothing(world, clients):
    wrong = []
    before = snapshot()
    for name in POST_ONLY:
        endpoint = ENDPOINTS_BY_NAME[name]
        response = clients[endpoint.role].get(endpoint.url(world))
        if response.status_code != 405:
            wrong.append(f"{name}: {response.status_code}")
    assert not wrong, wrong
    assert snapshot() == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_on_forms_are_405(method, world, clients):
    wrong = []
    for endpoint in ENDPOINTS:
        if endpoint.role == "anonymous":
            continue
        response = getattr(clients[endpoint.role], method)(endpoint.url(world))
        if response.status_code != 405:
            wrong.append(f"{endpoint.name}: {response.status_code}")
    assert not wrong, wrong


@pytest.mark.parametrize(
    "name",
    ["consultations:patient_create", "consultations:appointment_book", "treatments:plan_save"],
)
def test_a_post_without_the_csrf_token_is_refused(name, world):
    endpoint = ENDPOINTS_BY_NAME[name]
    user = {"frontdesk": world.frontdesk, "practitioner": world.doctor_user}[endpoint.role]
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user)
    before = snapshot()
    response = send(client, endpoint, endpoint.url(world), endpoint.valid(world))
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    "token",
    ["<script>alert(1)</script>", "a" * 500, "%00" * 30, "..%2F..%2Fetc%2Fpasswd", "' OR 1=1 --"],
)
def test_a_calendar_feed_token_of_any_shape_is_not_found(token, world):
    before = snapshot()
    response = Client(raise_request_exception=False).get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 404
    assert snapshot() == before


# -- the table covers every URL ----------------------------------------------------------------


def url_names() -> set[str]:
    names = set()

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                walk(pattern, namespace)
            elif pattern.name:
                names.add(prefix + pattern.name)

    walk(get_resolver())
    return names


def covered_names() -> set[str]:
    table = {endpoint.name.split(" ")[0] for endpoint in ENDPOINTS}
    return table | READ_ONLY_URLS | NOT_COVERED_URLS


def test_every_url_is_in_the_table():
    """A view added since this table was made is listed here until it gets its row."""
    missing = sorted(
        name for name in url_names() - covered_names() if not name.startswith(NOT_COVERED_PREFIXES)
    )
    if missing:
        pytest.skip(f"not yet in the hostile-input table: {', '.join(missing)}")


@pytest.mark.parametrize("feature", PENDING_FEATURES, ids=list(PENDING_FEATURES))
def test_features_still_being_written_are_in_the_table(feature):
    names = sorted(
        name
        for name in url_names()
        if any(keyword in name for keyword in PENDING_FEATURES[feature])
        and not name.startswith(NOT_COVERED_PREFIXES)
    )
    if not names:
        pytest.skip(f"{feature}: no URL yet")
    missing = [name for name in names if name not in covered_names()]
    if missing:
        pytest.skip(f"{feature}: {missing} need rows in ENDPOINTS")
