import factory
from django.contrib.auth import get_user_model

from clinic.models import Location, Role, Room, StaffMember

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
    emergency_phone = "+44 7700 900000"
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
