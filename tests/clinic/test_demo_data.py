import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from clinic.models import Location, Role, Room, StaffMember, WorkingHours
from clinic.site.demo import LOCATIONS
from consultations.forms import PatientForm
from consultations.models import MedicalHistory, Patient, PatientPhoto

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
)


def counts():
    return [m.objects.count() for m in MODELS]


def test_the_demo_clinic_has_every_role_and_two_time_zones(capsys, private_media):
    call_command("load_demo_data")
    assert StaffMember.objects.filter(role=Role.PRACTITIONER).count() == 3
    assert StaffMember.objects.filter(role=Role.FRONT_DESK).count() == 2
    assert StaffMember.objects.filter(role=Role.MANAGER).count() == 1
    assert set(Location.objects.values_list("time_zone", flat=True)) == {
        "Europe/London",
        "America/New_York",
    }
    assert set(Location.objects.values_list("paper_size", flat=True)) == {"A4", "Letter"}
    assert dict(Room.objects.values_list("name", "kind")) == {
        "Treatment room 1": "procedure",
        "Treatment room 2": "procedure",
        "Consultation room": "consultation",
        "Procedure room A": "procedure",
        "Consult room B": "consultation",
    }
    for staff in StaffMember.objects.filter(role=Role.PRACTITIONER):
        assert staff.working_hours.exists(), staff
    out = capsys.readouterr().out
    for username in ["manager", "practitioner", "frontdesk"]:
        assert f" {username} " in out
    assert "threadline-demo" in out


def test_the_demo_clinic_has_sixty_patients_with_histories_and_some_photos(private_media):
    call_command("load_demo_data")
    assert Patient.objects.count() == 60
    assert Patient.objects.filter(medical_histories__isnull=True).count() == 0
    assert MedicalHistory.objects.filter(version=2).exists()
    assert MedicalHistory.objects.filter(anticoagulants=True).exists()
    with_photos = Patient.objects.filter(photos__isnull=False).distinct()
    assert 1 <= with_photos.count() <= 10
    photo = PatientPhoto.objects.first()
    assert (private_media / photo.image.name).is_file()


def test_loading_the_demo_twice_changes_nothing(capsys, private_media):
    call_command("load_demo_data")
    first = counts()
    call_command("load_demo_data")
    assert counts() == first
    assert "already present" in capsys.readouterr().out


def test_demo_logins_work_with_the_printed_password(client, private_media):
    call_command("load_demo_data")
    response = client.post(
        "/accounts/login/", {"username": "practitioner", "password": "threadline-demo"}
    )
    assert response.status_code == 302


def test_demo_data_is_refused_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refusing with DEBUG off"):
        call_command("load_demo_data")
    assert Location.objects.count() == 0


@pytest.mark.parametrize("demo", LOCATIONS, ids=[demo["name"] for demo in LOCATIONS])
def test_every_demo_location_number_passes_the_patient_forms_own_check(demo):
    location = Location(
        **{key: demo[key] for key in ("name", "address", "phone", "emergency_phone", "country")}
    )
    location.clean()  # the check a manager's edit of the location goes through
    for number in (demo["phone"], demo["emergency_phone"]):
        form = PatientForm(
            {"first_name": "Ada", "last_name": "Lovelace", "sex": "F", "phone": number},
            location=location,
        )
        form.is_valid()
        assert "phone" not in form.errors, (number, form.errors["phone"])
