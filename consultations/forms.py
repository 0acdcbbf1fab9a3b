from django import forms
from django.utils import timezone

from clinic.form_fields import declared_field
from clinic.models import Location
from clinic.phones import LocalPhoneField
from consultations.models import ANSWER_FIELD_NAMES, MedicalHistory, Patient, PreviousTreatment
from consultations.services import DEMOGRAPHIC_FIELDS


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientForm(forms.ModelForm):
    """Demographics and contact details, as the front desk takes them on the phone."""

    class Meta:
        model = Patient
        fields = DEMOGRAPHIC_FIELDS
        widgets = {
            "date_of_birth": DateInput(),
            "address": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, location: Location | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Numbers are typed as people write them here; stored as E.164.
        country = location.country if location else None
        for name in ("phone", "emergency_contact_phone"):
            self.fields[name] = LocalPhoneField(
                country=country,
                required=False,
                label=self.fields[name].label,
                help_text="As you would dial it here, or with the country code.",
            )
        declared_field(
            self, "preferred_location", forms.ModelChoiceField
        ).queryset = Location.objects.filter(is_active=True)
        if location and not self.instance.pk:
            self.initial.setdefault("preferred_location", location.pk)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("phone") and not cleaned.get("email"):
            raise forms.ValidationError(
                "Give a phone number or an email address to reach the patient."
            )
        if cleaned.get("contact_by_sms") and not cleaned.get("phone"):
            self.add_error("contact_by_sms", "Text reminders need a phone number.")
        if cleaned.get("contact_by_email") and not cleaned.get("email"):
            self.add_error("contact_by_email", "Email reminders need an email address.")
        return cleaned


class NewPatientForm(PatientForm):
    confirm_new_person = forms.BooleanField(
        required=False,
        label="I have checked: this is a different person from the possible matches shown",
    )


class MedicalHistoryForm(forms.ModelForm):
    """The intake questionnaire: structured answers that screening reads."""

    class Meta:
        model = MedicalHistory
        fields = ANSWER_FIELD_NAMES
        widgets = {
            "planned_dental_work_on": DateInput(),
            "important_event_on": DateInput(),
            "vaccinated_on": DateInput(),
            "isotretinoin_last_taken_on": DateInput(),
            "current_medications": forms.Textarea(attrs={"rows": 2}),
            "other_conditions": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    SECTIONS = [
        ("Pregnancy", ["pregnant", "breastfeeding"]),
        (
            "Medicines and bleeding",
            [
                "anticoagulants",
                "anticoagulant_details",
                "aspirin",
                "nsaids",
                "bleeding_supplements",
                "bleeding_supplement_details",
                "bleeding_disorder",
                "isotretinoin_last_taken_on",
                "current_medications",
            ],
        ),
        (
            "Health conditions",
            [
                "autoimmune_disease",
                "autoimmune_details",
                "immunosuppressed",
                "active_cancer",
                "diabetes",
                "active_skin_infection",
                "cold_sores",
                "koebner_skin_disease",
                "koebner_skin_disease_details",
                "keloid_tendency",
                "other_conditions",
            ],
        ),
        (
            "Allergies",
            ["allergy_local_anaesthetic", "allergy_suture_material", "other_allergies"],
        ),
        ("Implants", ["facial_implants", "facial_implant_details"]),
        (
            "Lifestyle and plans",
            [
                "smoking",
                "vaccinated_on",
                "planned_dental_work_on",
                "important_event_on",
                "important_event",
            ],
        ),
        ("Anything else", ["notes"]),
    ]

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        for field in ("planned_dental_work_on", "important_event_on"):
            day = cleaned.get(field)
            if day and day < today:
                self.add_error(
                    field, "This date has passed: give an upcoming date or leave it empty."
                )
        for field in ("vaccinated_on", "isotretinoin_last_taken_on"):
            day = cleaned.get(field)
            if day and day > today:
                self.add_error(field, "This date is in the future: give the day it happened.")
        required_details = [
            ("anticoagulants", "anticoagulant_details", "Say which blood thinners."),
            ("bleeding_supplements", "bleeding_supplement_details", "Say which supplements."),
            (
                "koebner_skin_disease",
                "koebner_skin_disease_details",
                "Say which condition, and where it is.",
            ),
            ("autoimmune_disease", "autoimmune_details", "Say which condition."),
            ("facial_implants", "facial_implant_details", "Say which implants, and where."),
        ]
        for flag, detail, message in required_details:
            if cleaned.get(flag) and not (cleaned.get(detail) or "").strip():
                self.add_error(detail, message)
        if cleaned.get("important_event_on") and not (cleaned.get("important_event") or "").strip():
            self.add_error("important_event", "Say what the event is.")
        return cleaned


class PreviousTreatmentForm(forms.ModelForm):
    class Meta:
        model = PreviousTreatment
        fields = ["kind", "treated_on", "area", "details"]
        widgets = {"treated_on": DateInput()}

    def clean_treated_on(self):
        day = self.cleaned_data["treated_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("This date is in the future.")
        return day


PreviousTreatmentFormSet = forms.formset_factory(
    PreviousTreatmentForm, extra=3, max_num=30, validate_max=True, absolute_max=30
)


class ArchiveForm(forms.Form):
    reason = forms.CharField(
        max_length=200, help_text="For example: duplicate of another record, or moved away."
    )
