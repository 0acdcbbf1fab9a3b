"""Products and stock, treatment plans and their thread vectors."""

import math
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from clinic.access import LocationHeldQuerySet
from clinic.models import AppendOnlyQuerySet, Location, StaffMember, WrittenOnceModel
from consultations.models import FacialArea, MedicalHistory, Patient, Screening
from consultations.models import PhotoUse as _PhotoUse


class Material(models.TextChoices):
    PDO = "PDO", "PDO (polydioxanone)"
    PLLA = "PLLA", "PLLA (poly-L-lactic acid)"
    PCL = "PCL", "PCL (polycaprolactone)"
    PLA_CL = "P(LA/CL)", "P(LA/CL) copolymer"
    OTHER = "other", "Other"


class ThreadType(models.TextChoices):
    MONO = "mono", "Mono / smooth"
    SCREW = "screw", "Screw / twist"
    COG_UNI = "cog_uni", "Cog, unidirectional barbs"
    COG_BI = "cog_bi", "Cog, bidirectional barbs"
    MOLDED_COG = "molded_cog", "Molded cog"
    MESH = "mesh", "Mesh"


class Delivery(models.TextChoices):
    NEEDLE = "needle", "Sharp needle"
    CANNULA = "cannula", "Blunt cannula"


class ThreadProduct(models.Model):
    """A thread product as the clinic buys it. Absorption is per product: sources disagree."""

    manufacturer = models.CharField(max_length=100)
    name = models.CharField(max_length=120)
    material = models.CharField(max_length=10, choices=Material.choices)
    thread_type = models.CharField(max_length=12, choices=ThreadType.choices)
    usp_size = models.CharField("USP size", max_length=10, blank=True, help_text="e.g. 2-0")
    gauge = models.PositiveSmallIntegerField(
        "needle or cannula gauge (G)", validators=[MinValueValidator(14), MaxValueValidator(34)]
    )
    thread_length_mm = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(10), MaxValueValidator(500)]
    )
    needle_length_mm = models.PositiveSmallIntegerField(
        "needle or cannula length (mm)", validators=[MinValueValidator(10), MaxValueValidator(300)]
    )
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    absorption_months = models.PositiveSmallIntegerField(
        "typical absorption (months)", validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    unit_price = models.DecimalField(max_digits=8, decimal_places=2)
    is_active = models.BooleanField(default=True)
    reorder_level = models.PositiveIntegerField(
        "reorder level (threads)",
        default=10,
        validators=[MaxValueValidator(100_000)],
        help_text="Stock alerts list the product when fewer usable threads than this are on hand.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["material", "thread_type", "gauge", "thread_length_mm"]
        constraints = [
            models.UniqueConstraint(fields=["manufacturer", "name"], name="unique_product_name")
        ]

    def __str__(self) -> str:
        kind = self.get_thread_type_display().lower()
        return f"{self.name} ({self.material} {kind}, {self.gauge}G {self.thread_length_mm} mm)"

    @property
    def reach_mm(self) -> int:
        """How far one insertion can reach: the longer of the thread and its needle."""
        return max(self.thread_length_mm, self.needle_length_mm)


class LotStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    QUARANTINED = "quarantined", "Quarantined"
    RECALLED = "recalled", "Recalled"


class StockLot(models.Model):
    """A lot of one product at one location. Never deleted: it is how recalls are traced.

    Only active lots may be used; a status change goes through
    treatments.services.stock.change_lot_status, which keeps its history.
    """

    product = models.ForeignKey(ThreadProduct, on_delete=models.PROTECT, related_name="lots")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_lots")
    lot_number = models.CharField(max_length=60)
    expires_on = models.DateField()
    quantity_received = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    quantity_on_hand = models.PositiveIntegerField()
    received_on = models.DateField(default=timezone.localdate)
    status = models.CharField(max_length=12, choices=LotStatus.choices, default=LotStatus.ACTIVE)

    objects = LocationHeldQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["expires_on", "lot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location", "lot_number"], name="unique_lot_per_location"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_on_hand__lte=models.F("quantity_received")),
                name="lot_on_hand_within_received",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} lot {self.lot_number} (exp. {self.expires_on:%Y-%m-%d})"

    def clean(self) -> None:
        on_hand, received = self.quantity_on_hand, self.quantity_received
        if on_hand is not None and received is not None and on_hand > received:
            raise ValidationError({"quantity_on_hand": "More on hand than was received."})

    def is_usable_on(self, day: date) -> bool:
        return (
            self.status == LotStatus.ACTIVE and self.expires_on >= day and self.quantity_on_hand > 0
        )


class LotStatusChangeQuerySet(LocationHeldQuerySet["LotStatusChange"]):
    location_path = "lot__location"


class LotStatusChange(models.Model):
    """One change of a lot's status: to what, why, who and when. Never edited."""

    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="status_changes")
    previous_status = models.CharField(max_length=12, choices=LotStatus.choices)
    status = models.CharField(max_length=12, choices=LotStatus.choices)
    reason = models.TextField(max_length=2000)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = LotStatusChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"Lot {self.lot_id}: {self.previous_status} to {self.status}"


class LotRecallQuerySet(LocationHeldQuerySet["LotRecall"]):
    location_path = "lot__location"


class LotRecall(models.Model):
    """A recall of one lot: every patient who received it is to be contacted."""

    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="recalls")
    reason = models.TextField(max_length=2000)
    announced_on = models.DateField(
        help_text="The date of the manufacturer's or regulator's notice."
    )
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closing_note = models.TextField(
        max_length=2000,
        blank=True,
        help_text="How the recall ended: what became of the remaining stock, who could not be "
        "reached and what was done instead.",
    )

    objects = LotRecallQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot"], condition=models.Q(closed_at__isnull=True), name="one_open_recall"
            )
        ]

    def __str__(self) -> str:
        return f"Recall of lot {self.lot.lot_number}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    IN_PERSON = "in_person", "In person"


class RecallContact(models.Model):
    """One contact with a patient about a recall: who, when, how, and what came of it."""

    recall = models.ForeignKey(LotRecall, on_delete=models.PROTECT, related_name="contacts")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="recall_contacts")
    method = models.CharField(max_length=10, choices=ContactMethod.choices)
    outcome = models.TextField(max_length=2000)
    contacted_at = models.DateTimeField(default=timezone.now)
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["contacted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} contact about recall {self.recall_id}"


class RecallNotice(models.Model):
    """A notification email sent to every reachable recipient of a recall, as typed."""

    recall = models.ForeignKey(LotRecall, on_delete=models.PROTECT, related_name="notices")
    subject = models.CharField(max_length=150)
    body_template = models.TextField(max_length=5000)
    recipients = models.PositiveIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"Recall notice {self.subject!r} to {self.recipients}"


class DiagramView(models.TextChoices):
    FRONT = "front", "Front"
    PROFILE = "profile", "Profile"


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    MIDLINE = "midline", "Midline"


class Depth(models.TextChoices):
    SUBDERMAL = "subdermal", "Subdermal"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous fat"
    SMAS = "smas", "Superficial SMAS"


# The face diagram's scale: millimetres per diagram unit (the diagram's full
# height) for an average adult face, trichion to menton about 185 mm (Farkas,
# Anthropometry of the Head and Face, 1994). The diagram is square, 0–1 each way.
DIAGRAM_MM_PER_UNIT = 230.0
AVERAGE_INTERPUPILLARY_MM = 63.0  # Dodgson, Proc. SPIE 5291 (2004): adult mean about 63 mm


class Anaesthesia(models.TextChoices):
    """The anaesthesia a plan proposes (named in its consent) and a session records."""

    NONE = "none", "None"
    TOPICAL = "topical", "Topical"
    LOCAL = "local", "Local infiltration"
    NERVE_BLOCK = "block", "Nerve block"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    SUPERSEDED = "superseded", "Superseded"


class TreatmentPlan(models.Model):
    """One version of a patient's thread plan; accepted versions are frozen (see services)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_plans")
    practitioner = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="treatment_plans"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="plans")
    # All versions of one plan share the first version's id as their series.
    series = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    notes = models.TextField(max_length=4000, blank=True)
    # Named in the consent text ({anaesthesia}), so the patient consents to what is done.
    anaesthesia = models.CharField(
        max_length=10, choices=Anaesthesia.choices, default=Anaesthesia.LOCAL
    )
    # Millimetres per diagram unit: the average face, or a calibrated baseline photo's.
    mm_per_unit = models.FloatField(default=DIAGRAM_MM_PER_UNIT)
    calibration_photo = models.ForeignKey(
        "consultations.PatientPhoto",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Bumped on every save of the vectors: the planner's optimistic-concurrency token.
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = LocationHeldQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["series", "version"], name="one_plan_per_version")
        ]

    def __str__(self) -> str:
        return f"Plan v{self.version} for {self.patient.full_name} ({self.get_status_display()})"

    @property
    def is_frozen(self) -> bool:
        return self.status in (PlanStatus.ACCEPTED, PlanStatus.SUPERSEDED)


class ThreadVector(models.Model):
    """One line of threads on the diagram: where they enter, where they end, what and how many."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="vectors")
    position = models.PositiveSmallIntegerField(default=0)
    area = models.CharField(max_length=20, choices=FacialArea.choices)
    side = models.CharField(max_length=8, choices=Side.choices)
    product = models.ForeignKey(ThreadProduct, on_delete=models.PROTECT, related_name="vectors")
    count = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    view = models.CharField(max_length=8, choices=DiagramView.choices, default=DiagramView.FRONT)
    entry_x = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    entry_y = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    end_x = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    end_y = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    depth = models.CharField(max_length=14, choices=Depth.choices)
    notes = models.CharField("technique notes", max_length=300, blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.get_area_display()} {self.side}: {self.count} × {self.product.name}"

    def length_mm(self, mm_per_unit: float) -> float:
        return math.hypot(self.end_x - self.entry_x, self.end_y - self.entry_y) * mm_per_unit


class ProtocolPreset(models.Model):
    """A manager's named set of vectors (e.g. "midface lift, 4 cogs per side") to start from."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    # The planner's format (treatments.services.clean_vectors):
    # [{"area", "side", "product", "count", "view", "entry": [x, y], "end": [x, y], "depth"}]
    vectors = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Consent, sessions, aftercare, outcomes and adverse events ------------------


# Photo uses are the consultations app's: baseline photos are taken before any treatment.
PhotoUse = _PhotoUse


DEFAULT_RISKS = [
    "Swelling",
    "Bruising",
    "Pain or tenderness",
    "Dimpling or puckering of the skin",
    "Asymmetry",
    "Visible or palpable threads",
    "Thread migration",
    "Thread extrusion through the skin",
    "Infection",
    "Granuloma or induration (firm lumps)",
    "Numbness or altered sensation",
    "Facial-nerve or parotid-gland injury",
    "Haematoma",
    "Scarring",
    "Need for thread removal or revision",
    "A temporary result",
]


class ConsentTemplate(models.Model):
    """Consent wording. Editing makes a new version (treatments.services); old ones stay."""

    code = models.SlugField(max_length=50, help_text="Shared by every version of this form.")
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    body = models.TextField(
        max_length=20000,
        help_text="Placeholders: {patient}, {practitioner}, {procedure}, {areas}, {products}, "
        "{anaesthesia}.",
    )
    risks = models.JSONField(default=list, help_text="One risk per line; each is initialled.")
    alternatives = models.TextField(max_length=5000)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="one_consent_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


# django-stubs gives each queryset class an as_manager() returning its own generated
# manager type, so two queryset bases can never agree on it: not a fault of ours.
class SignedConsentQuerySet(  # type: ignore[override]
    AppendOnlyQuerySet["SignedConsent"], LocationHeldQuerySet["SignedConsent"]
):
    """Written once; reachable where the consented plan is held."""

    location_path = "plan__location"


class SignedConsent(WrittenOnceModel):
    """A signed consent: the exact text shown, the signatures, who, when, where, fingerprinted.

    Immutable: the model refuses updates and deletes, and on PostgreSQL so does
    a trigger. Withdrawal is a separate record (ConsentWithdrawal).
    """

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="consents")
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    practitioner = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    rendered_text = models.TextField()
    risks_initialled = models.JSONField()
    photo_consents = models.JSONField()
    patient_signature = models.FileField(upload_to="signatures/", max_length=200)
    practitioner_signature = models.FileField(upload_to="signatures/", max_length=200)
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    fingerprint = models.CharField(max_length=64, unique=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The seal (treatments.services.consent): the fingerprint of the consent signed before
    # this one (a chain across the installation), and an Ed25519 signature over everything
    # the fingerprint covers, made with a key the database never holds. Blank on consents
    # signed before consents were sealed.
    previous_fingerprint = models.CharField(max_length=64, blank=True)
    seal = models.CharField(max_length=128, blank=True)
    seal_key_id = models.CharField(max_length=16, blank=True)
    # The PDF handed to the patient, rendered once at signing; reprints serve these bytes.
    copy_pdf = models.FileField(upload_to="consents/", max_length=200, blank=True)
    copy_sha256 = models.CharField(max_length=64, blank=True)
    copy_seal = models.CharField(max_length=128, blank=True)

    # The append-only manager of WrittenOnceModel, narrowed to where the plan is held; the
    # generated manager types of the two cannot be related for the type checker.
    objects = SignedConsentQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            # The chain cannot fork: no two consents follow the same one.
            models.UniqueConstraint(
                fields=["previous_fingerprint"],
                condition=~models.Q(previous_fingerprint=""),
                name="one_consent_follows_each",
            )
        ]

    def __str__(self) -> str:
        return f"Consent to plan v{self.plan.version}, signed {self.signed_at:%Y-%m-%d}"

    @property
    def is_sealed(self) -> bool:
        return bool(self.seal_key_id)


class ConsentWithdrawal(models.Model):
    consent = models.OneToOneField(
        SignedConsent, on_delete=models.PROTECT, related_name="withdrawal"
    )
    reason = models.TextField(max_length=2000)
    withdrawn_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Withdrawal of consent {self.consent_id}"


class ConsentReadingQuerySet(LocationHeldQuerySet["ConsentReading"]):
    """Reachable where the plan read is held."""

    location_path = "plan__location"


class ConsentReading(models.Model):
    """The consent text of one plan version, sent to the patient to read at home.

    Reading is not signing: signing stays in the clinic. The digest is of the wording
    sent (treatments.services.consent.ConsentWording), so the signed consent can say
    whether the text signed is the text read; SignedConsent itself is never touched.
    """

    link = models.OneToOneField(
        "consultations.PatientLink", on_delete=models.PROTECT, related_name="consent_reading"
    )
    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.PROTECT, related_name="consent_readings"
    )
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="+")
    text_digest = models.CharField(max_length=64)
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_opened_at = models.DateTimeField(null=True, blank=True)
    read_to_end_at = models.DateTimeField(null=True, blank=True)

    objects = ConsentReadingQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"Consent to plan v{self.plan.version} sent to read at home"


class TreatmentSession(models.Model):
    """What was done at a treatment appointment. Completed sessions are locked; addenda follow."""

    appointment = models.OneToOneField(
        "consultations.Appointment", on_delete=models.PROTECT, related_name="treatment_session"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions")
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="sessions")
    consent = models.ForeignKey(SignedConsent, on_delete=models.PROTECT, related_name="sessions")
    practitioner = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    anaesthesia = models.CharField(max_length=10, choices=Anaesthesia.choices, default="local")
    anaesthetic_agent = models.CharField(max_length=100, blank=True)
    anaesthetic_volume_ml = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
    )
    # Strength of the local anaesthetic as % w/v (1% = 10 mg/mL), with or without adrenaline,
    # and the weight the maximum dose was checked against (treatments.services.anaesthesia).
    anaesthetic_concentration_percent = models.DecimalField(
        "concentration (% w/v)",
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    with_adrenaline = models.BooleanField("with adrenaline", null=True, blank=True)
    patient_weight_kg = models.DecimalField(
        "patient's weight (kg)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(30), MaxValueValidator(250)],
    )
    immediate_outcome = models.TextField(max_length=2000, blank=True)
    complications = models.TextField(
        "complications during the procedure", max_length=2000, blank=True
    )
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = LocationHeldQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Session for {self.patient.full_name}, {self.started_at:%Y-%m-%d}"

    @property
    def is_locked(self) -> bool:
        return self.completed_at is not None


class BaselinePhotos(models.TextChoices):
    TAKEN = "taken", "Taken"
    REFUSED = "refused", "Refused by the patient"


class SafetyCheck(models.Model):
    """The treatment-day check, recorded with who checked and when.

    A model of its own, one-to-one with the session, rather than more columns on
    TreatmentSession: it is written once, in the same transaction that opens the
    session (treatments.services.day_check.start_session), and never changed, so a
    session with a check is one whose start passed every gate. It keeps what was
    confirmed (identity, allergies, the medical history version), what the screening
    rules said when run again that day and which precautions were acknowledged, the
    screening and consent relied on, the baseline photos or their refusal, and the
    lots to be used. Sessions opened before the check existed have none.
    """

    session = models.OneToOneField(
        TreatmentSession, on_delete=models.PROTECT, related_name="safety_check"
    )
    checked_at = models.DateTimeField(default=timezone.now)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    identity_confirmed = models.BooleanField("name and date of birth read back")
    allergies_confirmed = models.BooleanField()
    medical_history = models.ForeignKey(MedicalHistory, on_delete=models.PROTECT, related_name="+")
    history_updated_today = models.BooleanField(
        default=False, help_text="A new version was taken on the day, rather than confirmed."
    )
    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="+")
    rules_version = models.CharField(max_length=20)
    outcome = models.CharField(max_length=20)
    findings = models.JSONField(help_text="What the screening rules said on the day.")
    precautions_acknowledged = models.JSONField(
        default=list, help_text="The rule ids of the precautions acknowledged, one by one."
    )
    baseline_photos = models.CharField(max_length=10, choices=BaselinePhotos.choices)
    photo_refusal_reason = models.CharField(max_length=300, blank=True)
    lots = models.ManyToManyField(StockLot, related_name="+")

    def __str__(self) -> str:
        return f"Treatment-day check of session {self.session_id}"


class PlacedThreads(models.Model):
    """Threads actually placed along one vector: product, lot and count, and any deviation."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="placed")
    vector = models.ForeignKey(
        ThreadVector, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area = models.CharField(max_length=20, choices=FacialArea.choices)
    side = models.CharField(max_length=8, choices=Side.choices)
    product = models.ForeignKey(ThreadProduct, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="placements")
    count = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    deviation = models.CharField("deviation from the plan, and why", max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.count} × {self.product.name} lot {self.lot.lot_number}"


class SessionAddendum(models.Model):
    """A correction after completion: the record is never edited, only added to."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField(max_length=4000)
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["added_at"]

    def __str__(self) -> str:
        return f"Addendum to session {self.session_id}"


class AftercarePeriod(models.TextChoices):
    FIRST_DAY = "first_24h", "First 24 hours"
    FIRST_NIGHTS = "first_nights", "First 3–5 nights"
    FIRST_TWO_WEEKS = "first_2_weeks", "First 2 weeks"
    WEEKS_TWO_TO_FOUR = "weeks_2_4", "Weeks 2 to 4"
    AFTER_A_MONTH = "after_month", "After a month"


class AftercareTemplate(models.Model):
    """One instruction for a period, for a material and/or area (blank = every one)."""

    period = models.CharField(max_length=20, choices=AftercarePeriod.choices)
    material = models.CharField(max_length=10, choices=Material.choices, blank=True)
    area = models.CharField(max_length=20, choices=FacialArea.choices, blank=True)
    text = models.TextField(max_length=1000)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["period", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.get_period_display()}: {self.text[:60]}"


class Gais(models.IntegerChoices):
    """Global Aesthetic Improvement Scale (Narins et al., Dermatol Surg 2003)."""

    VERY_MUCH_IMPROVED = 1, "1 · Very much improved"
    MUCH_IMPROVED = 2, "2 · Much improved"
    IMPROVED = 3, "3 · Improved"
    NO_CHANGE = 4, "4 · No change"
    WORSE = 5, "5 · Worse"


class Outcome(models.Model):
    """A follow-up review of a session: GAIS by both sides, satisfaction, notes, photos."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="outcomes")
    appointment = models.ForeignKey(
        "consultations.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_on = models.DateField(default=timezone.localdate)
    gais_practitioner = models.PositiveSmallIntegerField("GAIS, practitioner", choices=Gais.choices)
    gais_patient = models.PositiveSmallIntegerField("GAIS, patient", choices=Gais.choices)
    satisfaction = models.PositiveSmallIntegerField(
        "patient satisfaction (0–10)", validators=[MaxValueValidator(10)]
    )
    notes = models.TextField(max_length=4000, blank=True)
    photos = models.ManyToManyField("consultations.PatientPhoto", blank=True, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords(m2m_fields=[photos])

    class Meta:
        ordering = ["-reviewed_on"]

    def __str__(self) -> str:
        return f"Review of session {self.session_id} on {self.reviewed_on}"


class AdverseEventType(models.TextChoices):
    BRUISING = "bruising", "Bruising"
    SWELLING = "swelling", "Swelling"
    PAIN = "pain", "Pain"
    DIMPLING = "dimpling", "Dimpling"
    ASYMMETRY = "asymmetry", "Asymmetry"
    VISIBLE_THREAD = "visible_thread", "Visible or palpable thread"
    MIGRATION = "migration", "Migration"
    EXTRUSION = "extrusion", "Extrusion"
    INFECTION = "infection", "Infection"
    GRANULOMA = "granuloma", "Granuloma"
    ALTERED_SENSATION = "altered_sensation", "Altered sensation"
    NERVE_INJURY = "nerve_injury", "Nerve injury"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class AdverseEventQuerySet(LocationHeldQuerySet["AdverseEvent"]):
    """Reachable where the event's session was held."""

    location_path = "session__location"


class AdverseEvent(models.Model):
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="adverse_events"
    )
    event_type = models.CharField(max_length=20, choices=AdverseEventType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # What a regulator's report asks first (MHRA Yellow Card, FDA MedWatch): whether the
    # event was serious, as those forms define it, whatever its severity.
    serious = models.BooleanField(
        default=False,
        help_text="Led to death, was life-threatening, needed admission to hospital, caused "
        "lasting harm, or needed treatment to prevent lasting harm.",
    )
    onset_on = models.DateField()
    lots = models.ManyToManyField(StockLot, blank=True, related_name="adverse_events")
    management = models.TextField(max_length=4000, blank=True)
    threads_removed = models.BooleanField(default=False)
    resolved_on = models.DateField(null=True, blank=True)
    description = models.TextField(max_length=4000, blank=True)
    reported_at = models.DateTimeField(default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = AdverseEventQuerySet.as_manager()

    history = HistoricalRecords(m2m_fields=[lots])

    class Meta:
        ordering = ["-onset_on"]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} ({self.severity}) after session {self.session_id}"


class CheckInAnswer(models.TextChoices):
    AS_EXPECTED = "as_expected", "All as expected"
    SOMETHING_WRONG = "something_wrong", "Something is wrong"


class CheckInReplyQuerySet(LocationHeldQuerySet["CheckInReply"]):
    """Reachable where the session was held."""

    location_path = "session__location"


class CheckInReply(models.Model):
    """A check-in sent to the patient a day or a few after their session, and their answer.

    Made when the message goes out (treatments.check_ins), answered once from the link;
    a "something is wrong" stays on the practitioner's home page until it becomes an
    adverse event or is marked handled with a note.
    """

    link = models.OneToOneField(
        "consultations.PatientLink", on_delete=models.PROTECT, related_name="check_in_reply"
    )
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="check_in_replies"
    )
    day = models.PositiveSmallIntegerField(help_text="Days after the session it was sent.")
    sent_at = models.DateTimeField(default=timezone.now)
    answer = models.CharField(max_length=20, choices=CheckInAnswer.choices, blank=True)
    # The warning signs the patient ticked, in the aftercare sheet's words.
    signs = models.JSONField(default=list, blank=True)
    details = models.TextField(max_length=2000, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_note = models.CharField(max_length=500, blank=True)
    adverse_event = models.ForeignKey(
        AdverseEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = CheckInReplyQuerySet.as_manager()

    class Meta:
        ordering = ["-answered_at", "-pk"]
        indexes = [models.Index(fields=["answer", "handled_at"])]

    def __str__(self) -> str:
        return f"Day-{self.day} check-in after session {self.session_id}"
