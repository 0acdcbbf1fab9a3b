"""The one way to write to the audit trail."""

from django.db import models
from django.http import HttpRequest

from clinic.models import AuditAction, AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address as the server saw it (the proxy's, behind one)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    *,
    action: AuditAction | str,
    request: HttpRequest | None = None,
    actor=None,
    obj: models.Model | None = None,
    patient_id: int | None = None,
    summary: str = "",
) -> AuditEvent:
    """Append one entry to the audit trail.

    The actor defaults to the request's signed-in user; `obj` names what was
    touched. Call it inside the same transaction as the write it records.
    """
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        action=AuditAction(action),
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient_id=patient_id,
        ip_address=client_ip(request),
        summary=summary[:300],
    )
