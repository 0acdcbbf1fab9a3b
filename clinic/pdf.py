"""The one PDF renderer: Django templates in, PDF bytes out, through WeasyPrint.

Printed documents carry patient-entered text, so the renderer fetches only
the app's own static files and `data:` URIs. Anything else (file paths,
http(s), other schemes, paths escaping static/) is refused and logged.

Layouts follow one small interface: subclass `PdfDocument`, name a template
under templates/pdf/ and supply its context; `render()` is the same for all.
"""

import logging
import mimetypes
from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

# Documents are rendered against this origin so that `{% static %}` paths
# become absolute URLs the fetcher can recognise. `.invalid` never resolves.
PDF_BASE_URL = "https://pdf.threadline.invalid/"


class RefusedResource(ValueError):
    """A document asked for a resource outside the app's static files."""


def find_static_file(url: str) -> Path | None:
    """The file under static/ that `url` names, or None if it names none."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != PDF_BASE_URL:
        return None
    path = unquote(parts.path)
    if not path.startswith(settings.STATIC_URL):
        return None
    relative = path.removeprefix(settings.STATIC_URL)
    if ".." in Path(relative).parts or relative.startswith("/"):
        return None
    found = finders.find(relative)
    if found is None and settings.STATIC_ROOT:
        candidate = Path(settings.STATIC_ROOT) / relative
        found = str(candidate) if candidate.is_file() else None
    return Path(found) if found else None


class StaticOnlyURLFetcher(URLFetcher):
    """Serve static files and data: URIs; refuse and log everything else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=["data", "https"], allow_redirects=False)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = find_static_file(url)
        if path is None:
            logger.error("PDF renderer refused to fetch %r", url[:200])
            raise RefusedResource(f"Refused to fetch {url[:200]!r}")
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime_type})


def _laid_out(html: str) -> HTML:
    """An HTML string ready for WeasyPrint, fetching only what the fetcher allows."""
    return HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=StaticOnlyURLFetcher())


def html_to_pdf(html: str) -> bytes:
    """Lay out an HTML string as a PDF."""
    pdf: bytes = _laid_out(html).write_pdf()
    return pdf


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render a Django template (autoescaped, as every template is) to PDF bytes."""
    return html_to_pdf(render_to_string(template_name, context))


def render_documents(documents: Sequence["PdfDocument"]) -> bytes:
    """Several documents in one PDF, each starting on a new page (e.g. the day's aftercare)."""
    if not documents:
        raise ValueError("Nothing to print.")
    rendered = [_laid_out(document.html()).render() for document in documents]
    pages = [page for document in rendered for page in document.pages]
    pdf: bytes = rendered[0].copy(pages).write_pdf()
    return pdf


class PdfDocument:
    """A printed layout: a template under templates/pdf/ and the context it needs."""

    template_name: str
    title: str = "Document"
    # The wall clock the document is read against: every time in the template,
    # the "printed" footer included. None keeps the active time zone.
    zone: tzinfo | None = None

    def get_context(self) -> dict[str, Any]:
        raise NotImplementedError

    def filename(self) -> str:
        return f"{self.title.lower().replace(' ', '-')}.pdf"

    def full_context(self) -> dict[str, Any]:
        return {"title": self.title, **self.get_context()}

    def html(self) -> str:
        """The document's HTML, rendered with its own time zone active."""
        if self.zone is None:
            return render_to_string(self.template_name, self.full_context())
        with timezone.override(self.zone):
            return render_to_string(self.template_name, self.full_context())

    def render(self) -> bytes:
        return html_to_pdf(self.html())
