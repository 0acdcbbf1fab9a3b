"""The audit log screen: managers filter, page and export who did what to whose record."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services as consultation_services
from tests.factories import LocationFactory, PatientFactory, UserFactory
from tests.recipes import photography_consent

pytestmark = pytest.mark.django_db

URL = reverse("audit_trail")


@pytest.fixture
def event_at(monkeypatch):
    """Write an audit entry as if at `moment` (the trail stamps entries with the clock)."""

    def write(moment: datetime, **fields) -> AuditEvent:
        with monkeypatch.context() as patch:
            patch.setattr(timezone, "now", lambda: moment)
            return record_event(**{"actor": Actor.system(), **fields})

    return write


def rows_of(response) -> list[str]:
    """The summaries of the entries on the page, top to bottom."""
    return [event.summary for event, _label in response.context["rows"]]


def jpeg() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (400, 400), (200, 170, 150)).save(out, format="JPEG")
    return SimpleUploadedFile("face.jpg", out.getvalue(), content_type="image/jpeg")


def test_a_manager_sees_who_opened_a_patients_chart_and_photos(
    client, private_media, manager_user, practitioner_user
):
    patient = PatientFactory(first_name="Colette", last_name="Willy")
    other = PatientFactory()
    photography_consent(patient, practitioner_user)
    photo = consultation_services.add_patient_photos(
        patient=patient,
        files=[jpeg()],
        view="frontal",
        stage="baseline",
        taken_on=timezone.localdate(),
        actor=Actor.system(user=practitioner_user),
    )[0]
    client.force_login(practitioner_user)
    client.get(reverse("consultations:patient_chart", args=[patient.pk]))
    client.get(reverse("consultations:photo_image", args=[photo.pk]))
    client.get(reverse("consultations:patient_chart", args=[other.pk]))

    client.force_login(manager_user)
    # Typed in lower case, as people do.
    response = client.get(URL, {"patient": patient.record_number.lower(), "action": "view"})
    body = response.content.decode()

    assert response.status_code == 200
    assert rows_of(response) == [f"Viewed photo: {photo}", "Opened the chart (clinical)"]
    # What was looked at, in words.
    assert f"Patient photo {photo.pk}" in body and f"Patient {patient.pk}" in body
    assert "doctor" in body and patient.record_number in body
    assert other.record_number not in body


def test_an_unknown_record_number_is_a_form_error_and_lists_nothing(client, manager_user):
    record_event(action=AuditAction.VIEW, actor=Actor(user=manager_user), summary="Something seen")
    client.force_login(manager_user)

    response = client.get(URL, {"patient": "TL999999"})

    assert response.status_code == 400
    assert "No patient has the record number TL999999." in response.content.decode()
    assert rows_of(response) == []


def test_the_trail_filters_by_username_and_by_action(
    client, manager_user, frontdesk_user, practitioner_user
):
    record_event(action=AuditAction.VIEW, actor=Actor(user=frontdesk_user), summary="Desk looked")
    record_event(action=AuditAction.PRINT, actor=Actor(user=frontdesk_user), summary="Desk printed")
    record_event(
        action=AuditAction.VIEW, actor=Actor(user=practitioner_user), summary="Doctor looked"
    )
    client.force_login(manager_user)

    assert rows_of(client.get(URL, {"user": "desk"})) == ["Desk printed", "Desk looked"]
    assert rows_of(client.get(URL, {"user": "desk", "action": "view"})) == ["Desk looked"]
    assert rows_of(client.get(URL, {"user": "nobody"})) == []


def test_dates_are_days_in_the_current_locations_time_zone(client, manager_user, event_at):
    new_york = LocationFactory(name="New York", time_zone="America/New_York", country="US")
    # 22:30 on 1 March in New York is already 2 March in UTC (and in London).
    event_at(datetime(2026, 3, 2, 3, 30, tzinfo=UTC), action=AuditAction.VIEW, summary="Late")
    event_at(datetime(2026, 3, 2, 15, 0, tzinfo=UTC), action=AuditAction.VIEW, summary="Next day")
    event_at(datetime(2026, 3, 1, 4, 0, tzinfo=UTC), action=AuditAction.VIEW, summary="Too early")
    client.force_login(manager_user)
    client.post(reverse("choose_location"), {"location": new_york.pk})

    response = client.get(URL, {"date_from": "2026-03-01", "date_to": "2026-03-01"})

    assert rows_of(response) == ["Late"]
    body = response.content.decode()
    assert "2026-03-01 22:30:00" in body and "America/New_York" in body
    next_day = {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    assert rows_of(client.get(URL, next_day)) == ["Next day"]
    assert rows_of(client.get(URL, {"date_to": "2026-02-28"})) == ["Too early"]


def test_an_end_date_before_the_start_date_is_refused(client, manager_user):
    client.force_login(manager_user)
    response = client.get(URL, {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


def test_the_trail_pages_a_hundred_entries_at_a_time_newest_first(client, manager_user):
    for number in range(205):
        record_event(action=AuditAction.VIEW, actor=Actor.system(), summary=f"Entry {number}")
    client.force_login(manager_user)

    first = client.get(URL, {"action": "view"})
    last = client.get(URL, {"action": "view", "page": 3})

    assert rows_of(first)[:2] == ["Entry 204", "Entry 203"]
    assert len(rows_of(first)) == 100
    assert rows_of(last) == [f"Entry {n}" for n in range(4, -1, -1)]
    body = first.content.decode()
    assert "Page 1 of 3" in body and "205 entries match" in body
    # The page links keep the filters.
    assert 'href="?action=view&amp;page=2"' in body


def csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_filtered_entries_export_as_csv_with_the_date_range_in_the_name(
    client, manager_user, frontdesk_user, event_at
):
    patient = PatientFactory()
    march = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    event_at(
        march,
        action=AuditAction.VIEW,
        actor=Actor(user=frontdesk_user),
        obj=patient,
        patient_id=patient.pk,
        summary="Opened the chart (demographics)",
    )
    event_at(march + timedelta(hours=1), action=AuditAction.PRINT, summary="Printed a sheet")
    event_at(march + timedelta(days=40), action=AuditAction.VIEW, summary="In April")
    client.force_login(manager_user)

    response = client.get(
        URL, {"date_from": "2026-03-01", "date_to": "2026-03-31", "format": "csv"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="audit-2026-03-01-to-2026-03-31.csv"'
    )
    rows = csv_rows(response)
    assert [row["summary"] for row in rows] == [
        "Printed a sheet",
        "Opened the chart (demographics)",
    ]
    chart = rows[1]
    assert chart["user"] == "desk"
    assert chart["action"] == "Viewed"
    assert chart["object_type"] == "consultations.Patient"
    assert chart["patient_record_number"] == patient.record_number
    assert chart["occurred_at"] == "2026-03-10T12:00:00+00:00"  # London wall clock, in winter


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(client, manager_user):
    for summary in ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "Plain"]:
        record_event(action=AuditAction.LOGIN_FAILED, actor=Actor.system(), summary=summary)
    client.force_login(manager_user)

    rows = csv_rows(client.get(URL, {"action": "login_failed", "format": "csv"}))

    assert [row["summary"] for row in rows] == [
        "Plain",
        "'@SUM(A1)",
        "'-2+3",
        "'+1+1",
        '\'=HYPERLINK("http://evil.example","x")',
    ]


def test_an_export_is_itself_audited_but_not_part_of_what_it_exports(
    client, manager_user, frontdesk_user
):
    patient = PatientFactory()
    record_event(
        action=AuditAction.VIEW,
        actor=Actor(user=frontdesk_user),
        patient_id=patient.pk,
        summary="A",
    )
    record_event(
        action=AuditAction.VIEW, actor=Actor(user=frontdesk_user), summary="Not this patient"
    )
    client.force_login(manager_user)

    rows = csv_rows(client.get(URL, {"patient": patient.record_number, "format": "csv"}))

    assert [row["summary"] for row in rows] == ["A"]
    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.actor == manager_user
    assert export.patient_id == patient.pk
    assert export.summary == f"Exported 1 audit entry as CSV (patient {patient.record_number})"
    # The export now shows in the trail, like everything else.
    assert "Exported 1 audit entry" in client.get(URL).content.decode()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.PRACTITIONER])
@pytest.mark.parametrize("params", [{}, {"format": "csv"}])
def test_only_managers_see_the_trail_and_others_learn_nothing_from_it(
    client, users_by_role, role, params
):
    record_event(
        action=AuditAction.VIEW, actor=Actor.system(), summary="Secret summary of someone's visit"
    )
    client.force_login(users_by_role[role])

    response = client.get(URL, params)

    body = response.content.decode()
    assert response.status_code == 403
    assert "This page is for the Clinic manager role." in body
    assert "Secret summary" not in body
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DENIED, actor=users_by_role[role]).exists()


def test_a_page_takes_the_same_number_of_queries_with_10_or_200_entries(
    client, manager_user, frontdesk_user
):
    client.force_login(manager_user)
    patients = [PatientFactory() for _ in range(3)]

    def queries_for(count: int, params: dict) -> int:
        while AuditEvent.objects.filter(action=AuditAction.VIEW).count() < count:
            patient = patients[AuditEvent.objects.count() % 3]
            record_event(
                action=AuditAction.VIEW,
                actor=Actor(user=frontdesk_user),
                obj=patient,
                patient_id=patient.pk,
                summary="Opened the chart",
            )
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, params)
        assert response.status_code == 200
        return len(captured)

    filters = {"user": "desk", "action": "view", "patient": patients[0].record_number}
    assert queries_for(10, {}) == queries_for(200, {})
    assert queries_for(200, filters) == queries_for(250, filters)


def test_the_trail_and_its_export_name_people_with_their_username_beside(
    client, manager_user, frontdesk_user
):
    frontdesk_user.first_name, frontdesk_user.last_name = "Simone", "Weil"
    frontdesk_user.save()
    record_event(action=AuditAction.VIEW, actor=Actor(user=frontdesk_user), summary="Desk looked")
    record_event(action=AuditAction.LOGIN_FAILED, actor=Actor.system(), summary="Nobody")
    client.force_login(manager_user)

    html = client.get(URL).content.decode()
    assert (
        '">Simone Weil</a><br><small class="text-body-secondary" data-testid="username">desk<'
        in html
    )

    rows = {row["summary"]: row for row in csv_rows(client.get(URL, {"format": "csv"}))}
    assert (rows["Desk looked"]["user"], rows["Desk looked"]["user_full_name"]) == (
        "desk",
        "Simone Weil",
    )
    assert (rows["Nobody"]["user"], rows["Nobody"]["user_full_name"]) == ("", "")


def test_names_cost_no_query_per_entry_with_2_or_20_people(client, manager_user):
    client.force_login(manager_user)
    page, export = {"action": "print"}, {"action": "print", "format": "csv"}

    def printed_by_people(count: int) -> None:
        while AuditEvent.objects.filter(action=AuditAction.PRINT).count() < count:
            record_event(action=AuditAction.PRINT, actor=Actor(user=UserFactory()), summary="x")

    def queries_for(params: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, params)
            if params.get("format") == "csv":
                assert len(csv_rows(response)) == AuditEvent.objects.filter(action="print").count()
            else:
                assert response.status_code == 200
        return len(captured)

    printed_by_people(2)
    few = (queries_for(page), queries_for(export))
    printed_by_people(20)
    assert (queries_for(page), queries_for(export)) == few
