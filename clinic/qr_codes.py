"""QR codes as SVG (the `qrcode` package): on the two-factor set-up page and printed consents."""

import base64

import qrcode
from django.utils.safestring import SafeString, mark_safe
from qrcode.image.svg import SvgPathFillImage


def qr_code_svg(text: str) -> SafeString:
    """The QR code of `text` as inline SVG markup (no script, no style)."""
    image = qrcode.make(text, image_factory=SvgPathFillImage, box_size=15, border=4)
    markup: str = image.to_string(encoding="unicode")
    return mark_safe(markup)  # noqa: S308 (our own markup)


def qr_code_data_url(text: str) -> str:
    """The QR code of `text` as a `data:` URL, for an <img> in a printed document."""
    encoded = base64.b64encode(qr_code_svg(text).encode()).decode()
    return f"data:image/svg+xml;base64,{encoded}"
