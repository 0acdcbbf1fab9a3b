"""Factories for the rows tests make directly, with plain valid defaults.

A row that a service writes in real life (a booking, a plan, a consent, a session)
is made through that service instead: see tests.recipes. The factories here are for
set-up the pages leave to the admin (products, appointment types, working hours),
for patients and staff, and for rows written as a service would have written them
where the service would refuse (an appointment already in the past, an expired lot).
"""

from datetime import time, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from clinic.models import Location, Role, Room, StaffMember, TimeOff, WorkingHours

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.example")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Clinic {n}")
    address = "1 High Street\nLondon"
    phone = "+44 20 7946 0000"
    emergency_phone = "+44 20 7946 0999"
    time_zone = "Europe/London"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Room {n}")


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.PRACTITIONER
    registration_number = factory.Maybe(
        factory.LazyAttribute(lambda s: s.role == Role.PRACTITIONER),
        yes_declaration=factory.Sequence(lambda n: f"GMC {7000000 + n}"),
        no_declaration="",
    )

    @factory.post_generation
    def locations(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.locations.set(extracted)


class PatientFactory(factory.django.DjangoModelFactory):
    """Patients made directly, with a unique record number (the service makes real ones)."""

    class Meta:
        model = "consultations.Patient"

    record_number = factory.Sequence(lambda n: f"TF{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=25, maximum_age=70)
    sex = "female"
    phone = factory.Sequence(lambda n: f"+4479111{n:05d}")
    email = factory.LazyAttribute(lambda p: f"{p.first_name}.{p.last_name}@mail.example".lower())


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    staff = factory.SubFactory(StaffMemberFactory)
    location = factory.SubFactory(LocationFactory)
    weekday = 0
    starts_at = time(9)
    ends_at = time(17)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    staff = factory.SubFactory(StaffMemberFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda t: t.starts_at + timedelta(hours=2))
    reason = ""


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "consultations.AppointmentType"

    name = factory.Sequence(lambda n: f"Appointment type {n}")
    kind = "consultation"
    duration_minutes = 30
    # As the default types and the migration set it: treatments need a procedure room.
    room_kind = factory.LazyAttribute(
        lambda t: "procedure" if t.kind == "treatment" else "consultation"
    )


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment row as the booking service writes it, for times the service refuses
    (the past) or rows a test must write around the service."""

    class Meta:
        model = "consultations.Appointment"

    patient = factory.SubFactory(PatientFactory)
    practitioner = factory.SubFactory(StaffMemberFactory)
    location = factory.SubFactory(LocationFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(
        lambda a: a.starts_at + timedelta(minutes=a.appointment_type.duration_minutes)
    )
    blocked_until = factory.LazyAttribute(
        lambda a: a.ends_at + timedelta(minutes=a.appointment_type.buffer_minutes)
    )


class ThreadProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "treatments.ThreadProduct"

    manufacturer = "Lumen Sutures"
    name = "PDO Cog 19G 100"
    material = "PDO"
    thread_type = "cog_bi"
    gauge = 19
    thread_length_mm = 100
    needle_length_mm = 100
    delivery = "cannula"
    absorption_months = 8
    unit_price = Decimal("45.00")


class StockLotFactory(factory.django.DjangoModelFactory):
    """A lot row as receiving stock writes it, for lots the service refuses (already expired)."""

    class Meta:
        model = "treatments.StockLot"

    product = factory.SubFactory(ThreadProductFactory)
    location = factory.SubFactory(LocationFactory)
    lot_number = factory.Sequence(lambda n: f"LOT-{n:04d}")
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=300))
    quantity_received = 10
    quantity_on_hand = factory.LazyAttribute(lambda lot: lot.quantity_received)


class ProtocolPresetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "treatments.ProtocolPreset"

    name = factory.Sequence(lambda n: f"Protocol {n}")
    vectors = factory.LazyFunction(list)


class AftercareTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "treatments.AftercareTemplate"

    period = "first_24h"
    text = "Sleep on your back."
