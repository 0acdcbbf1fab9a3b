"""Demo patients for `manage.py load_demo_data`: a living clinic without real people.

Everything goes through the same services the views use, so demo records are
numbered, versioned and audited like real ones. Deterministic: the same seed
gives the same clinic, and a second run adds nothing.
"""

import random
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import Location, StaffMember
from clinic.roles import Role
from consultations import services
from consultations.booking import services as booking
from consultations.default_content import install_appointment_types
from consultations.demo_photos import demo_photo_jpeg
from consultations.models import Appointment, AppointmentType, Patient

DEMO_APPOINTMENT_COUNT = 45
DEMO_PATIENT_COUNT = 60
PATIENTS_WITH_PHOTOS = 6

FIRST_NAMES = [
    ("Zoë", "female"),
    ("Siobhán", "female"),
    ("Amara", "female"),
    ("Ingrid", "female"),
    ("Mei", "female"),
    ("Priyanka", "female"),
    ("Lucía", "female"),
    ("Hannah", "female"),
    ("Fatima", "female"),
    ("Olga", "female"),
    ("Chloé", "female"),
    ("Grace", "female"),
    ("Naomi", "female"),
    ("Beatriz", "female"),
    ("Yuki", "female"),
    ("Rosa", "female"),
    ("José", "male"),
    ("Björn", "male"),
    ("Tom", "male"),
    ("Kwame", "male"),
    ("Rafael", "male"),
    ("Arjun", "male"),
    ("Luca", "male"),
    ("Sam", "not_stated"),
]
LAST_NAMES = [
    "Okafor",
    "Ångström",
    "Müller",
    "O'Brien",
    "García",
    "Nguyen",
    "Kowalski",
    "Patel",
    "Rossi",
    "Dubois",
    "Smith",
    "Jones",
    "Nakamura",
    "Haddad",
    "Novák",
    "Fernández",
    "Walker",
    "Kim",
    "Silva",
    "Eriksen",
    "Murphy",
    "Achterberg",
    "Chen",
    "Brown",
]
LONDON_STREETS = ["Marylebone High Street", "Wimpole Street", "Baker Street", "Devonshire Place"]
NEW_YORK_STREETS = ["Lexington Avenue", "East 72nd Street", "Madison Avenue", "York Avenue"]
MEDICATIONS = ["Levothyroxine 50 mcg", "Sertraline 50 mg", "Ramipril 5 mg", "Combined pill", ""]


def load_demo_patients(seed: int = 2026) -> int:
    """Register the demo patients if none exist yet; return how many were created."""
    if Patient.objects.exists():
        return 0
    rng = random.Random(seed)
    locations = list(Location.objects.order_by("name"))
    desk = {
        loc.pk: StaffMember.objects.filter(role=Role.FRONT_DESK, locations=loc).first()
        for loc in locations
    }
    practitioners = list(StaffMember.objects.filter(role=Role.PRACTITIONER))
    today = timezone.localdate()
    created = 0
    for n in range(DEMO_PATIENT_COUNT):
        first, sex = FIRST_NAMES[n % len(FIRST_NAMES)]
        last = LAST_NAMES[(n * 7) % len(LAST_NAMES)]
        location = locations[n % len(locations)]
        registrar = desk[location.pk] or practitioners[0]
        patient = services.register_patient(
            details=_demographics(rng, n, first, last, sex, location, today),
            actor=Actor.system(user=registrar.user),
        )
        created += 1
        clinician = rng.choice(practitioners).user
        for version in range(rng.choice([1, 1, 1, 2])):
            services.submit_medical_history(
                patient=patient,
                answers=_answers(rng, today, first_version=version == 0),
                previous_treatments=_previous_treatments(rng, today),
                completed_by_patient=version == 0,
                actor=Actor.system(user=registrar.user if version == 0 else clinician),
            )
        if n < PATIENTS_WITH_PHOTOS:
            _add_photos(patient, n, clinician, today)
    return created


def _demographics(rng, n, first, last, sex, location, today) -> dict:
    age_days = rng.randint(28 * 365, 68 * 365)
    in_us = location.country == "US"
    street = rng.choice(NEW_YORK_STREETS if in_us else LONDON_STREETS)
    phone = f"+1212555{1000 + n:04d}" if in_us else f"+44791112{3000 + n:04d}"
    email_name = f"{first}.{last}".lower().replace("'", "")
    return {
        "first_name": first,
        "last_name": last,
        "preferred_name": "Bea" if first == "Beatriz" else "",
        "date_of_birth": today - timedelta(days=age_days),
        "sex": sex,
        "phone": phone,
        "email": f"{email_name.encode('ascii', 'ignore').decode()}{n}@mail.example",
        "address": f"{rng.randint(2, 180)} {street}\n{'New York, NY' if in_us else 'London'}",
        "emergency_contact_name": f"{rng.choice(['Alex', 'Jo', 'Chris', 'Robin'])} {last}",
        "emergency_contact_relation": rng.choice(["partner", "sister", "son", "friend"]),
        "emergency_contact_phone": f"+1212555{2000 + n:04d}"
        if in_us
        else f"+44791113{3000 + n:04d}",
        "family_doctor": rng.choice(["Dr Ellis, Park Surgery", "Dr Mehta, Riverside Practice", ""]),
        "preferred_location": location,
        "contact_by_email": rng.random() < 0.8,
        "contact_by_sms": rng.random() < 0.5,
        "marketing_consent": rng.random() < 0.3,
    }


def _answers(rng: random.Random, today: date, *, first_version: bool) -> dict:
    """Mostly healthy answers, with the contraindications screening must catch sprinkled in."""
    anticoagulated = rng.random() < 0.08
    autoimmune = rng.random() < 0.05
    event = rng.random() < 0.1
    return {
        "pregnant": rng.random() < 0.03,
        "breastfeeding": rng.random() < 0.03,
        "anticoagulants": anticoagulated,
        "anticoagulant_details": rng.choice(["Apixaban", "Aspirin 75 mg", "Warfarin"])
        if anticoagulated
        else "",
        "bleeding_disorder": rng.random() < 0.02,
        "autoimmune_disease": autoimmune,
        "autoimmune_details": rng.choice(["Lupus", "Scleroderma", "Rheumatoid arthritis"])
        if autoimmune
        else "",
        "immunosuppressed": rng.random() < 0.02,
        "diabetes": rng.choices(["none", "controlled", "uncontrolled"], [90, 8, 2])[0],
        "active_skin_infection": rng.random() < 0.04,
        "keloid_tendency": rng.random() < 0.04,
        "allergy_local_anaesthetic": rng.random() < 0.02,
        "allergy_suture_material": rng.random() < 0.02,
        "other_allergies": rng.choice(["", "", "", "Penicillin", "Latex", "Nuts"]),
        "smoking": rng.choices(["never", "former", "current"], [70, 18, 12])[0],
        "important_event_on": today + timedelta(days=rng.randint(5, 60)) if event else None,
        "important_event": rng.choice(["Wedding", "Daughter's graduation", "Photo shoot"])
        if event
        else "",
        "current_medications": rng.choice(MEDICATIONS),
        "notes": "" if first_version else "Reviewed with the practitioner at consultation.",
    }


def _previous_treatments(rng: random.Random, today: date) -> list[dict]:
    kinds = ["ha_filler", "toxin", "threads", "gold_threads", "permanent_filler", "energy_device"]
    areas = ["midface", "nasolabial", "jawline", "brow", "marionette"]
    return [
        {
            "kind": rng.choices(kinds, [40, 40, 12, 2, 3, 10])[0],
            "treated_on": today - timedelta(days=rng.randint(20, 4 * 365)),
            "area": rng.choice(areas),
        }
        for _ in range(rng.choice([0, 0, 1, 1, 2]))
    ]


def _add_photos(patient: Patient, n: int, clinician, today: date) -> None:
    # Photos need the patient's consent for the clinical record first.
    if not services.photo_use_consented(patient, "clinical"):
        services.record_photography_consent(
            patient=patient,
            use="clinical",
            granted=True,
            form="written",
            words="Signed the clinic's photography consent form at the consultation.",
            actor=Actor.system(user=clinician),
        )
    for view in ("frontal", "left_oblique"):
        for stage, days_ago in (("baseline", 120), ("3_months", 10)):
            jpeg = demo_photo_jpeg(seed=n, view=view, stage=stage)
            services.add_patient_photos(
                patient=patient,
                files=[SimpleUploadedFile(f"{view}-{stage}.jpg", jpeg, "image/jpeg")],
                view=view,
                stage=stage,
                taken_on=today - timedelta(days=days_ago),
                actor=Actor.system(user=clinician),
            )


def load_demo_appointment_types() -> int:
    """The default appointment types (consultations.default_content), as setup_clinic installs."""
    return install_appointment_types()


def load_demo_appointments(seed: int = 2026) -> int:
    """Book the coming week through the booking service, as the front desk would."""
    if Appointment.objects.exists():
        return 0
    rng = random.Random(seed)
    types = list(AppointmentType.objects.filter(is_active=True))
    patients = list(Patient.objects.filter(is_archived=False).select_related("preferred_location"))
    booked = 0
    for _ in range(DEMO_APPOINTMENT_COUNT * 2):
        if booked >= DEMO_APPOINTMENT_COUNT or not patients:
            break
        patient = rng.choice(patients)
        location = patient.preferred_location or Location.objects.first()
        if location is None:
            break  # no clinic to book at
        after = timezone.now() + timedelta(hours=rng.randint(1, 6 * 24))
        slots = booking.next_free_slots(
            appointment_type=(kind := rng.choice(types)), location=location, after=after, limit=1
        )
        if not slots:
            continue
        slot = slots[0]
        desk = StaffMember.objects.filter(role=Role.FRONT_DESK, locations=location).first()
        try:
            booking.book_appointment(
                patient=patient,
                practitioner=slot.practitioner,
                location=location,
                appointment_type=kind,
                starts_at=slot.starts_at,
                room=slot.room,
                send_reminder=False,  # invented patients: the demo sends nothing
                actor=Actor.system(user=desk.user if desk else None),
            )
        except booking.SlotUnavailable:
            continue  # the patient is busy then: try another
        booked += 1
    return booked
