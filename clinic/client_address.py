"""The address a request came from, behind the reverse proxies the clinic runs.

With `PROXY_COUNT` proxies in front (HAProxy, nginx), each appends the address it
saw to X-Forwarded-For, so the client's address is the PROXY_COUNT-th entry from
the right; anything further left was written by the client and can be forged.
Without proxies, the connection's own address. The audit trail records it; the
sign-in lockout (django-axes) and the public pages' rate limits count by it.
"""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        # Fewer hops than proxies: a request that skipped them; count it by its own address.
        return remote
    return forwarded[-proxies][:45] or remote
