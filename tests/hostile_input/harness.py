"""The harness: field kinds and the bad values each gets, the cases built from an endpoint's
row, how they are sent, and how an answer is judged."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib.messages import ERROR
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test import Client

from consultations.booking.forms import LocalDateTimeField
from tests.hostile_input.payloads import (
    ACCEPTABLE_TEXT,
    FILE_URL,
    HUGE,
    LONG,
    METADATA_URL,
    NEGATIVE,
    NUL,
    OVERFLOW_FLOAT,
    SCRIPT,
    SQL,
    WORDS,
)
from tests.hostile_input.snapshot import (
    WriteWatcher,
    describe_changes,
    snapshot,
)
from tests.hostile_input.world import (
    World,
)
from treatments.session_forms import (
    WholeNumberField,
)

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

    `before` is the snapshot of the database as every case finds it (each is rolled back);
    the answer is compared with it on every table the request wrote to.
    """
    # The database is rolled back after each case: so are the client's cookies (a session
    # key cycled by a sign-in, messages left for the next page).
    cookies = copy.deepcopy(client.cookies)
    client.cookies.pop("messages", None)
    with transaction.atomic():
        try:
            watcher = WriteWatcher()
            with connection.execute_wrapper(watcher):
                response = send(client, endpoint, url, case.payload)
            status = response.status_code
            if status >= 500:
                return f"answered {status}{describe_exception(response)}"
            try:
                after = snapshot(tables=watcher.tables)
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
