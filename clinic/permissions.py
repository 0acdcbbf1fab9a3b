"""The one permission check used by every view.

Each view names the permission it needs; roles (groups) hold permissions.
A refusal is audited and answered by the 403 page, which names the roles
that may use the page.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction


def roles_with_permission(permission: str) -> list[str]:
    app_label, codename = permission.split(".")
    return list(
        Group.objects.filter(
            permissions__content_type__app_label=app_label, permissions__codename=codename
        )
        .order_by("name")
        .values_list("name", flat=True)
    )


def deny(request: HttpRequest, permission: str) -> PermissionDenied:
    """Audit the refusal and build the exception whose text the 403 page shows."""
    record_event(
        action=AuditAction.DENIED,
        actor=Actor.from_request(request),
        summary=f"{request.method} {request.path[:200]} needs {permission}",
    )
    roles = roles_with_permission(permission)
    needed = " or ".join(roles) if roles else "an administrator"
    return PermissionDenied(f"This page is for the {needed} role.")


View = Callable[..., HttpResponseBase]


def require_permission(permission: str) -> Callable[[View], View]:
    """View decorator: let the request through only if the user holds `permission`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perm(permission):
                raise deny(request, permission)
            return view(request, *args, **kwargs)

        # Read by the access-control suite; a function's attributes live in its __dict__.
        wrapped.__dict__["required_permission"] = permission
        return wrapped

    return decorator
