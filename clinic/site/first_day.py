"""A real clinic's first day: the organisation, its first location and manager, and the
default clinical content, without demo patients or demo accounts.

`set_up_clinic` checks everything it is given before it writes anything, then
creates what is missing in one transaction: running it again with the same
answers changes nothing. It is what `manage.py setup_clinic` calls; the demo
loader installs the same clinical content through the same functions
(consultations.default_content, treatments.default_content).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.currency import CURRENCY_CODE, currency_for_country
from clinic.models import (
    MONTH_FIRST_COUNTRIES,
    AuditAction,
    Location,
    Organisation,
    PaperSize,
    StaffMember,
    validate_time_zone,
)
from clinic.phones import validate_phone
from clinic.roles import Role
from consultations.default_content import install_appointment_types
from treatments.default_content import InstalledContent, install_default_content


@dataclass(frozen=True, kw_only=True)
class ClinicDetails:
    """What a new clinic is asked for (the command's flags or answers)."""

    clinic_name: str
    location_name: str
    time_zone: str
    address: str
    phone: str
    emergency_phone: str
    country: str
    manager_username: str
    manager_email: str
    manager_password: str = field(repr=False)
    # ISO 4217; empty for the country's own (clinic.currency), which must then be known.
    currency: str = ""


@dataclass
class ClinicSetup:
    """What exists after the set-up, and what this run created."""

    organisation: Organisation
    location: Location
    manager: StaffMember
    created: list[str] = field(default_factory=list)
    appointment_types: int = 0
    content: InstalledContent = field(default_factory=InstalledContent)


def check_details(details: ClinicDetails) -> None:
    """Raise ValidationError with one clear sentence for the first answer that cannot be used."""
    for label, value in (
        ("clinic name", details.clinic_name),
        ("location name", details.location_name),
        ("address", details.address),
        ("phone number", details.phone),
        ("out-of-hours emergency phone", details.emergency_phone),
        ("manager's username", details.manager_username),
    ):
        if not value.strip():
            raise ValidationError(f"The {label} is missing.")
    try:
        validate_time_zone(details.time_zone)
    except ValidationError:
        raise ValidationError(
            f"“{details.time_zone}” is not a time zone: use an IANA name such as Europe/London."
        ) from None
    if len(details.country) != 2 or not details.country.isalpha():
        raise ValidationError("The country is a two-letter code such as GB or US.")
    if details.currency and not CURRENCY_CODE.match(details.currency.upper()):
        raise ValidationError("The currency is a three-letter ISO 4217 code such as GBP or EUR.")
    if not details.currency and not currency_for_country(details.country):
        raise ValidationError(
            f"Give the currency prices are shown in (--currency, an ISO 4217 code such as "
            f"EUR): it is not known for the country {details.country.upper()}."
        )
    for label, number in (
        ("phone number", details.phone),
        ("out-of-hours emergency phone", details.emergency_phone),
    ):
        try:
            validate_phone(number.strip(), details.country.upper())
        except ValidationError as error:
            raise ValidationError(
                f"The {label} “{number.strip()}” is not valid: {error.messages[0]}"
            ) from None
    try:
        validate_email(details.manager_email)
    except ValidationError:
        raise ValidationError(
            f"“{details.manager_email}” is not an email address for the manager."
        ) from None
    user_model = get_user_model()
    try:
        validate_password(
            details.manager_password,
            user=user_model(username=details.manager_username, email=details.manager_email),
        )
    except ValidationError as error:
        raise ValidationError(
            f"The manager's password is too weak: {' '.join(error.messages)}"
        ) from None


@transaction.atomic
def set_up_clinic(*, details: ClinicDetails, actor: Actor) -> ClinicSetup:
    """Create the organisation, first location and manager if missing, and install the
    default clinical content; one transaction, nothing written if an answer is refused."""
    check_details(details)
    created: list[str] = []
    organisation = Organisation.current()
    if organisation is None:
        organisation = Organisation.objects.create(name=details.clinic_name.strip())
        created.append(f"the organisation {organisation.name}")
    location = Location.objects.filter(name=details.location_name.strip()).first()
    if location is None:
        country = details.country.upper()
        location = Location(
            name=details.location_name.strip(),
            address=details.address.strip(),
            phone=details.phone.strip(),
            emergency_phone=details.emergency_phone.strip(),
            country=country,
            currency=details.currency.upper() or currency_for_country(country),
            time_zone=details.time_zone,
            paper_size=PaperSize.LETTER if country in MONTH_FIRST_COUNTRIES else PaperSize.A4,
        )
        location.full_clean()
        location.save()
        created.append(f"the location {location.name}")
    manager = _manager(details, location, created)
    acting = actor.acting_as(actor.user or manager.user)
    for what in created:
        record_event(action=AuditAction.CREATE, actor=acting, summary=f"Set up {what}")
    return ClinicSetup(
        organisation=organisation,
        location=location,
        manager=manager,
        created=created,
        appointment_types=install_appointment_types(),
        content=install_default_content(actor=acting),
    )


def _manager(details: ClinicDetails, location: Location, created: list[str]) -> StaffMember:
    """The first manager, working at the location; an existing account is left as it is."""
    user_model = get_user_model()
    user: User | None = user_model.objects.filter(username=details.manager_username).first()
    if user is None:
        user = user_model(username=details.manager_username, email=details.manager_email)
        user.set_password(details.manager_password)
        user.full_clean()
        user.save()
        created.append(f"the manager account {user.username}")
    staff = StaffMember.objects.filter(user=user).first()
    if staff is None:
        staff = StaffMember(user=user, role=Role.MANAGER)
        staff.full_clean()
        staff.save()
        staff.locations.add(location)
    elif staff.role != Role.MANAGER:
        raise ValidationError(
            f"The account {user.username} already belongs to a {Role(staff.role).label.lower()}: "
            "choose another username for the manager."
        )
    return staff
