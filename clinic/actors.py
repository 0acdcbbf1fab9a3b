"""Who is acting, and from where: the context that services and the audit trail take.

A view builds it once per request with `Actor.from_request`; a management
command or the demo data builds it with `Actor.system`. Services take it as
`actor=` and never see the HTTP request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from clinic.client_address import client_address
from clinic.locations import current_location
from clinic.models import Location

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

USER_AGENT_LENGTH = 300


@dataclass(frozen=True, kw_only=True)
class Actor:
    """The signed-in user (None for the system or an anonymous caller), the location
    they work at now, and the client's address and user agent (empty outside a request)."""

    user: User | None
    location: Location | None = None
    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        """The view side: who sent this request, from where, working at which location."""
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        return cls(
            user=user if signed_in else None,
            location=current_location(request) if signed_in else None,
            # Behind PROXY_COUNT proxies, the address the outermost one saw.
            ip_address=client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH],
        )

    @classmethod
    def system(cls, *, user: User | None = None, location: Location | None = None) -> Actor:
        """A command, a background task or the demo data: no client, perhaps on someone's behalf."""
        return cls(user=user, location=location)

    def acting_as(self, user: User | None) -> Actor:
        """The same context with `user` recorded as acting."""
        return replace(self, user=user)
