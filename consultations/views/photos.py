"""Clinical photos: a patient's photos, upload, private serving and before/after comparison.

Photo files live in private storage and reach a browser only through
`photo_image` and `photo_thumbnail`, which check the permission and write
every view to the audit trail.
"""

import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.models import AuditAction
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations import services
from consultations.models import (
    Patient,
    PatientPhoto,
    PhotoConsentForm,
    PhotographyConsent,
    PhotoStage,
    PhotoUse,
    PhotoView,
)
from consultations.photos import ALLOWED_FORMATS_TEXT, max_upload_bytes

logger = logging.getLogger(__name__)

MAX_FILES_PER_UPLOAD = 20


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file input that takes several files; cleans to a list of them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        # Empty files reach the photo checks, whose message names the file.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise ValidationError(f"Upload at most {MAX_FILES_PER_UPLOAD} photos at a time.")
        single_file_clean = super().clean
        return [single_file_clean(f, initial) for f in files]


class PhotoUploadForm(forms.Form):
    """One upload: up to MAX_FILES_PER_UPLOAD files sharing one view, stage and date."""

    # Django's form metaclass takes declared fields off the class, so this does not
    # replace the form's `files` (the uploads) at run time; the type checker cannot see that.
    files = MultipleFileField(  # type: ignore[assignment]
        label="Photos",
        help_text=(
            f"{ALLOWED_FORMATS_TEXT}, up to {max_upload_bytes() // (1024 * 1024)} MB each. "
            "Select several at once if they share the view, stage and date."
        ),
        error_messages={"required": "Choose at least one photo."},
        widget=MultipleFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"}
        ),
    )
    view = forms.ChoiceField(choices=PhotoView.choices)
    stage = forms.ChoiceField(choices=PhotoStage.choices)
    taken_on = forms.DateField(
        label="Date taken",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class PhotographyConsentForm(forms.Form):
    """A patient's answer about one use of their photos, as given: on a form or aloud."""

    use = forms.ChoiceField(label="Use of the photos", choices=PhotoUse.choices)
    granted = forms.TypedChoiceField(
        label="The patient's answer",
        choices=[("yes", "Yes, they agree"), ("no", "No, they do not")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Record whether the patient agrees."},
    )
    form = forms.ChoiceField(
        label="Given",
        choices=[
            (PhotoConsentForm.WRITTEN, PhotoConsentForm.WRITTEN.label),
            (PhotoConsentForm.VERBAL, PhotoConsentForm.VERBAL.label),
        ],
    )
    words = forms.CharField(
        label="The patient's words, or a note",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required for a verbal consent.",
    )


class PhotographyWithdrawalForm(forms.Form):
    reason = forms.CharField(
        label="Reason the patient gave",
        max_length=2000,
        error_messages={"required": "Record the reason the patient gave."},
    )


class PhotoReleaseForm(forms.Form):
    use = forms.ChoiceField(
        choices=[
            (PhotoUse.TEACHING, PhotoUse.TEACHING.label),
            (PhotoUse.MARKETING, PhotoUse.MARKETING.label),
        ],
        error_messages={"invalid_choice": "Choose teaching or marketing."},
    )


def photos_grouped(photos: list[PatientPhoto]) -> list[tuple[str, list[tuple[str, list]]]]:
    """[(stage label, [(view label, photos), …]), …] in the choices' order, skipping empties."""
    groups = []
    for stage, stage_label in PhotoStage.choices:
        views = []
        for view, view_label in PhotoView.choices:
            matching = [p for p in photos if p.stage == stage and p.view == view]
            if matching:
                views.append((view_label, matching))
        if views:
            groups.append((stage_label, views))
    return groups


def visible_photos(patient: Patient) -> list[PatientPhoto]:
    """The patient's photos that are not archived, oldest first."""
    return list(patient.photos.filter(is_archived=False).order_by("taken_on", "uploaded_at", "pk"))


def render_photo_list(
    request: HttpRequest,
    patient: Patient,
    form: PhotoUploadForm | None,
    status: int = 200,
    consent_form: PhotographyConsentForm | None = None,
) -> HttpResponse:
    photos = visible_photos(patient)
    can_record = request.user.has_perm("clinic.record_clinical")
    consents = [
        (label, services.current_photography_consent(patient, use))
        for use, label in PhotoUse.choices
    ]
    return render(
        request,
        "consultations/photos/photo_list.html",
        {
            "patient": patient,
            "groups": photos_grouped(photos),
            "photo_count": len(photos),
            "form": form,
            "consents": consents,
            "clinical_consented": services.photo_use_consented(patient, PhotoUse.CLINICAL),
            "consent_form": (consent_form or PhotographyConsentForm()) if can_record else None,
            "can_release": can_record,
        },
        status=status,
    )


@require_permission("clinic.view_clinical")
@require_GET
def photo_list(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    actor = Actor.from_request(request)
    form = None
    if request.user.has_perm("clinic.record_clinical"):
        form = PhotoUploadForm(initial={"taken_on": services.photo_today(actor)})
    record_event(
        action=AuditAction.VIEW,
        actor=actor,
        obj=patient,
        patient_id=patient.pk,
        summary="Listed the patient's photos",
    )
    return render_photo_list(request, patient, form)


@require_permission("clinic.record_clinical")
@require_POST
def photo_upload(request: SignedInRequest, pk: int) -> HttpResponse:
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    form = PhotoUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            photos = services.add_patient_photos(
                patient=patient,
                files=form.cleaned_data["files"],
                view=form.cleaned_data["view"],
                stage=form.cleaned_data["stage"],
                taken_on=form.cleaned_data["taken_on"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            count = len(photos)
            messages.success(request, f"Added {count} photo{'s' if count != 1 else ''}.")
            return redirect("consultations:photo_list", pk=patient.pk)
    return render_photo_list(request, patient, form, status=400)


def serve_photo_file(request: HttpRequest, pk: int, *, thumbnail: bool) -> FileResponse:
    """Stream a stored photo file to an authorised user, and audit that they saw it."""
    photo = get_for_user_or_404(PatientPhoto, request.user, pk=pk, is_archived=False)
    stored = photo.thumbnail if thumbnail else photo.image
    if not stored.name:  # never so: every photo row is saved with its files
        raise Http404("The photo file is missing.")
    try:
        file = stored.storage.open(stored.name, "rb")
    except FileNotFoundError:
        # A row whose file is gone should never happen (add_patient_photos prevents it).
        logger.error("Photo %s has no file %s", photo.pk, stored.name)
        raise Http404("The photo file is missing.") from None
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=photo,
        patient_id=photo.patient_id,
        summary=f"Viewed {'thumbnail' if thumbnail else 'photo'}: {photo}",
    )
    suffix = "-thumbnail" if thumbnail else ""
    response = FileResponse(
        file, content_type="image/jpeg", filename=f"photo-{photo.pk}{suffix}.jpg"
    )
    # Patient photos: never kept by the browser or a shared cache, never sniffed as anything else.
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_permission("clinic.view_clinical")
@require_GET
def photo_image(request: HttpRequest, pk: int) -> FileResponse:
    return serve_photo_file(request, pk, thumbnail=False)


@require_permission("clinic.view_clinical")
@require_GET
def photo_thumbnail(request: HttpRequest, pk: int) -> FileResponse:
    return serve_photo_file(request, pk, thumbnail=True)


def chosen_photo(request: HttpRequest, patient: Patient, param: str) -> PatientPhoto | None:
    """The photo named by a GET parameter; 404 unless it is one of this patient's photos."""
    value = request.GET.get(param, "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise Http404("No such photo.")
    return get_for_user_or_404(
        PatientPhoto, request.user, pk=int(value), patient=patient, is_archived=False
    )


def default_before(photos: list, view: str, exclude=None) -> PatientPhoto | None:
    """The earliest baseline photo of the view, else its earliest photo (`photos`: oldest first)."""
    same_view = [p for p in photos if p.view == view and p != exclude]
    baselines = [p for p in same_view if p.stage == PhotoStage.BASELINE]
    return (baselines or same_view or [None])[0]


def default_after(photos: list, view: str, exclude=None) -> PatientPhoto | None:
    """The latest later-stage photo of the view (else its latest photo)."""
    same_view = [p for p in photos if p.view == view and p != exclude]
    later = [p for p in same_view if p.stage != PhotoStage.BASELINE]
    return (later or same_view or [None])[-1]


def default_pair(photos: list) -> tuple[PatientPhoto | None, PatientPhoto | None]:
    """Baseline and latest later photo of the first view that has both, else any two of one view."""
    fallback: tuple[PatientPhoto | None, PatientPhoto | None] = (None, None)
    for view in PhotoView.values:
        before = default_before(photos, view)
        after = default_after(photos, view, exclude=before)
        if before is None or after is None:
            continue
        if before.stage == PhotoStage.BASELINE and after.stage != PhotoStage.BASELINE:
            return before, after
        if fallback == (None, None):
            fallback = (before, after)
    return fallback


@require_permission("clinic.view_clinical")
@require_GET
def photo_compare(request: HttpRequest, pk: int) -> HttpResponse:
    """Two photos of one view, side by side and overlaid with a slider."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    photos = visible_photos(patient)
    before = chosen_photo(request, patient, "before")
    after = chosen_photo(request, patient, "after")
    if before is None and after is None:
        before, after = default_pair(photos)
    elif before is None and after is not None:
        before = default_before(photos, after.view, exclude=after)
    elif after is None and before is not None:
        after = default_after(photos, before.view, exclude=before)

    error = ""
    if before is not None and after is not None:
        if before.view != after.view:
            error = (
                f"These photos show different views ({before.get_view_display()} and "
                f"{after.get_view_display()}). Choose two photos of the same view."
            )
        elif before.pk == after.pk:
            error = "Choose two different photos to compare."
    photos_by_view = [
        (label, [p for p in photos if p.view == view]) for view, label in PhotoView.choices
    ]
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=patient,
        patient_id=patient.pk,
        summary="Opened the photo comparison",
    )
    return render(
        request,
        "consultations/photos/photo_compare.html",
        {
            "patient": patient,
            "before": before,
            "after": after,
            "error": error,
            "photos_by_view": [(label, group) for label, group in photos_by_view if group],
        },
        status=400 if error else 200,
    )


@require_permission("clinic.record_clinical")
@require_POST
def photography_consent_record(request: SignedInRequest, pk: int) -> HttpResponse:
    """Record the patient's answer about one use of their photos (signed form or verbal)."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    form = PhotographyConsentForm(request.POST)
    if form.is_valid():
        try:
            consent = services.record_photography_consent(
                patient=patient,
                use=form.cleaned_data["use"],
                granted=form.cleaned_data["granted"],
                form=form.cleaned_data["form"],
                words=form.cleaned_data["words"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Recorded: {consent}.")
            return redirect("consultations:photo_list", pk=patient.pk)
    return render_photo_list(request, patient, None, status=400, consent_form=form)


@require_permission("clinic.record_clinical")
@require_POST
def photography_consent_withdraw(request: SignedInRequest, pk: int) -> HttpResponse:
    """The patient withdraws a photography consent: that use of their photos stops."""
    consent = get_for_user_or_404(
        PhotographyConsent.objects.select_related("patient"), request.user, pk=pk
    )
    form = PhotographyWithdrawalForm(request.POST)
    if form.is_valid():
        try:
            services.withdraw_photography_consent(
                consent=consent,
                reason=form.cleaned_data["reason"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("consultations:photo_list", pk=consent.patient_id)
        messages.success(request, f"Withdrawn: {consent.get_use_display().lower()} photos.")
        return redirect("consultations:photo_list", pk=consent.patient_id)
    messages.error(
        request, "Nothing was withdrawn: " + " ".join(str(e) for e in form.errors["reason"])
    )
    return redirect("consultations:photo_list", pk=consent.patient_id)


@require_permission("clinic.record_clinical")
@require_POST
def photo_release(request: SignedInRequest, pk: int) -> HttpResponse:
    """Release a photo for teaching or marketing; refused without the patient's consent to it."""
    photo = get_for_user_or_404(
        PatientPhoto.objects.select_related("patient"), request.user, pk=pk, is_archived=False
    )
    form = PhotoReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Nothing was released: " + " ".join(str(e) for e in form.errors["use"])
        )
        return redirect("consultations:photo_list", pk=photo.patient_id)
    try:
        services.release_photo(
            photo=photo, use=form.cleaned_data["use"], actor=Actor.from_request(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Released for {form.cleaned_data['use']}.")
    return redirect("consultations:photo_list", pk=photo.patient_id)
