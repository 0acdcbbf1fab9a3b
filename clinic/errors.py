"""Error pages: a database outage is a clear 503, never a stack trace."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 with Retry-After when the database is unreachable, else the 500 page.

    Django calls this while handling the exception, so sys.exc_info() names it.
    Connections are health-checked (CONN_HEALTH_CHECKS), so the next request after
    the database returns reconnects by itself.
    """
    error = sys.exc_info()[1]
    # Connection-level failures only; a bad query or a broken constraint is a bug (500).
    if isinstance(error, OperationalError | InterfaceError):
        logger.error("Database unavailable: %s", error)
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    return HttpResponse(loader.render_to_string("500.html"), status=500)
