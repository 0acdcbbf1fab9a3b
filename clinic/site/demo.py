"""The demo clinic: two locations, their staff and rooms, patients, bookings and treatments.

Every loader creates only what is missing, so loading twice changes nothing.
"""

from datetime import time

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clinic.demo_time import as_of, opened_at
from clinic.models import Location, Room, RoomKind, StaffMember, WorkingHours
from clinic.roles import Role
from consultations.demo import (
    load_demo_appointment_types,
    load_demo_appointments,
    load_demo_patients,
)
from treatments.demo import load_demo_treatments
from treatments.demo_stories import load_demo_stories

DEMO_PASSWORD = "threadline-demo"  # noqa: S105  (development data only; refused when DEBUG is off)

LOCATIONS = [
    {
        "name": "Threadline London",
        "address": "12 Harley Mews\nLondon W1G 9QD\nUnited Kingdom",
        "phone": "+44 20 7946 0321",
        "emergency_phone": "+44 20 7946 0999",
        "country": "GB",
        "time_zone": "Europe/London",
        "paper_size": "A4",
        "rooms": [
            ("Treatment room 1", RoomKind.PROCEDURE),
            ("Treatment room 2", RoomKind.PROCEDURE),
            ("Consultation room", RoomKind.CONSULTATION),
        ],
    },
    {
        "name": "Threadline New York",
        "address": "240 East 64th Street, Suite 3\nNew York, NY 10065\nUnited States",
        "phone": "+1 212 555 0147",
        "emergency_phone": "+1 212 555 0199",
        "country": "US",
        "time_zone": "America/New_York",
        "paper_size": "Letter",
        "rooms": [
            ("Procedure room A", RoomKind.PROCEDURE),
            ("Consult room B", RoomKind.CONSULTATION),
        ],
    },
]

# username, first, last, role, locations, registration number
STAFF = [
    ("manager", "Morgan", "Reyes", Role.MANAGER, ["Threadline London", "Threadline New York"], ""),
    ("practitioner", "Amara", "Okafor", Role.PRACTITIONER, ["Threadline London"], "GMC 7012345"),
    (
        "practitioner2",
        "Lena",
        "Hartmann",
        Role.PRACTITIONER,
        ["Threadline London", "Threadline New York"],
        "NMC 12A3456E",
    ),
    ("practitioner3", "Daniel", "Cho", Role.PRACTITIONER, ["Threadline New York"], "NY MD 301234"),
    ("frontdesk", "Priya", "Shah", Role.FRONT_DESK, ["Threadline London"], ""),
    ("frontdesk2", "Sam", "Walker", Role.FRONT_DESK, ["Threadline New York"], ""),
]

# Weekdays (0 = Monday) each practitioner works at each location: 09:00–17:30
# local time, Saturdays 09:00–13:00.
PRACTITIONER_DAYS = {
    "practitioner": {"Threadline London": [0, 1, 2, 3, 4, 5]},
    "practitioner2": {"Threadline London": [0, 1, 2], "Threadline New York": [3, 4]},
    "practitioner3": {"Threadline New York": [0, 1, 2, 3, 4, 5]},
}
WEEKDAY_HOURS = (time(9, 0), time(17, 30))
SATURDAY_HOURS = (time(9, 0), time(13, 0))


def load_demo_clinic() -> bool:
    """Create what is missing; return True if anything was created."""
    created_any = False
    locations = {}
    for spec in LOCATIONS:
        rooms = spec["rooms"]
        fields = {k: v for k, v in spec.items() if k not in ("name", "rooms")}
        location, created = Location.objects.get_or_create(name=spec["name"], defaults=fields)
        created_any |= created
        locations[location.name] = location
        for room_name, kind in rooms:
            created_any |= Room.objects.get_or_create(
                location=location, name=room_name, defaults={"kind": kind}
            )[1]

    user_model = get_user_model()
    for username, first, last, role, location_names, registration in STAFF:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@threadline.example",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            created_any = True
        staff, created = StaffMember.objects.get_or_create(
            user=user, defaults={"role": role, "registration_number": registration}
        )
        created_any |= created
        if created:
            staff.locations.set([locations[name] for name in location_names])
            for name, weekdays in PRACTITIONER_DAYS.get(username, {}).items():
                for weekday in weekdays:
                    starts_at, ends_at = SATURDAY_HOURS if weekday == 5 else WEEKDAY_HOURS
                    WorkingHours.objects.create(
                        staff=staff,
                        location=locations[name],
                        weekday=weekday,
                        starts_at=starts_at,
                        ends_at=ends_at,
                    )
    return created_any


def load_demo_everything() -> dict[str, int]:
    """Load the whole demo clinic in one transaction; counts of what was created.

    The clinic itself (staff, rooms, appointment types, products, stock, the consent form)
    is set up as of the day it opened (clinic.demo_time), before any story patient came;
    the other patients and the coming week's bookings are made today; the stories then
    replay their past through the services (treatments.demo_stories).
    """
    now = timezone.now()
    with transaction.atomic():
        with as_of(opened_at(now)):
            created = load_demo_clinic()
            load_demo_appointment_types()
            treatments = load_demo_treatments(today=timezone.localdate(now))
        patients = load_demo_patients()
        appointments = load_demo_appointments()
        stories = load_demo_stories()
    return {
        "clinic": int(created),
        "patients": patients,
        "appointments": appointments,
        "treatments": treatments,
        "stories": stories,
    }
