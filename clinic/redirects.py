"""Where to send the user back to after a form: only a path on this site."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, candidate: str | None) -> str | None:
    """`candidate` if it is a path on this site, else None.

    Never another host or scheme (open redirects), and never a bare word that
    redirect() would take for a view name.
    """
    if not candidate or not candidate.startswith("/"):
        return None
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return candidate
