"""Signature images from the signing pad: checked, flattened and re-encoded with Pillow."""

import base64
import io
import logging

from django.core.exceptions import ValidationError
from django.db.models.fields.files import FieldFile
from PIL import Image, ImageOps, UnidentifiedImageError

from consultations.photos import truncated_images_refused

logger = logging.getLogger(__name__)

PNG_DATA_URL_PREFIX = "data:image/png;base64,"
MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_SIGNATURE_PIXELS = 4_000_000
# A signature must darken at least this share of the pad: a dot or a stray tap is not one.
MIN_INK_SHARE = 0.002
INK_THRESHOLD = 200  # grey levels darker than this count as ink on the white background


def process_signature(data: bytes, *, who: str) -> bytes:
    """A clean PNG of the signature, or ValidationError naming `who` and the problem.

    The pad sends a PNG with a transparent background; it is flattened onto
    white and re-encoded, so no metadata or extra chunks survive.
    """
    if not data:
        raise ValidationError(f"The {who} signature is empty: please sign in the box.")
    if len(data) > MAX_SIGNATURE_BYTES:
        raise ValidationError(f"The {who} signature is larger than 1 MB.")
    try:
        with truncated_images_refused():
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            if image.width * image.height > MAX_SIGNATURE_PIXELS:
                raise ValidationError(f"The {who} signature image is too large.")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(f"The {who} signature is not a PNG image.") from None
    flat = Image.new("RGB", image.size, "white")
    rgba = image.convert("RGBA")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    grey = ImageOps.grayscale(flat)
    ink = sum(grey.histogram()[:INK_THRESHOLD])
    if ink < MIN_INK_SHARE * grey.width * grey.height:
        raise ValidationError(f"The {who} signature is blank: please sign in the box.")
    out = io.BytesIO()
    grey.save(out, format="PNG", optimize=True)
    return out.getvalue()


def signature_data_url(field: FieldFile) -> str:
    """A stored signature as a `data:` URI, or "" (logged) if its file is missing.

    A data: URI is the one image source both the pages' CSP (img-src) and the
    PDF renderer allow.
    """
    if not field.name:
        logger.warning("A signature has no stored file")
        return ""
    try:
        with field.storage.open(field.name, "rb") as stored:
            data = stored.read()
    except (OSError, ValueError):
        logger.warning("Signature file %r is missing", field.name)
        return ""
    return PNG_DATA_URL_PREFIX + base64.b64encode(data).decode("ascii")
