import io
import logging
from pathlib import Path

import pytest
from pypdf import PdfReader

from clinic.pdf import (
    PDF_BASE_URL,
    PdfDocument,
    RefusedResource,
    StaticOnlyURLFetcher,
    html_to_pdf,
    render_documents,
    render_pdf,
)

TEST_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
HOSTILE = (
    '<img src="file:///etc/passwd"> <link rel="stylesheet" href="http://attacker.example/x.css">'
)


@pytest.fixture
def test_templates(settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEST_TEMPLATES]}
    ]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_reads_back_with_what_the_template_says(test_templates):
    pdf = render_pdf(
        "pdf/sample_document.html",
        {"title": "Aftercare", "patient_name": "Zoë Ångström", "notes": "Sleep on your back."},
    )
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Aftercare" in text
    assert "Zoë Ångström" in text
    assert "Sleep on your back." in text


def test_hostile_patient_text_is_printed_as_text_and_fetches_nothing(test_templates, caplog):
    with caplog.at_level(logging.INFO, logger="clinic.pdf"):
        pdf = render_pdf(
            "pdf/sample_document.html",
            {"title": "Notes", "patient_name": HOSTILE, "notes": HOSTILE},
        )
    # Compare without white space: long lines wrap where the layout likes.
    text = "".join(pdf_text(pdf).split())
    assert '<imgsrc="file:///etc/passwd">' in text
    assert 'href="http://attacker.example/x.css">' in text
    assert "root:x:0:0" not in text
    # Escaped text is never parsed as markup, so not even a refusal was needed.
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


def test_raw_markup_asking_for_files_or_the_network_is_refused_and_logged(caplog):
    traversal = '<img src="/static/../clinic/settings.py">'
    html = f"<html><body><p>Still renders</p>{HOSTILE}{traversal}</body></html>"
    with caplog.at_level(logging.ERROR, logger="clinic.pdf"):
        pdf = html_to_pdf(html)
    assert "Still renders" in pdf_text(pdf)
    refused = " ".join(r.getMessage() for r in caplog.records if r.name == "clinic.pdf")
    assert "file:///etc/passwd" in refused
    assert "http://attacker.example/x.css" in refused
    assert "clinic/settings.py" in refused


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://attacker.example/logo.png",
        "https://attacker.example/static/css/pdf.css",
        f"{PDF_BASE_URL}static/../manage.py",
        f"{PDF_BASE_URL}static/%2e%2e/manage.py",
        f"{PDF_BASE_URL}media/photo.jpg",
        "ftp://example.org/x",
        "gopher://example.org/",
    ],
)
def test_the_fetcher_refuses_anything_but_static_files_and_data(url):
    with pytest.raises(RefusedResource):
        StaticOnlyURLFetcher().fetch(url)


def test_the_fetcher_serves_the_apps_own_static_files_and_data_uris():
    fetcher = StaticOnlyURLFetcher()
    css = fetcher.fetch(f"{PDF_BASE_URL}static/css/pdf.css")
    assert b"Threadline Sans" in css.read()
    assert css.content_type == "text/css"
    data = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert data.read() == b"hello"


def test_documents_embed_the_bundled_font(test_templates):
    pdf = render_pdf(
        "pdf/sample_document.html", {"title": "Fonts", "patient_name": "A", "notes": "B"}
    )
    fonts = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert fonts and all("Threadline-Sans" in name for name in fonts), fonts


@pytest.mark.parametrize(("paper_size", "width_pt"), [("A4", 595), ("Letter", 612)])
def test_documents_use_the_locations_paper_size(test_templates, paper_size, width_pt):
    pdf = render_pdf("pdf/sample_document.html", {"title": "Size", "paper_size": paper_size})
    assert round(float(PdfReader(io.BytesIO(pdf)).pages[0].mediabox.width)) == width_pt


class SampleDocument(PdfDocument):
    template_name = "pdf/sample_document.html"
    title = "Sample"

    def __init__(self, name: str):
        self.name = name

    def get_context(self):
        return {"patient_name": self.name, "notes": "Rest tonight."}


def test_several_documents_print_as_one_pdf_each_on_its_own_pages(test_templates):
    pdf = render_documents([SampleDocument("Ann Lee"), SampleDocument("Bo Chen")])
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    assert "Ann Lee" in reader.pages[0].extract_text()
    assert "Bo Chen" in reader.pages[1].extract_text()


def test_printing_nothing_is_an_error_not_an_empty_file():
    with pytest.raises(ValueError, match="Nothing to print"):
        render_documents([])
