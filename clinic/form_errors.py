"""A service's ValidationError shown on the form that asked for the change.

Services raise ValidationError either with plain messages or with a dict of
messages by field name. On a form, a field's messages belong beside that
field when the form has it, and above the form otherwise.
"""

from django import forms
from django.core.exceptions import ValidationError


def error_messages(error: ValidationError) -> list[str]:
    """Every message the error carries, field by field in order, as plain text."""
    if hasattr(error, "error_dict"):
        return [message for values in error.message_dict.values() for message in values]
    return list(error.messages)


def add_service_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's error on `form`: on the named field if the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for name, field_messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, field_messages)
    else:
        form.add_error(None, error.messages)
