"""How the clinic may reach a patient: the one rule for reminders and links alike."""

from clinic.text_messages import text_messages_enabled
from consultations.models import Patient

EMAIL = "email"
TEXT = "text"


def chosen_channels(patient: Patient) -> list[str]:
    """The ways the patient asked to hear from the clinic and can be reached by."""
    channels = []
    if patient.contact_by_email and patient.email:
        channels.append(EMAIL)
    if patient.contact_by_sms and patient.phone:
        channels.append(TEXT)
    return channels


def usable_channels(patient: Patient) -> list[str]:
    """[], ["email"], ["text"] or ["email", "text"]: what they chose and can be reached
    by, less texts while Threadline cannot send them."""
    return [c for c in chosen_channels(patient) if c != TEXT or text_messages_enabled()]
