"""Clinical photo processing: check an upload is a sane image, then re-encode it clean.

Every uploaded photo goes through `process_photo` before anything is stored.
The file is judged by what Pillow decodes, never by its name or declared type,
and what is kept is a fresh JPEG made from the pixels alone: no EXIF (GPS,
camera, dates), no ICC profile, no XMP, no comments.
"""

import contextlib
import io
import math
import threading
from dataclasses import dataclass
from typing import IO

import pillow_heif
from django.conf import settings
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

# Phones save HEIC by default; the opener teaches Pillow to read it (format "HEIF").
pillow_heif.register_heif_opener()

DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000
MAX_LONG_EDGE = 2560
THUMBNAIL_LONG_EDGE = 320
IMAGE_QUALITY = 88
THUMBNAIL_QUALITY = 80

# The decoders Pillow may even try. Limiting them keeps every other parser
# (EPS, which shells out to Ghostscript, among them) away from uploads.
# "MPO" is how Pillow names a JPEG with a multi-picture index, as many phone
# cameras write; it is decoded by the JPEG plugin.
OPEN_FORMATS = ["JPEG", "PNG", "WEBP", "HEIF"]
ALLOWED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "HEIF"}
ALLOWED_FORMATS_TEXT = "JPEG, PNG, WebP or HEIC"


class PhotoRejected(ValueError):
    """An upload that is not an acceptable photo; the message names the file and why."""


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo ready to store: JPEG bytes without metadata, and its thumbnail."""

    image_bytes: bytes
    thumbnail_bytes: bytes
    width: int
    height: int


_strict_decoding_lock = threading.Lock()


@contextlib.contextmanager
def truncated_images_refused():
    """Make Pillow (and pillow-heif) refuse truncated files while decoding an upload.

    LOAD_TRUNCATED_IMAGES is one process-wide flag, and WeasyPrint turns it on
    when it is imported (clinic.pdf); left on, a cut-off upload would be stored
    with grey or black where its missing part was. The lock keeps two uploads
    from restoring each other's value.
    """
    with _strict_decoding_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def max_upload_bytes() -> int:
    return getattr(settings, "PHOTO_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def file_size(upload: IO[bytes]) -> int:
    """The real size of the file, measured rather than taken from the request."""
    upload.seek(0, io.SEEK_END)
    size = upload.tell()
    upload.seek(0)
    return size


def to_srgb(image: Image.Image) -> Image.Image:
    """Convert to sRGB using the embedded ICC profile, so dropping the profile keeps the colours.

    iPhones shoot in Display P3: without this, skin tones would look duller than
    the patient's, which matters when comparing before and after.
    """
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, target, outputMode=output_mode)
        return converted if converted is not None else image  # None only when done in place
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken profile: keep the pixels as they are rather than refuse the photo.
        return image


def clean_rgb(image: Image.Image) -> Image.Image:
    """A new RGB image holding only the pixels: `info` (and so every metadata field) is empty."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        clean = Image.new("RGB", rgba.size, "white")
        clean.paste(rgba, mask=rgba.getchannel("A"))
        return clean
    if image.mode.startswith("I;16"):
        # 16-bit greyscale PNGs: scale down to 8 bits before converting.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    clean = Image.new("RGB", image.size)
    clean.paste(image.convert("RGB"))
    return clean


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    # Deliberately no exif=, icc_profile=, xmp= or comment=: the image carries none.
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def open_checked(upload: IO[bytes], name: str) -> Image.Image:
    """Open the file and decode it fully, refusing anything but a sane, complete photo."""
    size = file_size(upload)
    if size == 0:
        raise PhotoRejected(f"“{name}” is empty.")
    limit = max_upload_bytes()
    if size > limit:
        raise PhotoRejected(f"“{name}” is larger than {limit // (1024 * 1024)} MB.")
    with truncated_images_refused():
        return decode(upload, name)


def decode(upload: IO[bytes], name: str) -> Image.Image:
    too_many_pixels = PhotoRejected(
        f"“{name}” has too many pixels (more than {MAX_PIXELS // 1_000_000} megapixels)."
    )
    not_an_image = PhotoRejected(f"“{name}” is not a {ALLOWED_FORMATS_TEXT} photo.")
    try:
        image = Image.open(upload, formats=OPEN_FORMATS)
    except Image.DecompressionBombError:
        # Pillow's own limit (far above ours), as a backstop.
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise not_an_image from None
    if image.format not in ALLOWED_FORMATS:
        raise not_an_image
    # Only the header has been read so far: check the size before decoding a pixel.
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise too_many_pixels
    if image.format in ("JPEG", "MPO") and max(width, height) > MAX_LONG_EDGE:
        # Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while keeping the long
        # edge at least MAX_LONG_EDGE: a fraction of the memory and time of a full decode.
        scale = MAX_LONG_EDGE / max(width, height)
        image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRejected(f"“{name}” is damaged or incomplete; please upload it again.") from None
    return image


def process_photo(upload: IO[bytes], *, name: str | None = None) -> ProcessedPhoto:
    """Check an uploaded file and turn it into a clean JPEG and thumbnail.

    Raises PhotoRejected, naming the file, if it is empty, too large, not a
    JPEG/PNG/WebP/HEIC image, damaged, or has too many pixels.
    """
    name = name or getattr(upload, "name", None) or "photo"
    image = open_checked(upload, name)
    # Cameras store rotation as an EXIF tag; apply it now, as the tag is about to go.
    # Unreadable EXIF: keep the pixels as stored.
    with contextlib.suppress(OSError, SyntaxError, ValueError):
        image = ImageOps.exif_transpose(image)
    image = clean_rgb(to_srgb(image))
    image.thumbnail((MAX_LONG_EDGE, MAX_LONG_EDGE), Image.Resampling.LANCZOS)
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_LONG_EDGE, THUMBNAIL_LONG_EDGE), Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        image_bytes=encode_jpeg(image, IMAGE_QUALITY),
        thumbnail_bytes=encode_jpeg(thumbnail, THUMBNAIL_QUALITY),
        width=image.width,
        height=image.height,
    )
