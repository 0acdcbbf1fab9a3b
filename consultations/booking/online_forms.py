"""The forms of the public online booking page: the questions, the slot, the details.

Every form carries a honeypot field (`website`) that people never see nor fill: a
form that arrives with it filled was sent by a script and is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms

from clinic.models import Location, StaffMember
from clinic.phones import LocalPhoneField
from consultations.forms import DateInput
from consultations.models import (
    AppointmentKind,
    AppointmentType,
    Sex,
    validate_date_of_birth,
)
from consultations.screening.rules import ONLINE_QUESTIONS

YES_NO = [("no", "No"), ("yes", "Yes")]


class HoneypotForm(forms.Form):
    # Hidden from people by the stylesheet (and from screen readers and the keyboard);
    # scripts that fill every field fill it.
    website = forms.CharField(
        required=False,
        max_length=200,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class EligibilityForm(HoneypotForm):
    """The online questions of the screening rules, each answered yes or no."""

    field_order = [key for key, _question, _rules in ONLINE_QUESTIONS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, question, _rules in ONLINE_QUESTIONS:
            self.fields[key] = forms.ChoiceField(
                label=question, choices=YES_NO, widget=forms.RadioSelect
            )
        self.order_fields(self.field_order)

    def answers(self) -> dict[str, bool]:
        return {key: self.cleaned_data[key] == "yes" for key, _q, _r in ONLINE_QUESTIONS}


def consultation_types():
    return AppointmentType.objects.filter(kind=AppointmentKind.CONSULTATION, is_active=True)


class TypeForm(forms.Form):
    """Which consultation (a GET form: the choice is in the address)."""

    type = forms.ModelChoiceField(
        label="Consultation",
        queryset=AppointmentType.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect,
    )
    go = forms.CharField(required=False, max_length=200)  # the eligibility pass

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].queryset = consultation_types()


class HoldForm(HoneypotForm):
    """A slot the patient chose from the list: its type, practitioner and start."""

    go = forms.CharField(max_length=200)
    appointment_type = forms.ModelChoiceField(queryset=AppointmentType.objects.none())
    practitioner = forms.ModelChoiceField(queryset=StaffMember.objects.none())
    starts_at = forms.CharField(max_length=40)

    def __init__(self, *args, location: Location, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = consultation_types()  # type: ignore[attr-defined]
        self.fields[  # type: ignore[attr-defined]
            "practitioner"
        ].queryset = StaffMember.objects.practitioners_at(location)

    def clean_starts_at(self) -> datetime:
        text = self.cleaned_data["starts_at"]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError("That is not a time from the list.") from None
        if moment.tzinfo is None or not 1900 < moment.year < 9000:
            raise forms.ValidationError("That is not a time from the list.")
        return moment.astimezone(UTC)


class DetailsForm(HoneypotForm):
    """Who is booking, and how the clinic may reach them."""

    def __init__(self, *args, location: Location, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"] = forms.CharField(
            label="First name",
            max_length=100,
            widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        )
        self.fields["last_name"] = forms.CharField(
            label="Last name",
            max_length=100,
            widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        )
        self.fields["date_of_birth"] = forms.DateField(
            label="Date of birth",
            validators=[validate_date_of_birth],
            widget=DateInput(attrs={"autocomplete": "bday"}),
        )
        self.fields["sex"] = forms.ChoiceField(label="Sex", choices=[("", "—"), *Sex.choices])
        self.fields["email"] = forms.EmailField(
            label="Email",
            max_length=254,
            required=False,
            widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        )
        self.fields["phone"] = LocalPhoneField(
            country=location.country,
            label="Phone",
            required=False,
            help_text="As you would dial it here, or with the country code.",
            widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
        )
        self.fields["contact_by_email"] = forms.BooleanField(
            label="Send me a reminder by email the day before", required=False
        )
        self.fields["contact_by_sms"] = forms.BooleanField(
            label="Send me reminders by text message", required=False
        )
        self.order_fields(
            [
                "first_name",
                "last_name",
                "date_of_birth",
                "sex",
                "email",
                "phone",
                "contact_by_email",
                "contact_by_sms",
                "website",
            ]
        )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("phone") and not cleaned.get("email"):
            raise forms.ValidationError("Give a phone number or an email address to reach you.")
        if cleaned.get("contact_by_sms") and not cleaned.get("phone"):
            self.add_error("contact_by_sms", "Text reminders need a phone number.")
        if cleaned.get("contact_by_email") and not cleaned.get("email"):
            self.add_error("contact_by_email", "Email reminders need an email address.")
        return cleaned
