"""Handing a printed document to the browser: the HTTP side of clinic.pdf."""

from django.http import HttpResponse


def pdf_response(pdf: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    """A PDF for the browser: shown inline (or downloaded), never cached, never sniffed.

    Printed documents hold patient data, so no shared or browser cache may keep them.
    """
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
