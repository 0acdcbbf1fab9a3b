"""Forms of the consultation and suitability-screening pages.

They only check input; consultations.services writes it (and checks again).
"""

from datetime import date
from typing import Any

from django import forms
from django.forms.boundfield import BoundWidget

from clinic.form_fields import IdChoiceField, declared_field
from consultations.forms import DateInput
from consultations.models import Consultation, Patient, PatientPhoto, PhotoStage
from consultations.services import ASSESSMENT_FIELDS

LAXITY_CHOICES = [
    ("", "Not assessed"),
    (0, "0: none"),
    (1, "1: mild"),
    (2, "2: moderate"),
    (3, "3: marked"),
    (4, "4: severe"),
]


class AssessmentForm(forms.ModelForm):
    """What the patient expects, and the practitioner's assessment of the skin."""

    baseline_photos = IdChoiceField(
        queryset=PatientPhoto.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Baseline photos to link",
        error_messages={
            "invalid_choice": "Choose from this patient's baseline photos only.",
            "invalid_pk_value": "Choose from this patient's baseline photos only.",
        },
    )

    class Meta:
        model = Consultation
        fields = ASSESSMENT_FIELDS
        labels = {
            "expectations": "What the patient expects",
            "wanted_by": "Result wanted by",
        }
        help_texts = {
            "wanted_by": "When they want to see the result, e.g. for an event; empty if no date.",
        }
        widgets = {
            "expectations": forms.Textarea(attrs={"rows": 3}),
            "wanted_by": DateInput(),
            "asymmetry_notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, patient: Patient, today: date, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        for name, label in (
            ("fitzpatrick", "Fitzpatrick skin type"),
            ("glogau", "Glogau photo-ageing type"),
        ):
            field = declared_field(self, name, forms.ChoiceField)
            field.required = True
            field.error_messages["required"] = f"Choose the {label}."
            field.choices = [("", "Choose…"), *_without_blank(field)]
        thickness = declared_field(self, "skin_thickness", forms.ChoiceField)
        thickness.choices = [("", "Not assessed"), *_without_blank(thickness)]
        declared_field(
            self, "baseline_photos", forms.ModelChoiceField
        ).queryset = PatientPhoto.objects.filter(
            patient=patient, stage=PhotoStage.BASELINE, is_archived=False
        ).order_by("taken_on", "pk")
        if self.instance.pk and "baseline_photos" not in self.initial:
            self.initial["baseline_photos"] = [p.pk for p in self.instance.baseline_photos.all()]
        if read_only:
            for each in self.fields.values():
                each.disabled = True

    def clean_wanted_by(self):
        day = self.cleaned_data.get("wanted_by")
        # A date kept from an earlier save may have passed since; a newly typed one may not.
        if day and day < self.today and "wanted_by" in self.changed_data:
            raise forms.ValidationError(
                "This date has passed: give an upcoming date or leave it empty."
            )
        return day

    def photo_options(self) -> list[tuple[PatientPhoto, BoundWidget]]:
        """(photo, its checkbox) pairs, for a list with thumbnails."""
        photos = {
            photo.pk: photo
            for photo in declared_field(self, "baseline_photos", forms.ModelChoiceField).queryset
            or []
        }
        return [
            (photos[option.data["value"].value], option)
            for option in self["baseline_photos"].subwidgets
        ]


def _without_blank(field: forms.ChoiceField) -> list[Any]:
    """The field's choices after the model's blank one."""
    # Django has made the model's choices a list by now; the stubs allow any choices source.
    choices: list[Any] = field.choices  # type: ignore[assignment]
    return choices[1:]


class AreaForm(forms.Form):
    """One facial area: the patient's concern and goal, and the laxity seen."""

    concern = forms.CharField(max_length=300, required=False, label="Concern")
    goal = forms.CharField(max_length=300, required=False, label="Goal")
    laxity = forms.TypedChoiceField(
        choices=LAXITY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label="Laxity",
        error_messages={"invalid_choice": "Choose a laxity grade from 0 to 4, or leave it blank."},
    )

    def __init__(self, *args, area: str, area_label: str, read_only: bool = False, **kwargs):
        kwargs["prefix"] = f"area-{area}"
        super().__init__(*args, **kwargs)
        self.area = area
        self.area_label = area_label
        if read_only:
            for field in self.fields.values():
                field.disabled = True
