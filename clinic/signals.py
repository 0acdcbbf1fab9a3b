"""Sign-ins, sign-outs and failed sign-ins go to the audit trail."""

from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction


def lockout_username(request: HttpRequest | None, credentials: dict[str, Any] | None = None) -> str:
    """The username django-axes counts failures against, cut to what a username can be.

    (AXES_USERNAME_CALLABLE: a 10,000-character username must not break the count.)
    """
    source = credentials if credentials is not None else getattr(request, "POST", {})
    return str(source.get("username", "") or "")[:150]


@receiver(user_logged_in)
def audit_login(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    actor = Actor.from_request(request).acting_as(user)
    record_event(action=AuditAction.LOGIN, actor=actor, summary="Signed in")


@receiver(user_logged_out)
def audit_logout(sender: object, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        actor = Actor.from_request(request).acting_as(user)
        record_event(action=AuditAction.LOGOUT, actor=actor, summary="Signed out")


@receiver(user_login_failed)
def audit_failed_login(
    sender: object,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    username = str(credentials.get("username", ""))[:150]
    record_event(
        action=AuditAction.LOGIN_FAILED,
        actor=Actor.from_request(request) if request is not None else Actor.system(),
        summary=f"Failed sign-in as “{username}”",
    )
