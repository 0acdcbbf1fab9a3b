"""Form fields shared by every app."""

from typing import Any

from django import forms
from django.db import models


class IdChoiceField(forms.ModelMultipleChoiceField[models.Model]):
    """Refuses anything but whole-number ids a database column can hold, before querying."""

    def clean(self, value: Any) -> models.QuerySet[models.Model]:
        for item in value or []:
            if not str(item).isdigit() or int(item) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": item},
                )
        return super().clean(value)
