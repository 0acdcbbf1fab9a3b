"""The clinic's shared core: locations, rooms, staff, hours and the audit trail."""

import zoneinfo
from typing import Any, NoReturn, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from clinic.currency import CURRENCY_CODE, currency_for_country
from clinic.people import person_name
from clinic.phones import validate_phone
from clinic.roles import Role, sync_role_group


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone such as Europe/London.")


# Countries that write dates month first (04/05/1980 is April 5th).
MONTH_FIRST_COUNTRIES = {"US", "PH", "FM", "MH", "PW"}


class Jurisdiction(models.TextChoices):
    """Where a location's clinical rules are judged: ISO 3166 country or subdivision codes.

    Laws on cosmetic procedures differ by nation within the UK and by state within the US,
    so those are chosen by subdivision (a screening rule for "GB-ENG" holds in England only;
    one for "US" would hold in every state).
    """

    ENGLAND = "GB-ENG", "England"
    WALES = "GB-WLS", "Wales"
    SCOTLAND = "GB-SCT", "Scotland"
    NORTHERN_IRELAND = "GB-NIR", "Northern Ireland"
    IRELAND = "IE", "Ireland"
    NEW_YORK = "US-NY", "New York (United States)"
    CALIFORNIA = "US-CA", "California (United States)"
    FLORIDA = "US-FL", "Florida (United States)"
    ILLINOIS = "US-IL", "Illinois (United States)"
    TEXAS = "US-TX", "Texas (United States)"
    OTHER_US = "US", "Another US state"
    AUSTRALIA = "AU", "Australia"
    CANADA = "CA", "Canada"
    OTHER = "XX", "Elsewhere (only rules that hold everywhere apply)"

    @classmethod
    def label_for(cls, code: str) -> str:
        return str(dict(cls.choices).get(code, code))


# A location's jurisdiction when none is chosen: from its time zone, else its country.
# (Europe/London also covers Wales, Scotland and Northern Ireland: managers correct it.)
JURISDICTION_BY_TIME_ZONE = {
    "Europe/London": "GB-ENG",
    "Europe/Belfast": "GB-NIR",
    "Europe/Dublin": "IE",
    "America/New_York": "US-NY",
    "America/Los_Angeles": "US-CA",
    "America/Chicago": "US-IL",
}
JURISDICTION_BY_COUNTRY = {"GB": "GB-ENG", "IE": "IE", "US": "US", "AU": "AU", "CA": "CA"}


def jurisdiction_for(time_zone: str, country: str) -> str:
    """The jurisdiction a location most likely has, judged from its time zone and country."""
    if time_zone in JURISDICTION_BY_TIME_ZONE:
        return JURISDICTION_BY_TIME_ZONE[time_zone]
    if time_zone.startswith("Australia/"):
        return "AU"
    return JURISDICTION_BY_COUNTRY.get(country, Jurisdiction.OTHER)


class PaperSize(models.TextChoices):
    A4 = "A4", "A4"
    LETTER = "Letter", "US Letter"


class Organisation(models.Model):
    """The clinic organisation this installation serves (one row; `setup_clinic` makes it)."""

    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "Organisation | None":
        return cls.objects.order_by("pk").first()


class Location(models.Model):
    """A clinic site. Appointments, rooms and stock belong to a location."""

    name = models.CharField(max_length=120, unique=True)
    address = models.TextField()
    phone = models.CharField(max_length=40)
    emergency_phone = models.CharField(
        "out-of-hours emergency phone",
        max_length=40,
        help_text="Printed on aftercare sheets for patients to call after hours.",
    )
    country = models.CharField(
        max_length=2,
        default="GB",
        help_text="ISO 3166 code such as GB or US: how phone numbers and dates are typed here.",
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        validators=[RegexValidator(CURRENCY_CODE, "A three-letter ISO 4217 code such as GBP.")],
        help_text="ISO 4217 code such as GBP, USD or EUR: prices here are shown in it. "
        "Left empty, it is the country's (asked for where the country is not known).",
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    jurisdiction = models.CharField(
        max_length=8,
        choices=Jurisdiction.choices,
        blank=True,
        help_text="Whose laws apply here: screening rules that differ by place follow it. "
        "Left empty, it is taken from the time zone (Europe/London is England).",
    )
    paper_size = models.CharField(max_length=8, choices=PaperSize.choices, default=PaperSize.A4)
    # Cooling-off: whole days between the signed consent (or, when booking, the latest
    # consultation) and the treatment. The Medical Board of Australia asks for at least
    # seven days before a minor (non-surgical) cosmetic procedure in patients under 18:
    # Medical Board of Australia, Guidelines for registered medical practitioners who
    # perform cosmetic surgery and procedures (effective 1 July 2023), the section on
    # non-surgical cosmetic procedures, patients under the age of 18 ("cooling-off period
    # of at least seven days"); read at
    # https://www.medicalboard.gov.au/codes-guidelines-policies/cosmetic-medical-and-surgical-procedures-guidelines.aspx
    # and the summary of the same requirement by MDA National (2 Nov 2016). No period is
    # required for adults before non-surgical procedures there, hence none by default.
    cooling_off_adult_days = models.PositiveSmallIntegerField(
        "cooling-off for adults (days)",
        default=0,
        validators=[MaxValueValidator(365)],
        help_text="Whole days between signed consent and treatment for patients aged 18 "
        "or over; 0 for none.",
    )
    cooling_off_minor_days = models.PositiveSmallIntegerField(
        "cooling-off for under-18s (days)",
        default=7,
        validators=[MaxValueValidator(365)],
        help_text="Whole days between signed consent and treatment for patients under 18 "
        "(the Medical Board of Australia's 2023 guidelines ask for at least 7).",
    )
    is_active = models.BooleanField(default=True)
    online_booking = models.BooleanField(
        "online booking",
        default=False,
        help_text="Patients may book a consultation on this location's public booking page "
        "(/book/<number>/). Off: the page does not exist.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.jurisdiction:
            self.jurisdiction = jurisdiction_for(self.time_zone, self.country)
        if not self.currency:
            self.currency = currency_for_country(self.country)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # The clinic's own numbers pass the same check as a patient's, in this country's format.
        errors: dict[str, list[str]] = {}
        for name in ("phone", "emergency_phone"):
            if value := getattr(self, name):
                try:
                    validate_phone(value, self.country)
                except ValidationError as error:
                    errors[name] = error.messages
        if not self.currency and not currency_for_country(self.country):
            errors["currency"] = [
                f"Give the currency prices are shown in here (an ISO 4217 code such as EUR): "
                f"it is not known for the country “{self.country}”."
            ]
        if errors:
            raise ValidationError(errors)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def cooling_off_days(self, age: int) -> int:
        """The cooling-off period here for a patient of this age on the treatment day."""
        return self.cooling_off_minor_days if age < 18 else self.cooling_off_adult_days

    @property
    def writes_month_first(self) -> bool:
        """Whether people here write 04/05/1980 for April 5th (US) rather than 4 May."""
        return self.country in MONTH_FIRST_COUNTRIES


class RoomKind(models.TextChoices):
    """What a room is fitted for.

    A procedure room is kept for aseptic work (a couch, a trolley, surfaces cleaned
    between patients); a consultation room has a desk and chairs. A procedure needs a
    procedure room; a consultation or review can be held in either kind of room.
    """

    CONSULTATION = "consultation", "Consultation room"
    PROCEDURE = "procedure", "Procedure room"


class Room(models.Model):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    # A procedure room suits every appointment type, so it is the kind a room gets unless
    # told otherwise: a room added without thinking never refuses a booking it used to take.
    kind = models.CharField(
        max_length=20,
        choices=RoomKind.choices,
        default=RoomKind.PROCEDURE,
        help_text="Procedures are booked only into procedure rooms; consultations and "
        "reviews go to a consultation room when one is free, else to any room.",
    )
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "name"], name="room_name_unique_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class StaffMemberQuerySet(models.QuerySet["StaffMember"]):
    def practitioners_at(self, location: "Location") -> "StaffMemberQuerySet":
        """The active practitioners who work at `location`, by name."""
        return (
            self.filter(role=Role.PRACTITIONER, locations=location, user__is_active=True)
            .select_related("user")
            .order_by("user__last_name", "user__first_name", "pk")
        )


class StaffMember(models.Model):
    """The clinic's side of a user account: role, locations, registration."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    locations = models.ManyToManyField(Location, related_name="staff")
    registration_number = models.CharField(
        "professional registration number",
        max_length=40,
        blank=True,
        help_text="GMC, NMC, GDC or equivalent; required for practitioners.",
    )

    history = HistoricalRecords()

    objects = StaffMemberQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        permissions = [
            ("view_demographics", "Can see patients' demographics and bookings"),
            ("manage_bookings", "Can book, move and cancel appointments"),
            ("view_clinical", "Can see clinical records and photos"),
            ("record_clinical", "Can record clinical work"),
            ("manage_clinic", "Can manage locations, staff, products and templates"),
            ("view_reports", "Can see reports and the audit log"),
        ]

    def __str__(self) -> str:
        return person_name(self.user)

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        sync_role_group(self.user, self.role)

    def clean(self) -> None:
        if self.role == Role.PRACTITIONER and not self.registration_number.strip():
            raise ValidationError(
                {"registration_number": "Practitioners need a professional registration number."}
            )


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WorkingHours(models.Model):
    """A weekly pattern: on this weekday the practitioner works here, in local time."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField(help_text="Local time at the location.")
    ends_at = models.TimeField(help_text="Local time at the location.")

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "working hours"
        ordering = ["staff", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="working_hours_end_after_start",
            )
        ]

    def __str__(self) -> str:
        hours = f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
        return f"{self.staff}: {self.get_weekday_display()} {hours} at {self.location}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})
        if (
            self.staff_id
            and self.location_id
            and not self.staff.locations.filter(pk=self.location_id).exists()
        ):
            raise ValidationError({"location": "This staff member does not work at that location."})


class TimeOff(models.Model):
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "time off"
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="time_off_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff}: {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    ARCHIVE = "archive", "Archived"
    PRINT = "print", "Printed"
    SIGN = "sign", "Signed"
    EXPORT = "export", "Exported"
    LOGIN = "login", "Signed in"
    LOGOUT = "logout", "Signed out"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    DENIED = "denied", "Permission denied"


_M = TypeVar("_M", bound=models.Model)


class AppendOnlyQuerySet(models.QuerySet[_M]):
    """For records that are written once and never changed: audit events, signed consents."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError(f"{self.model._meta.verbose_name_plural} are append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError(f"{self.model._meta.verbose_name_plural} are append-only.")


class WrittenOnceModel(models.Model):
    """Records written once and never changed or deleted: audit events, signed consents.

    Saving an existing row, deleting, and queryset update/delete all raise; on
    PostgreSQL a trigger per table refuses UPDATE and DELETE as well.
    """

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(f"{self._meta.verbose_name_plural} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError(f"{self._meta.verbose_name_plural} cannot be deleted.")


class AuditEvent(WrittenOnceModel):
    """One entry in the append-only audit trail; written by clinic.audit.record_event.

    On PostgreSQL a trigger also refuses UPDATE and DELETE (migration 0003).
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept as text too, so the entry still reads right if the account is renamed.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        who = self.actor_name or "system"
        what = f"{self.object_type} {self.object_id}".strip()
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {who} {self.action} {what}"

    @property
    def actor_full_name(self) -> str:
        """The person's full name from their account (fetch with select_related("actor")),
        else the username recorded at the time; "" for the system."""
        if self.actor_id is None:
            return self.actor_name
        return person_name(self.actor)


class RequestCount(models.Model):
    """How many requests one key (an address, a token, a contact) made in one window.

    Kept in the database, not a process's memory: every app server counts the same
    requests (clinic.rate_limits).
    """

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="one_count_per_window")
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.window_start:%Y-%m-%d %H:%M}"
