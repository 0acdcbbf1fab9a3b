"""Form fields shared by every app."""

from typing import Any, TypeVar

from django import forms
from django.db import models

_M = TypeVar("_M", bound=models.Model)


class IdChoiceField(forms.ModelMultipleChoiceField[_M]):
    """Refuses anything but whole-number ids a database column can hold, before querying."""

    def clean(self, value: Any) -> models.QuerySet[_M]:
        for item in value or []:
            if not str(item).isdigit() or int(item) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": item},
                )
        return super().clean(value)


FieldT = TypeVar("FieldT", bound=forms.Field)


def declared_field(form: forms.BaseForm, name: str, kind: type[FieldT]) -> FieldT:
    """The form's own copy of its field `name`, as the kind of field the form declared.

    (`form.fields` holds plain Fields as far as the type checker knows; a view or
    form that sets a queryset or choices says here which kind it expects.)
    """
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{type(form).__name__}.{name} is not a {kind.__name__}.")
    return field
