"""Read-side queries about patients: search, duplicate look-up and the chart timeline."""

import re
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from clinic.models import Location
from consultations.models import Patient, Screening, fold_text

SEARCH_LIMIT = 25
RECORD_NUMBER_RE = re.compile(r"^[A-Za-z]{2}\d{1,10}$")
PHONE_RE = re.compile(r"^[\d\s()+.\-/]{4,30}$")

DAY_FIRST_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y"]
MONTH_FIRST_FORMATS = ["%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%m/%d/%y"]


def parse_typed_date(text: str, location: Location | None) -> date | None:
    """A date typed the way people write dates at this location, or ISO 8601."""
    formats = ["%Y-%m-%d"]
    formats += (
        MONTH_FIRST_FORMATS if location and location.writes_month_first else DAY_FIRST_FORMATS
    )
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def phone_search_digits(text: str, location: Location | None) -> set[str]:
    """Digit strings to look for in stored E.164 numbers, however the number was typed."""
    digits = "".join(ch for ch in text if ch.isdigit())
    candidates = {digits.lstrip("0")} if len(digits.lstrip("0")) >= 4 else set()
    region = location.country if location else None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return candidates
    if phonenumbers.is_possible_number(number):
        candidates.add(f"{number.country_code}{number.national_number}")
    return candidates


def recent_first(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    return patients.order_by(F("last_visit_at").desc(nulls_last=True), "-created_at", "-pk")


def search_patients(
    *,
    query: str,
    location: Location | None = None,
    include_archived: bool = False,
    limit: int = SEARCH_LIMIT,
) -> list[Patient]:
    """Patients matching what the front desk typed, newest visit first, in one query.

    Understands any part of a name (accents and case ignored), a record number,
    a date of birth written as the location writes dates, or a phone number in
    any common format.
    """
    # A NUL byte can never match and PostgreSQL refuses it in a query: drop it.
    text = " ".join(query.replace("\x00", "").split())[:100]
    if len(text) < 2:
        return []
    patients = (
        Patient.objects.all() if include_archived else Patient.objects.filter(is_archived=False)
    )

    if RECORD_NUMBER_RE.match(text):
        # Record numbers are upper case: a plain prefix match can use the index.
        condition = Q(record_number__startswith=text.upper())
    elif born := parse_typed_date(text, location):
        condition = Q(date_of_birth=born)
    elif PHONE_RE.match(text) and (numbers := phone_search_digits(text, location)):
        condition = Q()
        for digits in numbers:
            condition |= Q(phone_digits__contains=digits)
    else:
        condition = Q()
        for word in fold_text(text).split():
            condition &= Q(search_name__contains=word)
    return list(recent_first(patients.filter(condition))[:limit])


def recent_patients(*, limit: int = SEARCH_LIMIT) -> list[Patient]:
    return list(recent_first(Patient.objects.filter(is_archived=False))[:limit])


def find_possible_duplicates(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phone: str = "",
    email: str = "",
    exclude_pk: int | None = None,
) -> list[Patient]:
    """Existing patients (archived too) with the same name and birth date, phone or email."""
    condition = Q(pk__in=[])
    if first_name and last_name and date_of_birth:
        condition |= Q(
            search_name__startswith=fold_text(f"{first_name} {last_name}"),
            date_of_birth=date_of_birth,
        )
    if phone_digits := "".join(ch for ch in str(phone or "") if ch.isdigit()):
        condition |= Q(phone_digits=phone_digits)
    if email:
        condition |= Q(email__iexact=email.strip())
    matches = Patient.objects.filter(condition)
    if exclude_pk is not None:
        matches = matches.exclude(pk=exclude_pk)
    return list(matches.order_by("last_name", "first_name")[:10])


@dataclass(frozen=True)
class PlanningGate:
    """Whether a treatment plan may be started, and if not, why and what to do."""

    allowed: bool
    screening: Screening | None
    reason: str
    next_step: str = ""


def screening_needs_review(screening: Screening, latest_history_version: int | None) -> bool:
    """A medical history submitted after the screening means it must be looked at again."""
    return (
        latest_history_version is not None
        and latest_history_version > screening.medical_history.version
    )


def check_planning_gate(*, patient: Patient, today: date | None = None) -> PlanningGate:
    """The gate to planning: a recent, decided screening that allows treatment.

    Recent means within SCREENING_VALID_DAYS (90 by default); allowing means
    suitable or suitable with precautions and accepted, or overridden in writing.
    """
    today = today or timezone.localdate()
    screening = (
        Screening.objects.filter(patient=patient)
        .select_related("medical_history")
        .order_by("-screened_at")
        .first()
    )
    if screening is None:
        return PlanningGate(
            False, None, "The patient has not been screened.", "Run a suitability screening."
        )
    age_days = (today - timezone.localtime(screening.screened_at).date()).days
    if age_days > settings.SCREENING_VALID_DAYS:
        return PlanningGate(
            False,
            screening,
            f"The last screening was {age_days} days ago (limit {settings.SCREENING_VALID_DAYS}).",
            "Screen the patient again.",
        )
    latest = patient.medical_histories.order_by("-version").values_list("version", flat=True)
    if screening_needs_review(screening, latest.first()):
        return PlanningGate(
            False,
            screening,
            "The medical history changed after the last screening.",
            "Review the new answers and screen again.",
        )
    if not screening.decision:
        return PlanningGate(
            False,
            screening,
            "The last screening has no decision yet.",
            "Accept its outcome or override it with a written justification.",
        )
    if not screening.allows_planning:
        return PlanningGate(
            False,
            screening,
            f"The last screening found the patient {screening.get_outcome_display().lower()}"
            + (f" until {screening.defer_until:%d %b %Y}" if screening.defer_until else "")
            + ".",
            "Do not plan treatment; screen again when things change, or override with a "
            "written justification.",
        )
    return PlanningGate(True, screening, "Screening allows planning.")
