"""Loading the demo clinic: once only, never with DEBUG off, and sending nothing.

Apart from tests/clinic/test_demo_data.py, whose tests share one loaded demo: these
need an empty database each.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic.models import AuditEvent, Location, Room, StaffMember, WorkingHours
from consultations.models import (
    Appointment,
    Consultation,
    MedicalHistory,
    Patient,
    PatientPhoto,
    Screening,
)
from treatments.models import (
    AdverseEvent,
    LotRecall,
    Outcome,
    RecallContact,
    SignedConsent,
    StockLot,
    TreatmentPlan,
    TreatmentSession,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def development(settings):
    settings.DEBUG = True  # the test runner turns DEBUG off; `make run` has it on


MODELS = (
    get_user_model(),
    Location,
    Room,
    StaffMember,
    WorkingHours,
    Patient,
    MedicalHistory,
    PatientPhoto,
    Appointment,
    Consultation,
    Screening,
    TreatmentPlan,
    SignedConsent,
    TreatmentSession,
    Outcome,
    AdverseEvent,
    StockLot,
    LotRecall,
    RecallContact,
    AuditEvent,
)


def counts():
    return [m.objects.count() for m in MODELS]


def test_loading_the_demo_twice_changes_nothing(capsys, private_media):
    call_command("load_demo_data")
    first = counts()
    call_command("load_demo_data")
    assert counts() == first
    assert "already present" in capsys.readouterr().out


def test_demo_data_is_refused_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refusing with DEBUG off"):
        call_command("load_demo_data")
    assert Location.objects.count() == 0


def test_loading_the_demo_sends_nothing_and_queues_no_reminder(
    django_capture_on_commit_callbacks, private_media
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo_data")
    assert Appointment.objects.filter(starts_at__gt=timezone.now()).count() > 40
    assert mail.outbox == []
    assert not DBTaskResult.objects.exists()
