"""Forms of the consent and session pages: withdrawal, session completion, addenda.

Numbers are parsed strictly (digits only, no signs, exponents or spaces inside),
so "abc", "2.5" or "1e1" get a clear error instead of a guess. The forms only
check the shape of what was typed; treatments.services decides what is allowed
(lots at this location, in date and with stock; deviations with a reason).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from treatments.models import Anaesthesia, StockLot, ThreadVector
from treatments.services.day_check import DayCheckAnswers
from treatments.services.plans import MAX_COUNT

WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
VOLUME_ML = re.compile(r"[0-9]{1,2}(?:\.[0-9])?")
MAX_VOLUME_ML = Decimal("50")
CONCENTRATION = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")
MAX_CONCENTRATION = Decimal("10")
WEIGHT_KG = re.compile(r"[0-9]{1,3}(?:\.[0-9])?")
MIN_WEIGHT_KG, MAX_WEIGHT_KG = Decimal("30"), Decimal("250")
# A unit typed into a number field ("2 mg", "4ml", "70kg"): refused with what was typed.
UNIT_TYPED = re.compile(r"^[0-9.,]+\s*[A-Za-zµ/]+$")


class WholeNumberField(forms.Field):
    """A whole number typed as digits only; cleans to an int within [min_value, max_value]."""

    widget = forms.TextInput

    def __init__(self, *, min_value: int, max_value: int, message: str, **kwargs):
        self.min_value, self.max_value, self.message = min_value, max_value, message
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        if not WHOLE_NUMBER.fullmatch(text):
            raise ValidationError(self.message, code="invalid")
        return int(text)

    def validate(self, value: int | None) -> None:
        super().validate(value)
        if value is not None and not self.min_value <= value <= self.max_value:
            raise ValidationError(self.message, code="range")


class PlacementForm(forms.Form):
    """One plan vector's row: the lot used, how many threads, and why it differs (if it does)."""

    lot = WholeNumberField(
        min_value=1,
        max_value=2_000_000_000,
        message="choose a lot from the list.",
        error_messages={"required": "choose a lot from the list."},
    )
    count = WholeNumberField(
        label="Threads placed",
        min_value=1,
        max_value=MAX_COUNT,
        message=f"the count must be a whole number from 1 to {MAX_COUNT}.",
        error_messages={"required": f"the count must be a whole number from 1 to {MAX_COUNT}."},
    )
    deviation = forms.CharField(
        label="Deviation from the plan, and why", max_length=300, required=False
    )

    def __init__(self, *args, vector: ThreadVector, number: int, **kwargs):
        kwargs.setdefault("prefix", f"vector-{vector.pk}")
        super().__init__(*args, **kwargs)
        self.vector = vector
        self.number = number

    @property
    def where(self) -> str:
        vector = self.vector
        return f"Vector {self.number} ({vector.get_area_display()}, {vector.get_side_display()})"

    def error_list(self) -> list[str]:
        return [
            f"{self.where}: {message}" for messages in self.errors.values() for message in messages
        ]

    def placement(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "vector": self.vector.pk,
            "lot": data["lot"],
            "count": data["count"],
            "deviation": data["deviation"].strip(),
        }


class SessionDetailsForm(forms.Form):
    """Anaesthesia and how it went: TreatmentSession's SESSION_DETAIL_FIELDS."""

    anaesthesia = forms.ChoiceField(choices=Anaesthesia.choices, initial=Anaesthesia.LOCAL)
    anaesthetic_agent = forms.CharField(
        label="Anaesthetic agent",
        max_length=100,
        required=False,
        help_text="For example lidocaine (lignocaine).",
    )
    anaesthetic_concentration_percent = forms.CharField(
        label="Concentration (% w/v)",
        max_length=5,
        required=False,
        help_text="The strength on the vial, as a percentage: 1 for lidocaine 1% (10 mg/mL).",
    )
    anaesthetic_volume_ml = forms.CharField(
        label="Volume (mL)",
        max_length=6,
        required=False,
        help_text="Up to 50 mL, one decimal place at most (e.g. 4.5).",
    )
    with_adrenaline = forms.TypedChoiceField(
        label="With adrenaline",
        choices=[("", "—"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    patient_weight_kg = forms.CharField(
        label="Patient's weight (kg)",
        max_length=6,
        required=False,
        help_text="In kilograms, 30 to 250; the maximum dose is checked against it.",
    )
    immediate_outcome = forms.CharField(
        label="Immediate outcome",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    complications = forms.CharField(
        label="Complications during the procedure",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_anaesthetic_volume_ml(self) -> Decimal | None:
        text = self.cleaned_data["anaesthetic_volume_ml"].strip()
        if not text:
            return None
        if UNIT_TYPED.search(text):
            raise ValidationError(
                f"Type the volume in millilitres as a number only (e.g. 4.5): “{text}” "
                "is not a number of mL."
            )
        if not VOLUME_ML.fullmatch(text) or Decimal(text) > MAX_VOLUME_ML:
            raise ValidationError(
                "The volume must be a number of millilitres from 0 to 50, "
                "with at most one decimal place."
            )
        return Decimal(text)

    def clean_anaesthetic_concentration_percent(self) -> Decimal | None:
        text = self.cleaned_data["anaesthetic_concentration_percent"].strip().removesuffix("%")
        if not text:
            return None
        if UNIT_TYPED.search(text):
            raise ValidationError(
                f"Type the concentration as a percentage only (e.g. 1 for 1%): “{text}” is "
                "not a % w/v."
            )
        if not CONCENTRATION.fullmatch(text) or not 0 < Decimal(text) <= MAX_CONCENTRATION:
            raise ValidationError(
                f"The concentration is a percentage (w/v) above 0 and at most "
                f"{MAX_CONCENTRATION}, e.g. 1 or 2 for lidocaine: {text} is not a strength "
                "(a dose in mg belongs nowhere here)."
            )
        return Decimal(text)

    def clean_patient_weight_kg(self) -> Decimal | None:
        text = self.cleaned_data["patient_weight_kg"].strip()
        if not text:
            return None
        if not WEIGHT_KG.fullmatch(text):
            raise ValidationError(
                f"Type the weight in kilograms as a number only (e.g. 68.5): “{text}” is not "
                "a weight in kg."
            )
        weight = Decimal(text)
        if not MIN_WEIGHT_KG <= weight <= MAX_WEIGHT_KG:
            raise ValidationError(
                f"A patient's weight is from {MIN_WEIGHT_KG} to {MAX_WEIGHT_KG} kg: {text} kg "
                "cannot be right; weigh the patient again."
            )
        return weight

    def error_list(self) -> list[str]:
        return [
            f"{self.fields[name].label or name.replace('_', ' ').capitalize()}: {message}"
            if name != "__all__"
            else str(message)
            for name, messages in self.errors.items()
            for message in messages
        ]


class WithdrawalForm(forms.Form):
    reason = forms.CharField(
        label="Reason the patient gave",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Record the reason the patient gave."},
    )


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The record itself never changes; the addendum is kept with who and when.",
        error_messages={"required": "Write the correction."},
    )


def lot_label(lot: StockLot) -> str:
    return f"{lot.lot_number} · {lot.quantity_on_hand} on hand · expires {lot.expires_on:%d %b %Y}"


class DayCheckForm(forms.Form):
    """The treatment-day check at the chair: what the practitioner confirms with the patient.

    The page shows what the check found (treatments.services.day_check.review_day);
    this form carries the confirmations, the precautions acknowledged one by one, a
    refusal of baseline photos and the lots to be used. The service decides.
    """

    history_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=1_000_000)
    identity_confirmed = forms.BooleanField(
        required=False, label="The patient read back their name and date of birth"
    )
    allergies_confirmed = forms.BooleanField(
        required=False, label="Allergies confirmed with the patient"
    )
    history_confirmed = forms.BooleanField(
        required=False, label="The patient confirms this medical history is current"
    )
    precautions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Precautions acknowledged"
    )
    photo_refusal_reason = forms.CharField(
        required=False,
        max_length=300,
        label="The patient refused baseline photos: their reason",
    )
    lots = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Lots to be used"
    )

    def __init__(
        self,
        *args: Any,
        precautions: list[tuple[str, str]],
        lots: list[StockLot],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        precaution_field = cast(forms.MultipleChoiceField, self.fields["precautions"])
        lots_field = cast(forms.MultipleChoiceField, self.fields["lots"])
        precaution_field.choices = precautions
        self.lots_by_pk = {str(lot.pk): lot for lot in lots}
        lots_field.choices = [
            (str(lot.pk), f"{lot.product.name}: {lot_label(lot)}") for lot in lots
        ]
        self.fields["lots"].error_messages["invalid_choice"] = (
            "Choose the lots from the list: that one is not held here."
        )

    def answers(self) -> DayCheckAnswers:
        data = self.cleaned_data
        return DayCheckAnswers(
            identity_confirmed=data["identity_confirmed"],
            allergies_confirmed=data["allergies_confirmed"],
            history_confirmed=data["history_confirmed"],
            history_version=data["history_version"],
            precautions_acknowledged=frozenset(data["precautions"]),
            photo_refusal_reason=data["photo_refusal_reason"],
            lots=tuple(self.lots_by_pk[pk] for pk in data["lots"]),
        )

    def error_list(self) -> list[str]:
        return [
            f"{self.fields[name].label or name.replace('_', ' ').capitalize()}: {message}"
            if name in self.fields
            else str(message)
            for name, messages in self.errors.items()
            for message in messages
        ]
