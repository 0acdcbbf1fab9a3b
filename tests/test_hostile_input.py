"""Hostile input: every form and JSON endpoint answers bad input with a clear error and saves nothing.

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
  (tests.hostile_fixtures.snapshot) is the same before and after.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django import forms
from django.contrib.messages import ERROR, get_messages
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError
from django.test import Client
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from consultations.booking_forms import BookingForm, LocalDateTimeField
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

# -- fields and the bad values each kind gets -------------------------------------------------

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


def form_bad_values(spec: Field, valid: Any) -> list[tuple[str, Any, bool]]:
    """(case id, value, must the endpoint refuse it) for one form field; None means 'omit it'."""
    kind = spec.kind
    lenient = kind in (TEXT_KIND, BOOL, IGNORED, PRESENCE)
    values: list[tuple[str, Any, bool]] = [
        (name, text, not lenient) for name, text in ACCEPTABLE_TEXT.items()
    ]
    values += [
        ("words-in-number", WORDS, not lenient),
        ("huge-number", HUGE, not lenient),
        ("negative", NEGATIVE, not lenient),
        ("overflowing-float", OVERFLOW_FLOAT, not lenient),
        ("number-in-choice", "99", kind in (CHOICE, MULTI, TOKEN, LOOKUP)),
        ("unknown-id", UNKNOWN_ID, kind in (ID, MULTI, TOKEN, LOOKUP, CHOICE)),
        (
            "ten-thousand-chars",
            LONG,
            kind not in (BOOL, IGNORED, PRESENCE)
            and not (kind == TEXT_KIND and (spec.max_length or 10**6) >= len(LONG)),
        ),
        ("nul-byte", NUL, kind not in (BOOL, IGNORED, PRESENCE)),
        ("list", [valid if valid not in (None, "") else "x", WORDS], not lenient),
        ("missing", None, spec.required and kind not in (IGNORED,)),
        ("empty", "", spec.required and kind not in (IGNORED, PRESENCE)),
    ]
    return values


# -- endpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One form or JSON endpoint: the row of the table in the module's docstring."""

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
        "phone": "+447700900123",
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
    management = [
        Field(f"treatments-{name}", NUMBER)
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
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
    (("vectors", 0), "object", True),
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
            "stage": "follow_up",
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
        lambda w: form_fields(OutcomeForm(session=w.done_session)),
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
}


# -- known bugs (run one by one as strict xfails) --------------------------------------------

# (endpoint name, case id) -> (reason, vendors it happens on, or None for every database)
KNOWN_BUGS: dict[tuple[str, str], tuple[str, frozenset[str] | None]] = {}


def known_bug(endpoint: str, case: str) -> tuple[str, frozenset[str] | None] | None:
    bug = KNOWN_BUGS.get((endpoint, case))
    if bug is None:
        return None
    reason, vendors = bug
    return bug if vendors is None or vendor() in vendors else None


# -- building the cases --------------------------------------------------------------------------


def without(data: dict, name: str) -> dict:
    return {key: value for key, value in data.items() if key != name}


def form_cases(endpoint: Endpoint, world: World) -> list[Case]:
    valid = endpoint.valid(world)
    cases = []
    for spec in endpoint.fields(world):
        current = valid.get(spec.name)
        for case_id, value, must_refuse in form_bad_values(spec, current):
            data = without(valid, spec.name) if value is None else {**valid, spec.name: value}
            cases.append(Case(f"{spec.name}={case_id}", data, must_refuse))
        # Invalid UTF-8 in the body: %FF%FE is no character at all.
        rest = urlencode(form_encodable(without(valid, spec.name)), doseq=True)
        raw = (rest + ("&" if rest else "") + f"{spec.name}=%FF%FE").encode("ascii")
        lenient = spec.kind in (TEXT_KIND, BOOL, IGNORED, PRESENCE)
        cases.append(Case(f"{spec.name}=invalid-utf8", raw, not lenient))
    everything_required = any(spec.required for spec in endpoint.fields(world))
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
    scalars = [
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
        *[(name, text) for name, text in ACCEPTABLE_TEXT.items()],
    ]
    values = []
    for case_id, value in scalars:
        if kind == TEXT_KIND:
            refuse = not isinstance(value, str) or value in (LONG, NUL)
        else:
            refuse = True
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


# -- sending and judging ---------------------------------------------------------------------------


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
    request = getattr(response, "wsgi_request", None)
    if request is None or not hasattr(request, "_messages"):
        return []
    return [str(m) for m in get_messages(request) if m.level >= ERROR]


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


def describe_exception(response) -> str:
    info = getattr(response, "exc_info", None)
    if not info:
        return ""
    exc = info[1]
    return f": {type(exc).__name__}: {str(exc)[:160]}"


def run_case(client: Client, endpoint: Endpoint, url: str, case: Case) -> str:
    """Send one case in a savepoint that is rolled back; "" if the answer was right, else why."""
    with transaction.atomic():
        try:
            before = snapshot()
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


# -- fixtures ----------------------------------------------------------------------------------------


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
    return {
        "frontdesk": signed_in(world.frontdesk),
        "practitioner": signed_in(world.doctor_user),
        "manager": signed_in(world.manager),
        "anonymous": signed_in(None),
    }


def check_valid_data_is_accepted(client: Client, endpoint: Endpoint, url: str, world: World):
    """The cases are only worth anything if the valid data they start from is accepted."""
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


# -- 1. bad input: a clear error, and nothing changes -----------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_bad_input_gets_a_clear_error_and_changes_nothing(endpoint, world, clients):
    client = clients[endpoint.role]
    url = endpoint.url(world)
    check_valid_data_is_accepted(client, endpoint, url, world)
    failures = []
    for case in cases_for(endpoint, world):
        if known_bug(endpoint.name, case.id):
            continue
        problem = run_case(client, endpoint, url, case)
        if problem:
            failures.append(f"{case.id}: {problem}")
    assert not failures, f"{endpoint.name}: {len(failures)} bad answers\n" + "\n".join(failures)


def known_bug_params() -> list:
    params = []
    for (name, case), (reason, vendors) in sorted(KNOWN_BUGS.items()):
        applies = vendors is None or vendor() in vendors
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if applies else []
        params.append(pytest.param(name, case, marks=marks, id=f"{name}|{case}"))
    return params or [pytest.param("", "", marks=pytest.mark.skip(reason="none"), id="none")]


@pytest.mark.parametrize(("endpoint_name", "case_id"), known_bug_params())
def test_known_bug(endpoint_name, case_id, world, clients):
    """One known bug's case alone; a strict xfail: it passes (and fails the run) once fixed."""
    endpoint = ENDPOINTS_BY_NAME[endpoint_name]
    case = next(c for c in cases_for(endpoint, world) if c.id == case_id)
    problem = run_case(clients[endpoint.role], endpoint, endpoint.url(world), case)
    assert not problem, f"{endpoint_name} {case_id}: {problem}"
