"""Patients, their versioned medical history and their clinical photos."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any, Self, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from clinic.access import AnyUser, LocationHeldQuerySet
from clinic.models import Jurisdiction, Location, Room, RoomKind
from consultations.name_folding import patient_search_key

MAX_AGE_YEARS = 120


def validate_date_of_birth(value: date) -> None:
    today = timezone.localdate()
    if value > today:
        raise ValidationError("The date of birth is in the future.")
    if value.year < today.year - MAX_AGE_YEARS:
        raise ValidationError(f"The date of birth is more than {MAX_AGE_YEARS} years ago.")


_M = TypeVar("_M", bound=models.Model)


class PatientRecordQuerySet(models.QuerySet[_M]):
    """A patient and their own records (history, photos, consultations, screenings).

    Patients are the clinic's, not one location's: a patient seen in London may
    be treated in New York, so whoever's role may open the page (the view's
    permission) may reach every patient. Bookings and treatment records are
    held at a location and narrow further (clinic.access.LocationHeldQuerySet).
    """

    def for_user(self, user: AnyUser) -> Self:
        return self.all()


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    NOT_STATED = "not_stated", "Prefer not to say"


class RecordNumberCounter(models.Model):
    """The last record number handed out; one row, only ever incremented."""

    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"last record number {self.last_number}"


class Patient(models.Model):
    """A person the clinic sees. Never deleted: archived instead."""

    record_number = models.CharField(max_length=20, unique=True, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    sex = models.CharField(max_length=20, choices=Sex.choices)
    phone = PhoneNumberField(blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField("postal address", blank=True, max_length=500)
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_relation = models.CharField(max_length=60, blank=True)
    emergency_contact_phone = PhoneNumberField(blank=True)
    family_doctor = models.CharField(
        max_length=200, blank=True, help_text="Name and practice of the patient's GP."
    )
    preferred_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contact_by_email = models.BooleanField("reminders by email", default=False)
    contact_by_sms = models.BooleanField("reminders by text message", default=False)
    marketing_consent = models.BooleanField("news and offers", default=False)

    is_archived = models.BooleanField(default=False, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    archive_reason = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set by the booking service when the patient is seen; orders search results.
    last_visit_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Derived on save, for search: the names folded (consultations.name_folding),
    # and the phone's digits. Text, not a bounded CharField: folding can lengthen
    # a name (ß -> ss, ﬃ -> ffi) and a second spelling may be added.
    search_name = models.TextField(editable=False, default="")
    phone_digits = models.CharField(max_length=20, editable=False, default="", db_index=True)

    objects = PatientRecordQuerySet.as_manager()

    history = HistoricalRecords(excluded_fields=["search_name", "phone_digits", "last_visit_at"])

    class Meta:
        ordering = ["last_name", "first_name"]
        permissions = [("archive_patient", "Can archive and restore patient records")]
        # On PostgreSQL, migration 0002 adds trigram indexes for name and phone search, and
        # migration 0015 an index in search's order (selectors.recent_first).
        indexes = [
            models.Index(fields=["date_of_birth"]),
            models.Index(fields=["email"]),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.record_number})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = patient_search_key(
            first_name=self.first_name,
            last_name=self.last_name,
            preferred_name=self.preferred_name,
        )
        self.phone_digits = "".join(ch for ch in str(self.phone or "") if ch.isdigit())
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        if self.preferred_name and self.preferred_name != self.first_name:
            return f"{self.first_name} “{self.preferred_name}” {self.last_name}"
        return self.full_name

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Diabetes(models.TextChoices):
    NONE = "none", "No"
    CONTROLLED = "controlled", "Yes, well controlled"
    UNCONTROLLED = "uncontrolled", "Yes, not well controlled"


class Smoking(models.TextChoices):
    NEVER = "never", "Never"
    FORMER = "former", "Used to"
    CURRENT = "current", "Yes, currently"


class HistorySource(models.TextChoices):
    CLINIC = "clinic", "At the clinic"
    PATIENT_LINK = "patient_link", "By the patient from a link"


class MedicalHistory(models.Model):
    """One submission of the intake questionnaire. Never edited: a new one is a new version.

    The questions are the ones suitability screening reads (see the screening
    rules); free text sits beside them, never instead of them.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medical_histories")
    version = models.PositiveIntegerField(editable=False)
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_by_patient = models.BooleanField(
        default=False, help_text="Filled in by the patient on the clinic's tablet."
    )
    # Where the answers came from: the clinic (desk, tablet, chair) or the patient at home
    # from a link, with no one at the clinic having seen them yet (see reviewed_at).
    source = models.CharField(
        max_length=20, choices=HistorySource.choices, default=HistorySource.CLINIC
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    pregnant = models.BooleanField("pregnant or trying to conceive", default=False)
    breastfeeding = models.BooleanField(default=False)
    anticoagulants = models.BooleanField(
        "takes blood thinners (anticoagulants or antiplatelets)", default=False
    )
    anticoagulant_details = models.CharField("which blood thinners", max_length=200, blank=True)
    bleeding_disorder = models.BooleanField("bleeding or clotting disorder", default=False)
    autoimmune_disease = models.BooleanField(
        "autoimmune or connective-tissue disease", default=False
    )
    autoimmune_details = models.CharField("which condition", max_length=200, blank=True)
    immunosuppressed = models.BooleanField("immunosuppressants or chemotherapy", default=False)
    diabetes = models.CharField(max_length=20, choices=Diabetes.choices, default=Diabetes.NONE)
    active_skin_infection = models.BooleanField(
        "active skin infection, acne or cold sores on the face", default=False
    )
    keloid_tendency = models.BooleanField("keloid or raised (hypertrophic) scars", default=False)
    allergy_local_anaesthetic = models.BooleanField(
        "allergy to local anaesthetics such as lidocaine", default=False
    )
    allergy_suture_material = models.BooleanField(
        "allergy to sutures or thread materials", default=False
    )
    other_allergies = models.CharField(max_length=300, blank=True)
    facial_implants = models.BooleanField("facial implants", default=False)
    facial_implant_details = models.CharField("which implants, where", max_length=200, blank=True)
    smoking = models.CharField(max_length=20, choices=Smoking.choices, default=Smoking.NEVER)
    planned_dental_work_on = models.DateField("planned dental work on", null=True, blank=True)
    important_event_on = models.DateField("important event on", null=True, blank=True)
    important_event = models.CharField("what the event is", max_length=200, blank=True)
    current_medications = models.TextField(max_length=2000, blank=True)
    other_conditions = models.TextField(max_length=2000, blank=True)
    notes = models.TextField(max_length=4000, blank=True)
    # Added with the cited rule set (2026.12-1); False / empty keeps earlier versions valid.
    cold_sores = models.BooleanField("has had cold sores (herpes labialis)", default=False)
    aspirin = models.BooleanField("takes aspirin, including a daily low dose", default=False)
    nsaids = models.BooleanField(
        "takes anti-inflammatory painkillers such as ibuprofen, naproxen or diclofenac",
        default=False,
    )
    bleeding_supplements = models.BooleanField(
        "takes fish oil, vitamin E, ginkgo, garlic or ginseng supplements", default=False
    )
    bleeding_supplement_details = models.CharField("which supplements", max_length=200, blank=True)
    active_cancer = models.BooleanField(
        "has cancer now, or is being treated for cancer", default=False
    )
    koebner_skin_disease = models.BooleanField(
        "has psoriasis, vitiligo or lichen planus", default=False
    )
    koebner_skin_disease_details = models.CharField(
        "which skin condition, and where on the body", max_length=200, blank=True
    )
    vaccinated_on = models.DateField("vaccination in the last month: on", null=True, blank=True)
    isotretinoin_last_taken_on = models.DateField(
        "isotretinoin (Roaccutane) in the last year: last taken on", null=True, blank=True
    )

    objects = PatientRecordQuerySet.as_manager()

    class Meta:
        ordering = ["patient", "-version"]
        verbose_name_plural = "medical histories"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "version"], name="one_medical_history_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"Medical history v{self.version} of {self.patient}"

    @property
    def from_patient_link(self) -> bool:
        return self.source == HistorySource.PATIENT_LINK

    @property
    def awaiting_review(self) -> bool:
        """Sent by the patient from home and not yet read by a clinician."""
        return self.from_patient_link and self.reviewed_at is None

    @classmethod
    def answer_fields(cls) -> list[models.Field[Any, Any]]:
        """The questionnaire's fields, in the order the form asks them."""
        return [f for f in cls._meta.concrete_fields if f.name in ANSWER_FIELD_NAMES]

    def changes_since(self, previous: "MedicalHistory | None") -> list[str]:
        """Labels of the answers that differ from the previous version."""
        if previous is None:
            return []
        changed = [
            str(field.verbose_name)
            for field in self.answer_fields()
            if getattr(self, field.name) != getattr(previous, field.name)
        ]
        if _treatment_set(self) != _treatment_set(previous):
            changed.append("previous treatments")
        return changed


def _treatment_set(history: MedicalHistory) -> set[tuple[object, ...]]:
    return {(t.kind, t.treated_on, t.area, t.details) for t in history.previous_treatments.all()}


ANSWER_FIELD_NAMES = [
    "pregnant",
    "breastfeeding",
    "anticoagulants",
    "anticoagulant_details",
    "bleeding_disorder",
    "autoimmune_disease",
    "autoimmune_details",
    "immunosuppressed",
    "diabetes",
    "active_skin_infection",
    "keloid_tendency",
    "allergy_local_anaesthetic",
    "allergy_suture_material",
    "other_allergies",
    "facial_implants",
    "facial_implant_details",
    "smoking",
    "planned_dental_work_on",
    "important_event_on",
    "important_event",
    "current_medications",
    "other_conditions",
    "notes",
    "cold_sores",
    "aspirin",
    "nsaids",
    "bleeding_supplements",
    "bleeding_supplement_details",
    "active_cancer",
    "koebner_skin_disease",
    "koebner_skin_disease_details",
    "vaccinated_on",
    "isotretinoin_last_taken_on",
]


class FacialArea(models.TextChoices):
    BROW = "brow", "Brow"
    TEMPLE = "temple", "Temple"
    MIDFACE = "midface", "Midface / cheek"
    NASOLABIAL = "nasolabial", "Nasolabial fold"
    MARIONETTE = "marionette", "Marionette lines"
    JAWLINE = "jawline", "Jawline / jowl"
    CHIN = "chin", "Chin"
    NECK = "neck", "Neck"
    SUBMENTAL = "submental", "Under the chin (submental)"
    LIPS = "lips", "Lips"
    OTHER = "other", "Elsewhere on the face"


class TreatmentKind(models.TextChoices):
    HYALURONIC_FILLER = "ha_filler", "Hyaluronic acid filler"
    PERMANENT_FILLER = "permanent_filler", "Permanent filler (silicone, PMMA, …)"
    SEMI_PERMANENT_FILLER = "semi_permanent_filler", "Semi-permanent filler (PLLA, CaHA, …)"
    TOXIN = "toxin", "Botulinum toxin"
    ABSORBABLE_THREADS = "threads", "Absorbable threads (PDO, PLLA, PCL)"
    GOLD_THREADS = "gold_threads", "Permanent gold threads"
    FACIAL_SURGERY = "facial_surgery", "Facial surgery (facelift, blepharoplasty, …)"
    ENERGY_DEVICE = "energy_device", "Energy device (laser, radiofrequency, HIFU)"


class PreviousTreatment(models.Model):
    """An earlier aesthetic treatment, as reported in one medical-history version."""

    medical_history = models.ForeignKey(
        MedicalHistory, on_delete=models.PROTECT, related_name="previous_treatments"
    )
    kind = models.CharField(max_length=30, choices=TreatmentKind.choices)
    treated_on = models.DateField("when (roughly)")
    area = models.CharField(max_length=20, choices=FacialArea.choices)
    details = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-treated_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_area_display()} · {self.treated_on}"


class PhotoView(models.TextChoices):
    FRONTAL = "frontal", "Frontal"
    LEFT_OBLIQUE = "left_oblique", "Left oblique"
    RIGHT_OBLIQUE = "right_oblique", "Right oblique"
    LEFT_PROFILE = "left_profile", "Left profile"
    RIGHT_PROFILE = "right_profile", "Right profile"
    OTHER = "other", "Other"


class PhotoStage(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    IMMEDIATE = "immediate", "Immediately after"
    TWO_WEEKS = "2_weeks", "2 weeks"
    THREE_MONTHS = "3_months", "3 months"
    SIX_MONTHS = "6_months", "6 months"
    OTHER = "other", "Other"


def photo_path(instance: "PatientPhoto", filename: str) -> str:
    # Random names: nothing about the patient in the path.
    return f"photos/{uuid.uuid4().hex}.jpg"


class PatientPhoto(models.Model):
    """A clinical photo, re-encoded on upload without any metadata (consultations.photos)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photos")
    view = models.CharField(max_length=20, choices=PhotoView.choices)
    stage = models.CharField(max_length=20, choices=PhotoStage.choices)
    taken_on = models.DateField()
    image = models.FileField(upload_to=photo_path, max_length=200)
    thumbnail = models.FileField(upload_to=photo_path, max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_archived = models.BooleanField(default=False)

    objects = PatientRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_on", "-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_view_display()} · {self.get_stage_display()} · {self.taken_on}"


class PhotoUse(models.TextChoices):
    CLINICAL = "clinical", "Clinical record"
    TEACHING = "teaching", "Teaching"
    MARKETING = "marketing", "Marketing"


class PhotoConsentForm(models.TextChoices):
    TREATMENT_CONSENT = "treatment_consent", "Signed treatment consent"
    WRITTEN = "written", "Signed photography consent form"
    VERBAL = "verbal", "Verbal, recorded by staff"


class PhotographyConsent(models.Model):
    """A patient's answer about one use of their photos, and its withdrawal.

    The latest answer for a use is the one that counts (consultations.services.
    photo_use_consented). A withdrawal is stored on the answer and never undone:
    a new consent is a new row. Baseline photos are taken at the consultation,
    before any treatment consent, so this stands on its own.
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="photography_consents"
    )
    use = models.CharField(max_length=12, choices=PhotoUse.choices)
    granted = models.BooleanField()
    form = models.CharField(max_length=20, choices=PhotoConsentForm.choices)
    words = models.TextField(
        "the patient's words, or a note",
        max_length=2000,
        blank=True,
        help_text="Required for a verbal consent.",
    )
    # The record the answer was given in, e.g. "signed-consent:12" (another app's row).
    source = models.CharField(max_length=40, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.TextField(max_length=2000, blank=True)

    objects = PatientRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        answer = "given" if self.granted else "refused"
        return f"{self.get_use_display()} photography consent {answer}"

    @property
    def allows_use(self) -> bool:
        return self.granted and self.withdrawn_at is None


class PhotoRelease(models.Model):
    """A photo released for teaching or marketing, while the patient's consent to that use stands.

    Withdrawing that consent ends the release (revoked_at); nothing is deleted.
    """

    photo = models.ForeignKey(PatientPhoto, on_delete=models.PROTECT, related_name="releases")
    use = models.CharField(max_length=12, choices=PhotoUse.choices)
    released_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-released_at", "-pk"]

    def __str__(self) -> str:
        return f"Photo {self.photo_id} released for {self.use}"


class AppointmentKind(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    TREATMENT = "treatment", "Treatment"
    REVIEW = "review", "Review"


class ReviewStage(models.TextChoices):
    """Which follow-up review a review type is for: booked after a completed session."""

    TWO_WEEKS = "2_weeks", "2 weeks"
    THREE_MONTHS = "3_months", "3 months"
    SIX_MONTHS = "6_months", "6 months"


# The longest an appointment type may last, and the longest buffer after it. Together they
# bound how long one booking keeps a practitioner or room busy (LONGEST_BLOCK): a search for
# what meets a span then needs to look back only that far (and the index answers it).
MAX_DURATION_MINUTES = 8 * 60
MAX_BUFFER_MINUTES = 120
LONGEST_BLOCK = timedelta(minutes=MAX_DURATION_MINUTES + MAX_BUFFER_MINUTES)


class AppointmentType(models.Model):
    """What can be booked: managers keep the list (duration, buffer, colour, room)."""

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=AppointmentKind.choices)
    review_stage = models.CharField(
        max_length=10,
        choices=ReviewStage.choices,
        blank=True,
        help_text="For review types: the review after a session this type is booked for.",
    )
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(MAX_DURATION_MINUTES)]
    )
    buffer_minutes = models.PositiveSmallIntegerField(
        "buffer after (minutes)",
        default=0,
        validators=[MaxValueValidator(MAX_BUFFER_MINUTES)],
        help_text="Time kept free after the appointment for cleaning and notes.",
    )
    colour = models.CharField(
        max_length=7,
        default="#1f6f8b",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour such as #1f6f8b.")],
    )
    needs_room = models.BooleanField(default=True)
    room_kind = models.CharField(
        "room it needs",
        max_length=20,
        choices=RoomKind.choices,
        default=RoomKind.CONSULTATION,
        help_text="A procedure room: booked only into procedure rooms. A consultation room: "
        "a consultation room when one is free, else any room.",
    )
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    # As a clinic runs its rooms: a procedure needs the aseptic set-up of a procedure room;
    # a consultation or review may sit anywhere, but in a consultation room first, so that
    # procedure rooms stay free for the procedures only they can hold.

    def suits(self, room: Room) -> bool:
        """Whether `room` is of a kind this type may be booked into."""
        return self.room_kind != RoomKind.PROCEDURE or room.kind == RoomKind.PROCEDURE

    def room_problem(self, room: Room) -> str | None:
        """Why `room` cannot hold this type, in words, or None."""
        if self.suits(room):
            return None
        return f"{self.name} needs a procedure room; {room.name} is a consultation room."

    def room_order(self, room: Room) -> tuple[bool, str, int]:
        """Sort key for "any free room": rooms of the kind this type names first, by name."""
        return (room.kind != self.room_kind, room.name, room.pk)


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"
    # Kept for a patient booking online while they give their details (consultations.
    # booking.services.hold_slot): it blocks the slot like a booking, has no patient yet,
    # and ends at `hold_expires_at` (none: the desk is still matching the patient).
    HELD = "held", "Held for an online booking"


# Statuses that free the slot for someone else.
FREEING_STATUSES = [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW]


class AppointmentQuerySet(LocationHeldQuerySet[_M]):
    def for_user(self, user: AnyUser) -> Self:
        """The location's appointments, without the online holds that have no patient yet:
        every page that lists or opens appointments for staff reads a patient from them."""
        return super().for_user(user).filter(patient__isnull=False)

    def live_holds(self, now: datetime) -> Self:
        """Online holds still keeping their slot: not expired, or waiting for the desk."""
        return self.filter(status=AppointmentStatus.HELD).filter(
            models.Q(hold_expires_at__isnull=True) | models.Q(hold_expires_at__gt=now)
        )

    def expired_holds(self, now: datetime) -> Self:
        """Online holds past their time that still block their slot until released."""
        return self.filter(status=AppointmentStatus.HELD, hold_expires_at__lte=now)


class Appointment(models.Model):
    """A booking. Written only by consultations.booking, which enforces the rules.

    `blocked_until` is the end plus the type's buffer: the span nobody else may
    book. On PostgreSQL an exclusion constraint over it (migration) makes double
    booking impossible whatever the code path.

    An online hold (status held) has no patient until the patient's details are
    confirmed; a hold that ends unconfirmed stays, cancelled, with no patient and its
    expiry. A check constraint allows a missing patient on those rows only.
    """

    patient = models.ForeignKey(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    practitioner = models.ForeignKey(
        "clinic.StaffMember", on_delete=models.PROTECT, related_name="appointments"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(
        "clinic.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    blocked_until = models.DateTimeField(editable=False)
    status = models.CharField(
        max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    cancel_reason = models.CharField(max_length=200, blank=True)
    notes = models.TextField(max_length=2000, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(default=timezone.now, editable=False)
    # The patient's answer to a reminder (consultations.booking.confirm_attendance): when
    # the attendance was confirmed and by which member of staff, None being the patient
    # through their booking link. A move clears it: the answer was for the old time.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Cancelled by the patient from their booking link rather than by the clinic.
    cancelled_by_patient = models.BooleanField(default=False)
    hold_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="For an online hold: when it lets the slot go (empty: the desk decides).",
    )

    objects = AppointmentQuerySet.as_manager()

    # The booking and every move (the reminder task reads them); status changes
    # are recorded as AppointmentStatusChange rows instead.
    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["location", "starts_at"]),
            models.Index(fields=["practitioner", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
            models.Index(fields=["room", "starts_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=models.Q(blocked_until__gte=models.F("ends_at")),
                name="appointment_buffer_not_negative",
            ),
            # What lets range queries look back a bounded time (see LONGEST_BLOCK).
            models.CheckConstraint(
                condition=models.Q(blocked_until__lte=models.F("starts_at") + LONGEST_BLOCK),
                name="appointment_blocks_at_most_the_longest_type",
            ),
            models.CheckConstraint(
                condition=models.Q(patient__isnull=False)
                | models.Q(status="held")
                | models.Q(status="cancelled", hold_expires_at__isnull=False),
                name="appointment_patient_unless_held",
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.starts_at:%Y-%m-%d %H:%M}"
        if self.patient is None:
            return f"{self.appointment_type}, held for an online booking, {when}"
        return f"{self.appointment_type} for {self.patient.full_name}, {when}"

    @property
    def booked_patient(self) -> Patient:
        """The patient, on every appointment but an online hold (which staff pages never
        reach: `for_user` leaves holds out)."""
        if self.patient is None:
            raise ValueError(f"Appointment {self.pk} is an online hold with no patient yet.")
        return self.patient

    @property
    def is_online_hold(self) -> bool:
        return self.status == AppointmentStatus.HELD

    @property
    def frees_slot(self) -> bool:
        return self.status in FREEING_STATUSES

    @property
    def local_starts_at(self) -> datetime:
        return timezone.localtime(self.starts_at, self.location.zone)

    @property
    def local_ends_at(self) -> datetime:
        return timezone.localtime(self.ends_at, self.location.zone)

    @property
    def confirmed_by_patient(self) -> bool:
        return self.confirmed_at is not None and self.confirmed_by_id is None


class AppointmentStatusChange(models.Model):
    """Every change of an appointment's status, with who, when and why.

    The one record of a status change: the appointment's page, the day list and
    the patient's export read it (consultations.booking writes it).
    """

    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=AppointmentStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class CalendarFeed(models.Model):
    """A practitioner's private calendar-feed address; revoking makes a new token."""

    staff = models.OneToOneField(
        "clinic.StaffMember", on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.staff}"


class Fitzpatrick(models.IntegerChoices):
    TYPE_I = 1, "I: always burns, never tans"
    TYPE_II = 2, "II: usually burns, tans minimally"
    TYPE_III = 3, "III: sometimes burns, tans gradually"
    TYPE_IV = 4, "IV: burns minimally, tans well"
    TYPE_V = 5, "V: rarely burns, tans deeply"
    TYPE_VI = 6, "VI: never burns"


class Glogau(models.IntegerChoices):
    TYPE_I = 1, "I: no wrinkles (early photo-ageing)"
    TYPE_II = 2, "II: wrinkles in motion"
    TYPE_III = 3, "III: wrinkles at rest"
    TYPE_IV = 4, "IV: only wrinkles"


class SkinThickness(models.TextChoices):
    THIN = "thin", "Thin"
    NORMAL = "normal", "Normal"
    THICK = "thick", "Thick"


# The areas a consultation assesses (the planner adds submental).
CONSULTATION_AREAS = [
    FacialArea.BROW,
    FacialArea.TEMPLE,
    FacialArea.MIDFACE,
    FacialArea.NASOLABIAL,
    FacialArea.MARIONETTE,
    FacialArea.JAWLINE,
    FacialArea.CHIN,
    FacialArea.NECK,
]


class Consultation(models.Model):
    """The practitioner's consultation: what the patient wants, and the assessment."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consultations")
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="consultation"
    )
    practitioner = models.ForeignKey(
        "clinic.StaffMember", on_delete=models.PROTECT, related_name="consultations"
    )
    started_at = models.DateTimeField(default=timezone.now)
    expectations = models.TextField(
        "what the patient expects, and by when", max_length=2000, blank=True
    )
    wanted_by = models.DateField("result wanted by", null=True, blank=True)
    fitzpatrick = models.PositiveSmallIntegerField(
        "Fitzpatrick skin type", choices=Fitzpatrick.choices, null=True, blank=True
    )
    glogau = models.PositiveSmallIntegerField(
        "Glogau photo-ageing type", choices=Glogau.choices, null=True, blank=True
    )
    skin_thickness = models.CharField(max_length=10, choices=SkinThickness.choices, blank=True)
    skin_quality = models.CharField(max_length=300, blank=True)
    asymmetry_notes = models.TextField(max_length=2000, blank=True)
    baseline_photos = models.ManyToManyField(PatientPhoto, blank=True, related_name="+")
    assessed_at = models.DateTimeField(null=True, blank=True)

    objects = PatientRecordQuerySet.as_manager()

    history = HistoricalRecords(m2m_fields=[baseline_photos])

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Consultation with {self.patient.full_name}, {self.started_at:%Y-%m-%d}"


class ConsultationArea(models.Model):
    """One facial area: the patient's concern and goal, and the laxity the practitioner sees."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="areas")
    area = models.CharField(max_length=20, choices=FacialArea.choices)
    concern = models.CharField(max_length=300, blank=True)
    goal = models.CharField(max_length=300, blank=True)
    laxity = models.PositiveSmallIntegerField(
        "laxity grade (0 none – 4 severe)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(4)],
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "area"], name="one_row_per_area")
        ]

    def __str__(self) -> str:
        return f"{self.get_area_display()}: laxity {self.laxity}"

    @property
    def wanted(self) -> bool:
        return bool(self.concern.strip() or self.goal.strip())


class ScreeningOutcome(models.TextChoices):
    SUITABLE = "suitable", "Suitable"
    PRECAUTIONS = "precautions", "Suitable with precautions"
    DEFER = "defer", "Defer until a later date"
    NOT_SUITABLE = "not_suitable", "Not suitable"


class ScreeningDecision(models.TextChoices):
    ACCEPTED = "accepted", "Outcome accepted"
    OVERRIDDEN = "overridden", "Outcome overridden by the practitioner"


class Screening(models.Model):
    """A suitability screening: the facts read, the findings, the outcome and the decision.

    Findings are stored as they were produced with `rules_version`, so a later
    change to the rule set never changes this record (consultations.screening.rules).
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="screenings"
    )
    medical_history = models.ForeignKey(
        MedicalHistory, on_delete=models.PROTECT, related_name="screenings"
    )
    rules_version = models.CharField(max_length=20)
    jurisdiction = models.CharField(
        max_length=8,
        blank=True,
        help_text="The location's jurisdiction the rules were judged under (empty: screened "
        "before it was recorded).",
    )
    facts = models.JSONField(help_text="The answers the rules read, as they were.")
    body_image_answers = models.JSONField()
    body_image_positive = models.BooleanField()
    findings = models.JSONField()
    outcome = models.CharField(max_length=20, choices=ScreeningOutcome.choices)
    defer_until = models.DateField(null=True, blank=True)
    screened_at = models.DateTimeField(default=timezone.now)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=ScreeningDecision.choices, blank=True)
    override_justification = models.TextField(max_length=4000, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = PatientRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-screened_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(decision="overridden") | ~models.Q(override_justification=""),
                name="override_needs_justification",
            )
        ]

    def __str__(self) -> str:
        return f"Screening of {self.patient.full_name}: {self.get_outcome_display()}"

    @property
    def is_decided(self) -> bool:
        return bool(self.decision)

    @property
    def jurisdiction_label(self) -> str:
        """The jurisdiction judged under, in words: "England (GB-ENG)"."""
        if not self.jurisdiction:
            return "not recorded (screened before jurisdictions were recorded)"
        return f"{Jurisdiction.label_for(self.jurisdiction)} ({self.jurisdiction})"

    @property
    def allows_planning(self) -> bool:
        """Whether this screening's decision opens the way to a treatment plan."""
        if self.decision == ScreeningDecision.OVERRIDDEN:
            return True
        return self.decision == ScreeningDecision.ACCEPTED and self.outcome in (
            ScreeningOutcome.SUITABLE,
            ScreeningOutcome.PRECAUTIONS,
        )


class ErasureRequest(models.Model):
    """A patient's request to erase their record, and what the clinic did about it.

    Clinical records under legal retention are kept (the reason is recorded);
    marketing consent and the photo uses named in `photo_uses_withdrawn` end
    (clinic.site.privacy). Written once by clinic.site.privacy, never edited.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="erasure_requests")
    requested_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.TextField(max_length=4000, blank=True)
    retained_reason = models.TextField(max_length=2000, blank=True)
    # Photo uses (treatments.models.PhotoUse values) no longer allowed, whatever was signed.
    photo_uses_withdrawn = models.JSONField(default=list, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Erasure request of {self.patient}, {self.requested_at:%Y-%m-%d}"


class LinkPurpose(models.TextChoices):
    """What a link sent to a patient is for; each purpose has its own page."""

    MEDICAL_HISTORY = "medical_history", "Medical-history questionnaire"
    BODY_IMAGE = "body_image", "Body-image questionnaire"
    CONSENT_READING = "consent_reading", "Consent to read before treatment"
    BOOKING = "booking", "Manage a booking"
    CHECK_IN = "check_in", "How you are after treatment"


# Purposes whose page takes one submission: the link stops working once it is sent.
SINGLE_USE_PURPOSES = frozenset(
    {LinkPurpose.MEDICAL_HISTORY, LinkPurpose.BODY_IMAGE, LinkPurpose.CHECK_IN}
)


class PatientLinkQuerySet(PatientRecordQuerySet["PatientLink"]):
    def live(self) -> Self:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, used_at__isnull=True, expires_at__gt=now)


class PatientLink(models.Model):
    """A link sent to a patient: one patient, one purpose, until it expires.

    Only the SHA-256 digest of its token is kept (consultations.patient_links makes
    and checks tokens): a copy of the database opens no patient's page.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="links")
    purpose = models.CharField(max_length=30, choices=LinkPurpose.choices)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    # The booking a link is about (managing it, or the visit a form is for).
    appointment = models.ForeignKey(
        "Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="links"
    )
    # Whose clinic the page names: the appointment's location, or where it was sent from.
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    sent_by = models.CharField("sent by", max_length=40, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A form's answers so far, so a closed browser tab loses nothing.
    draft = models.JSONField(default=dict, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)

    objects = PatientLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["patient", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.patient.full_name}"

    @property
    def single_use(self) -> bool:
        return self.purpose in SINGLE_USE_PURPOSES

    @property
    def state(self) -> str:
        """Revoked, used, expired or open, in that order of precedence."""
        if self.revoked_at is not None:
            return "revoked"
        if self.used_at is not None:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class BodyImageAnswers(models.Model):
    """The body-image questions as the patient answered them at home, from a link.

    Not a screening: the practitioner's screening form starts from the latest answers
    sent since the patient's last screening, and the screening stores what it ran on
    (Screening.body_image_answers), as it always has.
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="body_image_answers"
    )
    answers = models.JSONField()
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)
    link = models.ForeignKey(PatientLink, on_delete=models.PROTECT, related_name="+")

    objects = PatientRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name_plural = "body-image answers"

    def __str__(self) -> str:
        return f"Body-image answers of {self.patient} sent {self.submitted_at:%Y-%m-%d}"


class OnlineBookingRequestQuerySet(LocationHeldQuerySet["OnlineBookingRequest"]):
    location_path = "appointment__location"

    def awaiting(self) -> Self:
        return self.filter(decided_at__isnull=True)


class OnlineBookingRequest(models.Model):
    """An online booking whose details match an existing patient: the desk decides.

    Nobody is merged automatically. The held appointment keeps its slot (with no expiry)
    until the desk links the booking to the matching patient or registers a new one
    (consultations.booking.online). `details` are what the patient typed, as typed.
    """

    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="online_request"
    )
    details = models.JSONField(help_text="What the patient typed: names, birth date, contact.")
    candidates = models.ManyToManyField(Patient, related_name="+", blank=True)
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="online_booking_requests",
        help_text="Who the desk booked it for: a matching patient or a newly registered one.",
    )

    objects = OnlineBookingRequestQuerySet.as_manager()

    class Meta:
        ordering = ["submitted_at", "pk"]

    def __str__(self) -> str:
        return f"Online booking request {self.pk}"

    @property
    def name(self) -> str:
        return f"{self.details.get('first_name', '')} {self.details.get('last_name', '')}".strip()
