"""Photo processing and the photo service, with real images made by Pillow."""

import io
import struct
import zlib
from datetime import timedelta

import pillow_heif
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import ExifTags, Image, ImageCms, ImageFile

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations import services
from consultations.demo_photos import demo_photo_jpeg
from consultations.models import PatientPhoto, PhotoStage, PhotoView
from consultations.photos import PhotoRejected, process_photo
from tests.factories import PatientFactory
from tests.recipes import photography_consent

RED = (220, 30, 30)
BLUE = (30, 30, 220)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Photos go to a temporary private media root, never into var/."""
    root = tmp_path / "private-media"
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root


def image_bytes(fmt: str, size=(400, 300), mode="RGB", color=RED, **save_options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save_options)
    return buffer.getvalue()


def upload(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def stored_image(field) -> Image.Image:
    with field.storage.open(field.name, "rb") as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
        return image


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size but holds no real pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def phone_jpeg_with_location() -> bytes:
    """A 400 x 200 JPEG, left half red, right half blue, as a phone held sideways saves it:
    rotation in EXIF (orientation 6), GPS position, camera make, ICC profile, XMP and a comment."""
    image = Image.new("RGB", (400, 200), RED)
    image.paste(BLUE, (200, 0, 400, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 30.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (0.0, 7.0, 40.0),
    }
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    image.save(
        buffer,
        format="JPEG",
        quality=95,
        exif=exif.tobytes(),
        icc_profile=srgb,
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">51.5034 N 0.1276 W</x:xmpmeta>',
        comment=b"Jane Doe, clinic room 2",
    )
    return buffer.getvalue()


def add_photos(patient, files, **overrides):
    options = {
        "view": PhotoView.FRONTAL,
        "stage": PhotoStage.BASELINE,
        "taken_on": timezone.localdate() - timedelta(days=7),
        "actor": Actor.system(),
    }
    if not services.photo_use_consented(patient, "clinical"):
        photography_consent(patient, None)
    return services.add_patient_photos(patient=patient, files=files, **(options | overrides))


def stored_file_count(root) -> int:
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


# Metadata and orientation ----------------------------------------------------


@pytest.mark.django_db
def test_it_strips_gps_and_every_other_metadata_and_turns_the_photo_upright(private_media):
    patient = PatientFactory()
    [photo] = add_photos(patient, [upload(phone_jpeg_with_location(), "IMG_0001.jpg")])

    stored = stored_image(photo.image)
    assert len(stored.getexif()) == 0
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    for key in ("exif", "icc_profile", "xmp", "comment"):
        assert key not in stored.info
    raw = (private_media / photo.image.name).read_bytes()
    assert b"Exif" not in raw
    assert b"Jane Doe" not in raw
    assert b"51.5034" not in raw
    # Orientation 6 means "turn 90° clockwise to view": the red left half is now on top.
    assert stored.size == (200, 400)
    assert (photo.width, photo.height) == (200, 400)
    top, bottom = stored.getpixel((100, 50)), stored.getpixel((100, 350))
    assert top[0] > 180 and top[2] < 80
    assert bottom[2] > 180 and bottom[0] < 80


@pytest.mark.django_db
def test_the_thumbnail_carries_no_metadata_either():
    [photo] = add_photos(PatientFactory(), [upload(phone_jpeg_with_location(), "IMG_0002.jpg")])
    thumbnail = stored_image(photo.thumbnail)
    assert len(thumbnail.getexif()) == 0
    assert "exif" not in thumbnail.info
    assert "icc_profile" not in thumbnail.info
    assert thumbnail.size == (160, 320)


# Accepted formats and sizes --------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("JPEG", "photo.jpg"), ("PNG", "photo.png"), ("WEBP", "photo.webp"), ("HEIF", "IMG_1.HEIC")],
)
def test_jpeg_png_webp_and_heic_photos_are_accepted_and_stored_as_jpeg(fmt, name):
    pillow_heif.register_heif_opener()
    processed = process_photo(upload(image_bytes(fmt), name))
    stored = Image.open(io.BytesIO(processed.image_bytes))
    assert stored.format == "JPEG"
    assert stored.size == (400, 300)
    assert (processed.width, processed.height) == (400, 300)


def test_a_transparent_png_gets_a_white_background_not_a_black_one():
    processed = process_photo(upload(image_bytes("PNG", mode="RGBA", color=(0, 0, 0, 0)), "a.png"))
    assert Image.open(io.BytesIO(processed.image_bytes)).getpixel((10, 10)) >= (250, 250, 250)


def test_a_large_photo_is_kept_at_2560_pixels_on_its_long_edge_with_a_small_thumbnail():
    processed = process_photo(upload(image_bytes("JPEG", size=(5200, 3900)), "big.jpg"))
    assert Image.open(io.BytesIO(processed.image_bytes)).size == (2560, 1920)
    assert (processed.width, processed.height) == (2560, 1920)
    assert Image.open(io.BytesIO(processed.thumbnail_bytes)).size == (320, 240)


def test_a_small_photo_is_not_enlarged():
    processed = process_photo(upload(image_bytes("JPEG", size=(640, 480)), "small.jpg"))
    assert (processed.width, processed.height) == (640, 480)


# Refused files ----------------------------------------------------------------


def truncated(fmt: str):
    def make() -> bytes:
        buffer = io.BytesIO()
        Image.effect_noise((600, 400), 50).convert("RGB").save(buffer, format=fmt)
        whole = buffer.getvalue()
        return whole[: len(whole) * 2 // 3]

    return make


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>'


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("notes.jpg", lambda: b"Patient notes, not a photo\n", "is not a JPEG, PNG, WebP or HEIC"),
        ("cut-off.jpg", truncated("JPEG"), "is damaged or incomplete"),
        ("cut-off.png", truncated("PNG"), "is damaged or incomplete"),
        ("cut-off.heic", truncated("HEIF"), "is damaged or incomplete"),
        ("drawing.svg", lambda: SVG, "is not a JPEG, PNG, WebP or HEIC"),
        ("drawing.jpg", lambda: SVG, "is not a JPEG, PNG, WebP or HEIC"),
        ("animation.gif", lambda: image_bytes("GIF"), "is not a JPEG, PNG, WebP or HEIC"),
        ("scan.tiff", lambda: image_bytes("TIFF"), "is not a JPEG, PNG, WebP or HEIC"),
        ("empty.jpg", lambda: b"", "is empty"),
        (
            "bomb.png",
            lambda: image_bytes("PNG", size=(20000, 20000), mode="1", color=0),
            "has too many pixels (more than 50 megapixels)",
        ),
    ],
)
def test_files_that_are_not_sane_photos_are_refused_with_a_message_naming_them(
    monkeypatch, name, make, message
):
    # Importing WeasyPrint (the PDF renderer) switches on Pillow's process-wide
    # LOAD_TRUNCATED_IMAGES; uploads must be refused all the same.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(PhotoRejected) as refusal:
        process_photo(upload(make(), name))
    assert str(refusal.value).startswith(f"“{name}” ")
    assert message in str(refusal.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as the PDF renderer wants it


def test_the_pdf_renderer_is_what_lets_pillow_load_truncated_images():
    # Why the test above switches the flag on: keep it honest if WeasyPrint changes.
    import clinic.pdf  # noqa: F401

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_too_many_pixels_is_judged_from_the_header_before_any_pixel_is_decoded():
    # Both files hold the same broken pixel data; only the declared size differs.
    with pytest.raises(PhotoRejected, match="damaged or incomplete"):
        process_photo(upload(png_header(1000, 600), "small.png"))
    with pytest.raises(PhotoRejected, match="too many pixels"):
        process_photo(upload(png_header(10000, 6000), "huge.png"))


def test_a_file_over_25_mb_is_refused_even_if_it_starts_as_a_valid_photo():
    data = image_bytes("JPEG")
    padded = data + b"\0" * (25 * 1024 * 1024 + 1 - len(data))
    with pytest.raises(PhotoRejected, match=r"“huge\.jpg” is larger than 25 MB"):
        process_photo(upload(padded, "huge.jpg"))


def test_the_upload_limit_can_be_lowered_in_settings(settings):
    settings.PHOTO_MAX_UPLOAD_BYTES = 1024 * 1024
    with pytest.raises(PhotoRejected, match="larger than 1 MB"):
        process_photo(upload(b"\xff\xd8" + b"\0" * (1024 * 1024), "photo.jpg"))


# The service ------------------------------------------------------------------


@pytest.mark.django_db
def test_adding_photos_stores_each_one_and_audits_it(practitioner_user, private_media):
    patient = PatientFactory()
    files = [upload(image_bytes("JPEG"), f"photo{i}.jpg") for i in range(3)]
    photos = add_photos(patient, files, actor=Actor.system(user=practitioner_user))

    assert PatientPhoto.objects.filter(patient=patient).count() == 3
    assert stored_file_count(private_media) == 6  # each photo and its thumbnail
    events = AuditEvent.objects.filter(
        action=AuditAction.CREATE, patient_id=patient.pk, object_type="consultations.PatientPhoto"
    )
    assert sorted(int(e.object_id) for e in events) == sorted(p.pk for p in photos)
    assert {e.actor for e in events} == {practitioner_user}


@pytest.mark.django_db
def test_one_refused_file_means_none_of_the_upload_is_stored(private_media):
    patient = PatientFactory()
    files = [
        upload(image_bytes("JPEG"), "good.jpg"),
        upload(b"not a photo", "bad.jpg"),
        upload(b"", "empty.jpg"),
    ]
    with pytest.raises(ValidationError) as refusal:
        add_photos(patient, files)
    assert refusal.value.message_dict["files"] == [
        "“bad.jpg” is not a JPEG, PNG, WebP or HEIC photo.",
        "“empty.jpg” is empty.",
    ]
    assert not PatientPhoto.objects.exists()
    assert stored_file_count(private_media) == 0


@pytest.mark.django_db
def test_if_saving_fails_the_files_already_written_are_removed(monkeypatch, private_media):
    def broken_audit(**kwargs):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(services, "record_event", broken_audit)
    files = [upload(image_bytes("JPEG"), "a.jpg"), upload(image_bytes("PNG"), "b.png")]
    with pytest.raises(RuntimeError):
        add_photos(PatientFactory(), files)
    assert not PatientPhoto.objects.exists()
    assert stored_file_count(private_media) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days_from_today", "message"),
    [(1, "The date taken is in the future."), (None, "before the patient's date of birth")],
)
def test_a_photo_date_in_the_future_or_before_birth_is_refused(days_from_today, message):
    patient = PatientFactory()
    if days_from_today is None:
        taken_on = patient.date_of_birth - timedelta(days=1)
    else:
        taken_on = timezone.localdate() + timedelta(days=days_from_today)
    with pytest.raises(ValidationError) as refusal:
        add_photos(patient, [upload(image_bytes("JPEG"), "a.jpg")], taken_on=taken_on)
    assert message in " ".join(refusal.value.message_dict["taken_on"])
    assert not PatientPhoto.objects.exists()


# Demo photos --------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_photos_are_portrait_jpegs_that_the_upload_accepts():
    data = demo_photo_jpeg(seed=3, view=PhotoView.LEFT_OBLIQUE, stage=PhotoStage.BASELINE)
    assert Image.open(io.BytesIO(data)).size == (1200, 1600)
    [photo] = add_photos(PatientFactory(), [upload(data, "demo.jpg")])
    assert (photo.width, photo.height) == (1200, 1600)


def test_demo_photos_differ_by_patient_and_view_but_repeat_for_the_same_ones():
    frontal = demo_photo_jpeg(seed=1, view=PhotoView.FRONTAL, stage=PhotoStage.BASELINE)
    assert frontal == demo_photo_jpeg(seed=1, view=PhotoView.FRONTAL, stage=PhotoStage.BASELINE)
    assert frontal != demo_photo_jpeg(seed=2, view=PhotoView.FRONTAL, stage=PhotoStage.BASELINE)
    assert frontal != demo_photo_jpeg(seed=1, view=PhotoView.RIGHT_PROFILE, stage="baseline")
