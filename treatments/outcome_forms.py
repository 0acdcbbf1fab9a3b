"""Forms of the follow-up pages: a review's outcome, and an adverse event after a session.

They check what was typed and offer only this patient's appointments (at the
user's locations) and photos and this session's lots; treatments.services (record_outcome,
report_adverse_event) decides again and writes. Numbers are whole numbers typed
as digits: "abc", "2.5", "-1" or "1e1" get a clear error, never a guess.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from clinic.access import AnyUser
from clinic.form_fields import IdChoiceField, declared_field
from consultations.forms import DateInput
from consultations.models import (
    FREEING_STATUSES,
    Appointment,
    AppointmentKind,
    PatientPhoto,
    PhotoStage,
)
from treatments.models import (
    AdverseEventType,
    Gais,
    Severity,
    StockLot,
    TreatmentSession,
)

GAIS_MESSAGE = "Choose a score from 1 (very much improved) to 5 (worse)."
SATISFACTION_MESSAGE = "Type the patient's satisfaction as a whole number from 0 to 10."
WHOLE_NUMBER = re.compile(r"[0-9]{1,3}")


def session_day(session: TreatmentSession) -> date:
    """The day the session took place, on the location's calendar."""
    return timezone.localtime(session.started_at, session.location.zone).date()


def location_today(session: TreatmentSession) -> date:
    return timezone.localdate(timezone=session.location.zone)


class GaisField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            choices=Gais.choices,
            coerce=int,
            widget=forms.RadioSelect,
            error_messages={"required": GAIS_MESSAGE, "invalid_choice": GAIS_MESSAGE},
            **kwargs,
        )


class SatisfactionField(forms.Field):
    """0 to 10, typed as digits only."""

    widget = forms.NumberInput

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"required": SATISFACTION_MESSAGE})
        super().__init__(**kwargs)

    def widget_attrs(self, widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "min": "0", "max": "10", "step": "1"}

    def to_python(self, value: Any) -> int | None:
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        if not WHOLE_NUMBER.fullmatch(text):
            raise forms.ValidationError(SATISFACTION_MESSAGE, code="invalid")
        return int(text)

    def validate(self, value: int | None) -> None:
        super().validate(value)
        if value is not None and not 0 <= value <= 10:
            raise forms.ValidationError(SATISFACTION_MESSAGE, code="range")


class ReviewChoiceField(forms.ModelChoiceField[Appointment]):
    def __init__(self, *args, zone, **kwargs):
        self.zone = zone
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Appointment) -> str:
        local = timezone.localtime(obj.starts_at, self.zone)
        return (
            f"{local.day} {local:%b %Y, %H:%M} · {obj.appointment_type.name} "
            f"({obj.get_status_display().lower()})"
        )


def review_appointments(session: TreatmentSession, user: AnyUser):
    """This patient's review appointments that were not cancelled or missed, latest first.

    Only those the user may reach: a review booked at another location is that location's.
    """
    return (
        Appointment.objects.for_user(user)
        .filter(patient_id=session.patient_id, appointment_type__kind=AppointmentKind.REVIEW)
        .exclude(status__in=FREEING_STATUSES)
        .select_related("appointment_type")
        .order_by("-starts_at", "-pk")
    )


def follow_up_photos(session: TreatmentSession):
    """This patient's photos after the baseline (any later stage), newest first."""
    return (
        PatientPhoto.objects.filter(patient_id=session.patient_id, is_archived=False)
        .exclude(stage=PhotoStage.BASELINE)
        .order_by("-taken_on", "-uploaded_at", "-pk")
    )


class OutcomeForm(forms.Form):
    """A follow-up review: GAIS from both sides, satisfaction, notes, appointment and photos."""

    gais_practitioner = GaisField(
        label="Global Aesthetic Improvement Scale: your assessment",
        help_text="Compared with before the treatment.",
    )
    gais_patient = GaisField(
        label="Global Aesthetic Improvement Scale: the patient's assessment",
        help_text="Ask the patient to choose, compared with before the treatment.",
    )
    satisfaction = SatisfactionField(
        label="Patient satisfaction (0 to 10)",
        help_text="0 not at all satisfied, 10 completely satisfied.",
    )
    notes = forms.CharField(
        label="Notes",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    appointment = ReviewChoiceField(
        queryset=Appointment.objects.none(),
        zone=None,
        required=False,
        label="Review appointment",
        empty_label="Not at a booked review",
        error_messages={"invalid_choice": "Choose one of this patient's review appointments."},
    )
    photos = IdChoiceField(
        queryset=PatientPhoto.objects.none(),
        required=False,
        label="Follow-up photos",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Choose this patient's follow-up photos only.",
            "invalid_pk_value": "Choose this patient's follow-up photos only.",
        },
    )

    def __init__(self, *args, session: TreatmentSession, user: AnyUser, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session
        declared_field(self, "appointment", forms.ModelChoiceField).queryset = review_appointments(
            session, user
        )
        declared_field(self, "appointment", ReviewChoiceField).zone = session.location.zone
        declared_field(self, "photos", forms.ModelChoiceField).queryset = follow_up_photos(session)


class LotChoiceField(IdChoiceField[StockLot]):
    def label_from_instance(self, obj: StockLot) -> str:
        return f"{obj.product.name}, lot {obj.lot_number} (exp. {obj.expires_on:%d %b %Y})"


class AdverseEventForm(forms.Form):
    """A complication after a session, naming the lots involved (for recalls)."""

    event_type = forms.ChoiceField(
        label="What happened",
        choices=[("", "Choose the type of event"), *AdverseEventType.choices],
        error_messages={
            "required": "Choose the type of event.",
            "invalid_choice": "Choose one of the listed types of event.",
        },
    )
    severity = forms.ChoiceField(
        choices=Severity.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how severe it is.",
            "invalid_choice": "Choose mild, moderate or severe.",
        },
    )
    serious = forms.BooleanField(
        label="Serious",
        required=False,
        help_text="Led to death, was life-threatening, needed admission to hospital, caused "
        "lasting harm, or needed treatment to prevent lasting harm (as the MHRA Yellow Card "
        "and FDA MedWatch forms ask).",
    )
    onset_on = forms.DateField(
        label="Began on",
        widget=DateInput(),
        error_messages={
            "required": "Type the day it began.",
            "invalid": "Type the day it began as a date, e.g. 2025-05-14.",
        },
    )
    lots = LotChoiceField(
        queryset=StockLot.objects.none(),
        required=False,
        label="Lots involved",
        help_text="The lots placed in this session that the event concerns.",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Choose lots used in this session.",
            "invalid_pk_value": "Choose lots used in this session.",
        },
    )
    management = forms.CharField(
        label="How it was managed",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    threads_removed = forms.BooleanField(label="Threads were removed", required=False)
    resolved_on = forms.DateField(
        label="Resolved on",
        required=False,
        widget=DateInput(),
        help_text="Leave empty while it is ongoing.",
        error_messages={"invalid": "Type the day it resolved as a date, e.g. 2025-05-30."},
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, session: TreatmentSession, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session
        declared_field(self, "lots", forms.ModelChoiceField).queryset = (
            StockLot.objects.filter(placements__session=session)
            .select_related("product")
            .distinct()
            .order_by("product__name", "lot_number")
        )

    def clean_onset_on(self) -> date:
        onset = self.cleaned_data["onset_on"]
        started = session_day(self.session)
        if onset < started:
            raise forms.ValidationError(f"It cannot begin before the session ({started:%d %b %Y}).")
        if onset > location_today(self.session):
            raise forms.ValidationError("The day it began cannot be in the future.")
        return onset

    def clean_resolved_on(self) -> date | None:
        resolved = self.cleaned_data.get("resolved_on")
        if resolved is not None and resolved > location_today(self.session):
            raise forms.ValidationError("The day it resolved cannot be in the future.")
        return resolved

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        onset, resolved = cleaned.get("onset_on"), cleaned.get("resolved_on")
        if onset is not None and resolved is not None and resolved < onset:
            self.add_error("resolved_on", "It cannot resolve before it began.")
        return cleaned
