"""The one way to write to the audit trail."""

from django.db import models

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent


def record_event(
    *,
    action: AuditAction | str,
    actor: Actor,
    obj: models.Model | None = None,
    patient_id: int | None = None,
    summary: str = "",
) -> AuditEvent:
    """Append one entry to the audit trail: the actor's user and address, and what was done.

    `obj` names what was touched. Call it inside the same transaction as the
    write it records.
    """
    user = actor.user
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        action=AuditAction(action),
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient_id=patient_id,
        ip_address=actor.ip_address,
        summary=summary[:300],
    )
