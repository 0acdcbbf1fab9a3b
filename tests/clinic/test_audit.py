import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_record_event_keeps_who_what_when_and_where(frontdesk_user, location):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    request.user = frontdesk_user
    request.session = {}
    event = record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=location,
        patient_id=42,
        summary="Opened",
    )
    event.refresh_from_db()
    assert event.actor == frontdesk_user
    assert event.actor_name == "desk"
    assert event.object_type == "clinic.Location"
    assert event.object_id == str(location.pk)
    assert event.patient_id == 42
    assert event.ip_address == "203.0.113.9"
    assert event.occurred_at is not None


def test_an_audit_event_cannot_be_changed_or_deleted_through_the_model():
    event = record_event(action=AuditAction.EXPORT, actor=Actor.system(), summary="Exported")
    event.summary = "Nothing happened"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="Nothing happened")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).summary == "Exported"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's"
)
def test_postgresql_refuses_raw_updates_and_deletes_of_audit_events():
    event = record_event(action=AuditAction.PRINT, actor=Actor.system(), summary="Printed")
    for sql in [
        "UPDATE clinic_auditevent SET summary = 'x' WHERE id = %s",
        "DELETE FROM clinic_auditevent WHERE id = %s",
    ]:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).summary == "Printed"


def test_the_admin_shows_audit_events_read_only(client, manager_user):
    event = record_event(
        action=AuditAction.PRINT, actor=Actor.system(), summary="Printed aftercare"
    )
    client.force_login(manager_user)
    listing = client.get(reverse("admin:clinic_auditevent_changelist"))
    assert listing.status_code == 200
    assert "Printed aftercare" in listing.content.decode()
    change_url = reverse("admin:clinic_auditevent_change", args=[event.pk])
    page = client.get(change_url).content.decode()
    assert 'name="summary"' not in page  # shown as text, not as an input
    client.post(change_url, {"summary": "tampered", "action": "view"})
    assert (
        client.post(
            reverse("admin:clinic_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:clinic_auditevent_add")).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).summary == "Printed aftercare"
