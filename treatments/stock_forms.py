"""Forms of the stock pages: receiving a delivered lot, and looking a lot up for a trace.

They only check input; treatments.services.receive_stock writes the lot (and checks again).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from clinic.form_fields import declared_field
from clinic.models import Location
from consultations.forms import DateInput
from treatments.models import ContactMethod, LotStatus, StockLot, ThreadProduct

MAX_QUANTITY = 10_000
LOT_NUMBER_MAX_LENGTH = StockLot._meta.get_field("lot_number").max_length
# What manufacturers print on a box: letters, digits and a few separators.
LOT_NUMBER_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9 ./_-]*[A-Za-z0-9])?$"
LOT_NUMBER_HELP = "As printed on the box: letters, digits, spaces and - / . _"


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ThreadProduct) -> str:
        return f"{obj.manufacturer} · {obj}"


class ReceiveLotForm(forms.Form):
    """One delivered lot of one product, booked into the current location's stock."""

    product = ProductChoiceField(
        queryset=ThreadProduct.objects.filter(is_active=True),
        empty_label="Choose a product",
        error_messages={
            "invalid_choice": "Choose one of the products in use (retired products cannot be "
            "received).",
            "required": "Choose the product delivered.",
        },
    )
    lot_number = forms.CharField(
        max_length=LOT_NUMBER_MAX_LENGTH,
        help_text=LOT_NUMBER_HELP,
        validators=[
            RegexValidator(
                LOT_NUMBER_PATTERN,
                "A lot number uses only letters, digits, spaces and - / . _ "
                "(and starts and ends with a letter or digit).",
            )
        ],
        error_messages={"required": "Type the lot number printed on the box."},
    )
    expires_on = forms.DateField(
        label="Expiry date",
        widget=DateInput(),
        error_messages={
            "required": "Type the expiry date printed on the box.",
            "invalid": "Type the expiry date as a date, e.g. 2027-03-31.",
        },
    )
    quantity = forms.IntegerField(
        label="Quantity received (threads)",
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "required": "Type how many threads were delivered.",
            "invalid": f"Type a whole number of threads from 1 to {MAX_QUANTITY:,}.",
            "min_value": f"Type a whole number of threads from 1 to {MAX_QUANTITY:,}.",
            "max_value": f"Type a whole number of threads from 1 to {MAX_QUANTITY:,}.",
        },
    )

    def __init__(self, *args, location: Location | None, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.location = location
        self.today = today
        declared_field(
            self, "product", forms.ModelChoiceField
        ).queryset = ThreadProduct.objects.filter(is_active=True).order_by("manufacturer", "name")

    def clean_expires_on(self) -> date:
        expires_on = self.cleaned_data["expires_on"]
        if expires_on < self.today:
            raise forms.ValidationError(
                f"This lot expired on {expires_on:%d %b %Y}: expired stock cannot be received."
            )
        return expires_on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if self.location is None:
            raise forms.ValidationError("Choose the location you are receiving stock at first.")
        product, lot_number = cleaned.get("product"), cleaned.get("lot_number")
        if product is not None and lot_number:
            # Recalls look lots up regardless of case, so LOT-7 and lot-7 would be one lot.
            duplicate = StockLot.objects.filter(
                product=product, location=self.location, lot_number__iexact=lot_number
            ).first()
            if duplicate is not None:
                self.add_error(
                    "lot_number",
                    f"Lot {duplicate.lot_number} of {product.name} was already received at "
                    f"{self.location} on {duplicate.received_on:%d %b %Y}. "
                    "Lots are received once; check the number on the box.",
                )
        return cleaned


class LotTraceForm(forms.Form):
    lot = forms.CharField(
        label="Lot number",
        max_length=LOT_NUMBER_MAX_LENGTH,
        help_text="Exactly as printed on the box; upper and lower case are the same.",
        error_messages={"required": "Type the lot number to trace."},
    )


class LotStatusForm(forms.Form):
    """A manager quarantines, recalls or releases a lot, saying why."""

    status = forms.ChoiceField(
        label="New status",
        choices=LotStatus.choices,
        error_messages={"invalid_choice": "Choose active, quarantined or recalled."},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the lot's status changes."},
    )


class RecallOpenForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the recall",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The notice's reference and what it says.",
        error_messages={"required": "Say why the lot is recalled."},
    )
    announced_on = forms.DateField(
        label="Date of the notice",
        widget=DateInput(),
        error_messages={
            "required": "Type the date of the recall notice.",
            "invalid": "Type the date of the notice as a date, e.g. 2027-03-31.",
        },
    )


class RecallContactForm(forms.Form):
    """One contact with a patient on the recall's list."""

    patient = forms.TypedChoiceField(
        coerce=int,
        error_messages={"invalid_choice": "Choose a patient on this recall's list."},
    )
    method = forms.ChoiceField(
        label="How",
        choices=ContactMethod.choices,
        error_messages={"invalid_choice": "Choose phone, email, letter or in person."},
    )
    outcome = forms.CharField(
        label="Outcome",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write what came of the contact."},
    )

    def __init__(self, *args, patients: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        declared_field(self, "patient", forms.TypedChoiceField).choices = [
            (str(pk), name) for pk, name in patients
        ]


class RecallNoticeForm(forms.Form):
    """The notification email, plain text, with placeholders the service fills in."""

    subject = forms.CharField(
        max_length=150, error_messages={"required": "Write the email's subject."}
    )
    body = forms.CharField(
        label="Email text",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 10}),
        error_messages={"required": "Write the email."},
    )


class RecallCloseForm(forms.Form):
    """How a recall ended, written when every patient on its list has a recorded contact."""

    note = forms.CharField(
        label="How the recall ended",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What became of the remaining stock (returned, destroyed) and anything "
        "done for patients who could not be reached.",
        error_messages={"required": "Say how the recall ended."},
    )
