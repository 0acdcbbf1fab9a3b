"""The photo pages: who may see and upload them, how files are served, the comparison."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clinic import settings as project_settings
from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent
from consultations.models import (
    ErasureRequest,
    PatientPhoto,
    PhotographyConsent,
    PhotoRelease,
    PhotoStage,
    PhotoView,
)
from consultations.services import release_photo, released_photos
from tests.factories import PatientFactory
from tests.recipes import photography_consent

pytestmark = pytest.mark.django_db

JPEG_MAGIC = b"\xff\xd8\xff"


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


@pytest.fixture
def patient():
    patient = PatientFactory(first_name="Imogen", last_name="Fairweather")
    photography_consent(patient, None)
    return patient


def jpeg(size=(300, 400), color=(200, 150, 130)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_photo(patient, *, view=PhotoView.FRONTAL, stage=PhotoStage.BASELINE, days_ago=30):
    """A stored photo made directly (the upload path is tested through the views)."""
    photo = PatientPhoto(
        patient=patient,
        view=view,
        stage=stage,
        taken_on=timezone.localdate() - timedelta(days=days_ago),
        width=300,
        height=400,
    )
    photo.image.save("p.jpg", ContentFile(jpeg()), save=False)
    photo.thumbnail.save("t.jpg", ContentFile(jpeg((60, 80))), save=False)
    photo.save()
    return photo


def upload_data(*files, taken_on=None, view=PhotoView.FRONTAL, stage=PhotoStage.BASELINE):
    taken_on = taken_on or timezone.localdate() - timedelta(days=3)
    return {"files": list(files), "view": view, "stage": stage, "taken_on": taken_on.isoformat()}


def photo_file(name="IMG_0001.jpg", data=None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg() if data is None else data, content_type="image/jpeg")


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def page_urls(patient, photo) -> dict[str, str]:
    return {
        "photo_list": reverse("consultations:photo_list", args=[patient.pk]),
        "photo_upload": reverse("consultations:photo_upload", args=[patient.pk]),
        "photo_compare": reverse("consultations:photo_compare", args=[patient.pk]),
        "photo_image": reverse("consultations:photo_image", args=[photo.pk]),
        "photo_thumbnail": reverse("consultations:photo_thumbnail", args=[photo.pk]),
    }


PAGES = ["photo_list", "photo_upload", "photo_compare", "photo_image", "photo_thumbnail"]


def open_page(client, name, url, **data):
    if name == "photo_upload":
        return client.post(url, data)
    return client.get(url, data)


# Who may do what -------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, patient, name):
    url = page_urls(patient, make_photo(patient))[name]
    response = open_page(client, name, url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_the_front_desk_is_refused_photos_and_sees_nothing_of_the_patient(
    client, frontdesk_user, patient, name
):
    photo = make_photo(patient)
    client.force_login(frontdesk_user)
    response = open_page(client, name, page_urls(patient, photo)[name])
    assert response.status_code == 403
    body = response.content
    assert JPEG_MAGIC not in body
    for detail in ("Imogen", "Fairweather", patient.record_number):
        assert detail.encode() not in body
    assert b"This page is for the" in body
    assert PatientPhoto.objects.count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW).exists()


def test_a_practitioner_uploads_a_photo_and_then_sees_it(client, practitioner_user, patient):
    client.force_login(practitioner_user)
    list_url = reverse("consultations:photo_list", args=[patient.pk])
    page = client.get(list_url).content.decode()
    assert 'type="file"' in page and "multiple" in page
    for label in ("Photos", "View", "Stage", "Date taken"):
        assert f"{label}<span" in page  # every field has its label

    taken_on = timezone.localdate() - timedelta(days=2)
    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]),
        upload_data(photo_file(), taken_on=taken_on),
        follow=True,
    )

    assert response.redirect_chain == [(list_url, 302)]
    body = response.content.decode()
    assert "Added 1 photo." in body
    photo = PatientPhoto.objects.get(patient=patient)
    assert photo.uploaded_by == practitioner_user
    alt = f"Frontal, baseline, {taken_on.day} {taken_on:%b %Y}"
    assert f'alt="{alt}"' in body
    assert reverse("consultations:photo_thumbnail", args=[photo.pk]) in body
    image = client.get(reverse("consultations:photo_image", args=[photo.pk]))
    assert image.status_code == 200
    assert b"".join(image.streaming_content).startswith(JPEG_MAGIC)


def test_a_manager_sees_photos_but_cannot_upload(client, manager_user, patient, private_media):
    photo = make_photo(patient)
    files_before = stored_files(private_media)
    client.force_login(manager_user)

    page = client.get(reverse("consultations:photo_list", args=[patient.pk]))
    assert page.status_code == 200
    assert b'type="file"' not in page.content
    assert client.get(reverse("consultations:photo_image", args=[photo.pk])).status_code == 200
    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]), upload_data(photo_file())
    )
    assert response.status_code == 403
    assert PatientPhoto.objects.count() == 1
    assert stored_files(private_media) == files_before


# Uploading ---------------------------------------------------------------------------


def test_several_photos_uploaded_at_once_each_become_a_photo(client, practitioner_user, patient):
    client.force_login(practitioner_user)
    files = [photo_file(f"IMG_{i}.jpg") for i in range(3)]
    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]),
        upload_data(*files, view=PhotoView.LEFT_OBLIQUE, stage=PhotoStage.TWO_WEEKS),
        follow=True,
    )
    assert "Added 3 photos." in response.content.decode()
    photos = PatientPhoto.objects.filter(patient=patient)
    assert photos.count() == 3
    assert {(p.view, p.stage) for p in photos} == {("left_oblique", "2_weeks")}
    created = AuditEvent.objects.filter(
        action=AuditAction.CREATE,
        patient_id=patient.pk,
        object_type="consultations.PatientPhoto",
    )
    assert created.count() == 3


def test_one_bad_file_among_good_ones_saves_nothing_and_names_the_bad_file(
    client, practitioner_user, patient, private_media
):
    existing = make_photo(patient)
    files_before = stored_files(private_media)
    client.force_login(practitioner_user)
    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]),
        upload_data(photo_file("good.jpg"), photo_file("notes.jpg", b"just some text")),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was uploaded." in body
    assert "“notes.jpg” is not a JPEG, PNG, WebP or HEIC photo." in body
    assert list(PatientPhoto.objects.all()) == [existing]
    assert stored_files(private_media) == files_before


def test_an_upload_without_files_asks_for_them(client, practitioner_user, patient):
    client.force_login(practitioner_user)
    response = client.post(reverse("consultations:photo_upload", args=[patient.pk]), upload_data())
    assert response.status_code == 400
    assert "Choose at least one photo." in response.content.decode()
    assert not PatientPhoto.objects.exists()


def test_more_than_twenty_photos_at_once_are_refused(client, practitioner_user, patient):
    client.force_login(practitioner_user)
    files = [photo_file(f"IMG_{i}.jpg") for i in range(21)]
    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]), upload_data(*files)
    )
    assert response.status_code == 400
    assert "Upload at most 20 photos at a time." in response.content.decode()
    assert not PatientPhoto.objects.exists()


def test_a_photo_dated_in_the_future_is_refused(client, practitioner_user, patient):
    client.force_login(practitioner_user)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]),
        upload_data(photo_file(), taken_on=tomorrow),
    )
    assert response.status_code == 400
    assert "The date taken is in the future." in response.content.decode()
    assert not PatientPhoto.objects.exists()


def test_the_upload_page_is_post_only(client, practitioner_user, patient):
    client.force_login(practitioner_user)
    response = client.get(reverse("consultations:photo_upload", args=[patient.pk]))
    assert response.status_code == 405


# Serving the files -----------------------------------------------------------------


def test_viewing_a_full_photo_is_audited_and_never_cached(client, practitioner_user, patient):
    photo = make_photo(patient)
    client.force_login(practitioner_user)
    response = client.get(reverse("consultations:photo_image", args=[photo.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert event.action == "view"
    assert event.patient_id == patient.pk
    assert event.actor == practitioner_user
    assert event.object_id == str(photo.pk)


def test_viewing_a_thumbnail_is_audited_too(client, practitioner_user, patient):
    photo = make_photo(patient)
    client.force_login(practitioner_user)
    response = client.get(reverse("consultations:photo_thumbnail", args=[photo.pk]))
    assert response.status_code == 200
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (60, 80)
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, patient_id=patient.pk).count() == 1


def test_an_archived_photo_is_not_served(client, practitioner_user, patient):
    photo = make_photo(patient)
    PatientPhoto.objects.filter(pk=photo.pk).update(is_archived=True)
    client.force_login(practitioner_user)
    for name in ("photo_image", "photo_thumbnail"):
        assert client.get(reverse(f"consultations:{name}", args=[photo.pk])).status_code == 404
    page = client.get(reverse("consultations:photo_list", args=[patient.pk]))
    assert "No photos yet." in page.content.decode()


def test_photos_are_stored_privately_and_not_reachable_by_a_plain_url(
    client, practitioner_user, patient, private_media
):
    photo = make_photo(patient)
    stored = Path(photo.image.path).resolve()
    assert stored.is_relative_to(Path(django_settings.PRIVATE_MEDIA_ROOT).resolve())
    assert not stored.is_relative_to(Path(django_settings.STATIC_ROOT).resolve())
    # The project's own configuration keeps the two apart as well.
    private_root = Path(project_settings.PRIVATE_MEDIA_ROOT).resolve()
    assert project_settings.STORAGES["default"]["OPTIONS"]["location"] == str(
        project_settings.PRIVATE_MEDIA_ROOT
    )
    for public in [project_settings.STATIC_ROOT, *project_settings.STATICFILES_DIRS]:
        assert not private_root.is_relative_to(Path(public).resolve())
    client.force_login(practitioner_user)
    for guess in (
        f"/media/{photo.image.name}",
        f"/static/{photo.image.name}",
        f"/{photo.image.name}",
    ):
        assert client.get(guess).status_code == 404


# The list and the comparison ---------------------------------------------------------


def test_the_photo_list_groups_photos_by_stage_and_view(client, manager_user, patient):
    make_photo(patient, stage=PhotoStage.BASELINE, view=PhotoView.FRONTAL, days_ago=90)
    make_photo(patient, stage=PhotoStage.THREE_MONTHS, view=PhotoView.LEFT_PROFILE, days_ago=1)
    client.force_login(manager_user)
    body = client.get(reverse("consultations:photo_list", args=[patient.pk])).content.decode()
    headings = re.findall(r"<h[23][^>]*>([^<]+)</h[23]>", body)
    assert headings == ["Photography consent", "Baseline", "Frontal", "3 months", "Left profile"]
    assert reverse("consultations:photo_compare", args=[patient.pk]) in body


def test_the_comparison_defaults_to_the_baseline_and_the_latest_later_photo(
    client, practitioner_user, patient
):
    baseline = make_photo(patient, stage=PhotoStage.BASELINE, days_ago=120)
    make_photo(patient, stage=PhotoStage.TWO_WEEKS, days_ago=100)
    latest = make_photo(patient, stage=PhotoStage.THREE_MONTHS, days_ago=10)
    make_photo(patient, view=PhotoView.LEFT_PROFILE, stage=PhotoStage.SIX_MONTHS, days_ago=1)
    client.force_login(practitioner_user)

    response = client.get(reverse("consultations:photo_compare", args=[patient.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    image_urls = set(re.findall(r'<img [^>]*src="([^"]+)"', body))
    assert image_urls == {
        reverse("consultations:photo_image", args=[baseline.pk]),
        reverse("consultations:photo_image", args=[latest.pk]),
    }
    assert 'type="range"' in body
    assert 'for="compare-reveal"' in body
    assert "js/photo-compare.js" in body
    assert " style=" not in body
    assert "Before: Frontal, baseline," in body


def test_two_chosen_photos_are_compared(client, practitioner_user, patient):
    first = make_photo(patient, stage=PhotoStage.TWO_WEEKS, days_ago=60)
    second = make_photo(patient, stage=PhotoStage.SIX_MONTHS, days_ago=5)
    make_photo(patient, stage=PhotoStage.BASELINE, days_ago=90)
    client.force_login(practitioner_user)
    response = client.get(
        reverse("consultations:photo_compare", args=[patient.pk]),
        {"before": first.pk, "after": second.pk},
    )
    assert response.status_code == 200
    assert re.search(rf'<option value="{first.pk}" selected>', response.content.decode())
    assert re.search(rf'<option value="{second.pk}" selected>', response.content.decode())


def test_another_patients_photo_cannot_be_pulled_into_the_comparison(
    client, practitioner_user, patient
):
    own = make_photo(patient)
    other = make_photo(PatientFactory())
    client.force_login(practitioner_user)
    url = reverse("consultations:photo_compare", args=[patient.pk])
    assert client.get(url, {"before": own.pk, "after": other.pk}).status_code == 404
    assert client.get(url, {"before": other.pk}).status_code == 404
    assert client.get(url, {"before": "not-a-number"}).status_code == 404


def test_photos_of_different_views_are_not_compared(client, practitioner_user, patient):
    frontal = make_photo(patient, view=PhotoView.FRONTAL)
    profile = make_photo(patient, view=PhotoView.RIGHT_PROFILE, stage=PhotoStage.SIX_MONTHS)
    client.force_login(practitioner_user)
    response = client.get(
        reverse("consultations:photo_compare", args=[patient.pk]),
        {"before": frontal.pk, "after": profile.pk},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose two photos of the same view." in body
    assert 'type="range"' not in body


def test_with_nothing_to_compare_the_page_says_what_is_needed(client, practitioner_user, patient):
    make_photo(patient)
    client.force_login(practitioner_user)
    response = client.get(reverse("consultations:photo_compare", args=[patient.pk]))
    assert response.status_code == 200
    assert "add a baseline photo and a later photo of the same view" in response.content.decode()


# Photography consent ---------------------------------------------------------------------


def consent_url(patient):
    return reverse("consultations:photography_consent_record", args=[patient.pk])


def test_a_baseline_photo_without_photography_consent_is_refused_with_a_clear_message(
    client, practitioner_user, private_media
):
    patient = PatientFactory(first_name="Anaïs", last_name="Nin")
    client.force_login(practitioner_user)
    page = client.get(reverse("consultations:photo_list", args=[patient.pk])).content.decode()
    assert "has no photography consent for the clinical record" in page

    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]), upload_data(photo_file())
    )

    assert response.status_code == 400
    assert "Anaïs Nin has no photography consent for the clinical record" in (
        response.content.decode()
    )
    assert not PatientPhoto.objects.exists()
    assert stored_files(private_media) == []


def test_a_recorded_verbal_consent_keeps_who_when_and_the_words_and_allows_the_upload(
    client, practitioner_user
):
    patient = PatientFactory()
    client.force_login(practitioner_user)

    response = client.post(
        consent_url(patient),
        {
            "use": "clinical",
            "granted": "yes",
            "form": "verbal",
            "words": "Yes, take photos for my notes.",
        },
        follow=True,
    )

    consent = PhotographyConsent.objects.get(patient=patient)
    assert consent.recorded_by == practitioner_user and consent.recorded_at is not None
    assert (consent.form, consent.words, consent.granted) == (
        "verbal",
        "Yes, take photos for my notes.",
        True,
    )
    assert "“Yes, take photos for my notes.”" in response.content.decode()
    assert AuditEvent.objects.filter(
        patient_id=patient.pk, summary__contains="photography consent given (verbal"
    ).exists()
    uploaded = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]), upload_data(photo_file())
    )
    assert uploaded.status_code == 302
    assert PatientPhoto.objects.filter(patient=patient).count() == 1


def test_a_verbal_consent_without_the_patients_words_is_refused(client, practitioner_user):
    patient = PatientFactory()
    client.force_login(practitioner_user)

    response = client.post(
        consent_url(patient), {"use": "clinical", "granted": "yes", "form": "verbal", "words": ""}
    )

    assert response.status_code == 400
    assert "Write down the patient&#x27;s words" in response.content.decode()
    assert not PhotographyConsent.objects.exists()


@pytest.mark.parametrize("use", ["teaching", "marketing"])
def test_a_photo_is_not_released_for_teaching_or_marketing_without_that_consent(
    client, practitioner_user, patient, use
):
    photo = make_photo(patient)  # the patient consented to clinical-record photos only
    client.force_login(practitioner_user)

    response = client.post(
        reverse("consultations:photo_release", args=[photo.pk]), {"use": use}, follow=True
    )

    assert f"has not consented to the use of their photos for {use}" in response.content.decode()
    assert not PhotoRelease.objects.exists()
    assert released_photos(use) == []


def test_a_withdrawn_teaching_consent_stops_the_photos_release(client, practitioner_user, patient):
    photo = make_photo(patient)
    consent = photography_consent(patient, practitioner_user, use="teaching")
    client.force_login(practitioner_user)
    client.post(reverse("consultations:photo_release", args=[photo.pk]), {"use": "teaching"})
    assert released_photos("teaching") == [photo]

    response = client.post(
        reverse("consultations:photography_consent_withdraw", args=[consent.pk]),
        {"reason": "She no longer wants it"},
        follow=True,
    )

    assert "withdrawn" in response.content.decode()
    assert released_photos("teaching") == []
    assert PhotoRelease.objects.get().revoked_at is not None
    again = client.post(
        reverse("consultations:photo_release", args=[photo.pk]), {"use": "teaching"}, follow=True
    )
    assert "has not consented to the use of their photos for teaching" in again.content.decode()
    assert PhotoRelease.objects.filter(revoked_at__isnull=True).count() == 0


def test_a_withdrawn_clinical_consent_stops_further_uploads(client, practitioner_user, patient):
    consent = PhotographyConsent.objects.get(patient=patient, use="clinical")
    client.force_login(practitioner_user)
    client.post(
        reverse("consultations:photography_consent_withdraw", args=[consent.pk]),
        {"reason": "Changed her mind"},
    )

    response = client.post(
        reverse("consultations:photo_upload", args=[patient.pk]), upload_data(photo_file())
    )

    assert response.status_code == 400
    assert "has no photography consent for the clinical record (or withdrew it)" in (
        response.content.decode()
    )
    assert not PatientPhoto.objects.exists()


@pytest.mark.parametrize("role", ["front_desk", "manager"])
def test_only_clinicians_record_or_withdraw_photography_consent(client, users_by_role, role):
    patient = PatientFactory()
    client.force_login(users_by_role[role])
    response = client.post(
        consent_url(patient), {"use": "clinical", "granted": "yes", "form": "written"}
    )
    assert response.status_code == 403
    assert not PhotographyConsent.objects.exists()


def test_the_released_photos_are_listed_in_two_queries_however_many_patients_have_them(
    practitioner_user, django_assert_num_queries
):
    def released_photo_of_a_new_patient():
        patient = PatientFactory()
        photography_consent(patient, practitioner_user)
        photography_consent(patient, practitioner_user, use="teaching")
        photo = make_photo(patient)
        release_photo(photo=photo, use="teaching", actor=Actor.system(user=practitioner_user))
        return photo

    first = released_photo_of_a_new_patient()
    with django_assert_num_queries(2):
        assert released_photos("teaching") == [first]

    others = [released_photo_of_a_new_patient() for _ in range(4)]
    # A later "no" ends one release; an erasure request that withdrew teaching ends another.
    photography_consent(others[0].patient, practitioner_user, use="teaching", granted=False)
    ErasureRequest.objects.create(patient=others[1].patient, photo_uses_withdrawn=["teaching"])
    with django_assert_num_queries(2):
        listed = released_photos("teaching")

    assert sorted(photo.pk for photo in listed) == sorted(
        photo.pk for photo in [first, others[2], others[3]]
    )
    assert {photo.patient.pk for photo in listed} == {
        photo.patient_id for photo in [first, others[2], others[3]]
    }
