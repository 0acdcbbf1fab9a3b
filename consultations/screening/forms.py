"""The screening's forms: the body-image questions and the practitioner's decision."""

from django import forms

from consultations.models import ScreeningDecision
from consultations.screening.rules import BODY_IMAGE_QUESTIONS, SCALE_LABELS


def _yes_no(value: str) -> bool:
    return value == "yes"


class BodyImageForm(forms.Form):
    """The body-image questions of consultations.screening.rules, every one required."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, question, kind in BODY_IMAGE_QUESTIONS:
            if kind == "yesno":
                field = forms.TypedChoiceField(
                    choices=[("yes", "Yes"), ("no", "No")], coerce=_yes_no
                )
            else:
                field = forms.TypedChoiceField(
                    choices=[(score, f"{score}: {label}") for score, label in SCALE_LABELS.items()],
                    coerce=int,
                )
            field.label = question
            field.widget = forms.RadioSelect(choices=field.choices)
            field.error_messages["required"] = "Answer this question."
            self.fields[key] = field

    @staticmethod
    def initial_from(answers: dict) -> dict:
        """Stored answers (booleans and scores, as `answers()` gives them) as the form's
        initial values: yes/no questions are asked as "yes" or "no"."""
        return {
            key: ("yes" if value else "no") if isinstance(value, bool) else value
            for key, value in answers.items()
        }

    def answers(self) -> dict:
        return {key: self.cleaned_data[key] for key, _question, _kind in BODY_IMAGE_QUESTIONS}


class DecisionForm(forms.Form):
    """Accept the screening's outcome, or override it with a written justification."""

    decision = forms.ChoiceField(
        label="Your decision",
        choices=[
            (ScreeningDecision.ACCEPTED, "Accept the outcome"),
            (ScreeningDecision.OVERRIDDEN, "Override the outcome (a written justification needed)"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Accept the outcome or override it."},
    )
    justification = forms.CharField(
        label="Justification for an override",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why treatment is appropriate despite the outcome; kept with the screening.",
    )
