"""Signature images from the signing pad: checked, flattened and re-encoded with Pillow."""

import io

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

from consultations.photos import truncated_images_refused

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
