"""Read-side queries about patients: search, duplicate look-up and the chart timeline."""

import re
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from django.db.models import F, Q, QuerySet

from clinic.models import Location
from consultations.models import Patient, fold_text

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
    text = " ".join(query.split())[:100]
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
class TimelineEntry:
    when: datetime
    kind: str
    title: str
    detail: str = ""
    url: str = ""
    clinical: bool = False


def patient_timeline(patient: Patient, *, include_clinical: bool) -> list[TimelineEntry]:
    """What happened to this patient, newest first. Clinical entries only for clinicians."""
    from django.urls import reverse

    entries = [TimelineEntry(patient.created_at, "registered", "Registered", patient.record_number)]
    if include_clinical:
        for history in patient.medical_histories.select_related("submitted_by"):
            by = (
                "the patient"
                if history.completed_by_patient
                else (history.submitted_by.get_full_name() if history.submitted_by else "unknown")
            )
            entries.append(
                TimelineEntry(
                    history.submitted_at,
                    "medical_history",
                    f"Medical history, version {history.version}",
                    f"completed by {by}",
                    reverse("consultations:medical_history_detail", args=[history.pk]),
                    clinical=True,
                )
            )
        for photo in patient.photos.filter(is_archived=False):
            entries.append(
                TimelineEntry(
                    photo.uploaded_at,
                    "photo",
                    f"Photo: {photo.get_view_display()}, {photo.get_stage_display()}",
                    f"taken {photo.taken_on:%d %b %Y}",
                    reverse("consultations:photo_list", args=[patient.pk]),
                    clinical=True,
                )
            )
    if patient.is_archived and patient.archived_at:
        entries.append(
            TimelineEntry(patient.archived_at, "archived", "Archived", patient.archive_reason)
        )
    return sorted(entries, key=lambda entry: entry.when, reverse=True)
