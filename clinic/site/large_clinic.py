"""A large, realistic clinic for benchmarks and load tests (`manage.py seed_large_clinic`).

100,000 patients, 200,000 appointments over two years (one behind, one ahead),
10 practitioners across 2 locations, 20,000 screened patients with accepted
plans and vectors, and 15,000 completed sessions with lots, signed consents
and review outcomes.

Speed matters here (minutes, not hours), so rows go in with bulk_create rather
than through the services one by one. The data still keeps every rule the
services keep: no overlapping bookings (the PostgreSQL exclusion constraints
check them as the rows go in), consents fingerprinted, stock that covers what
was placed. Never run it against a real clinic's database.
"""

import hashlib
import io
import random
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from io import TextIOBase

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageDraw

from clinic.models import Location, Room, StaffMember, WorkingHours
from clinic.roles import Role
from clinic.signing_keys import configured_signing_keys
from consultations.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Consultation,
    ConsultationArea,
    MedicalHistory,
    Patient,
    RecordNumberCounter,
    Screening,
)
from consultations.name_folding import patient_search_key
from treatments.models import (
    DEFAULT_RISKS,
    ConsentTemplate,
    Outcome,
    PlacedThreads,
    PlanStatus,
    SignedConsent,
    StockLot,
    ThreadProduct,
    ThreadVector,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services.consent import GENESIS, ConsentContent, seal_content

PRACTITIONERS = 10
BATCH = 5_000
DAYS = 730
SLOTS_PER_DAY = 28  # 20-minute slots, 08:00–17:20, every day of the week
FIRST = [
    "Zoë",
    "Amara",
    "Ingrid",
    "Mei",
    "Lucía",
    "Hannah",
    "José",
    "Björn",
    "Tom",
    "Kwame",
    "Siobhán",
    "Priya",
    "Olga",
    "Grace",
    "Naomi",
    "Yuki",
    "Rafael",
    "Arjun",
    "Luca",
    "Fatima",
]
SURNAME_STARTS = [
    "Ang",
    "Berg",
    "Card",
    "Dal",
    "Eck",
    "Fern",
    "Gar",
    "Hol",
    "Iv",
    "Jan",
    "Kow",
    "Lind",
    "Mar",
    "Nak",
    "Ok",
    "Pat",
    "Ross",
    "Sil",
    "Tan",
    "Vol",
]
SURNAME_ENDS = [
    "ström",
    "son",
    "ez",
    "ini",
    "ski",
    "afor",
    "mann",
    "ley",
    "ova",
    "amura",
    "ier",
    "berg",
    "ton",
    "ard",
    "elli",
    "ović",
    "sen",
    "ford",
    "ida",
    "ach",
]


def signature_png(seed: int) -> bytes:
    image = Image.new("L", (400, 120), 255)
    draw = ImageDraw.Draw(image)
    rng = random.Random(seed)
    points = [(20 + 30 * i, rng.randint(20, 100)) for i in range(12)]
    draw.line(points, fill=0, width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class ClinicSize:
    patients: int = 100_000
    appointments: int = 200_000
    plans: int = 20_000
    sessions: int = 15_000

    def scaled(self, factor: float) -> "ClinicSize":
        return ClinicSize(*(int(n * factor) for n in astuple(self)))


# A completed treatment appointment: pk, patient, practitioner, location, start.
TreatmentRow = tuple[int, int, int, int, datetime]


def seed_large_clinic(
    *, stdout: TextIOBase | None = None, seed: int = 11, scale: float = 1.0
) -> dict[str, int]:
    """Fill the database; returns row counts. Refuses a database that already has patients.

    `scale` shrinks every count alike (tests seed a hundredth of the clinic).
    """
    size = ClinicSize().scaled(scale)
    if Patient.objects.exists():
        raise RuntimeError("The database already has patients: seed an empty one.")
    say = stdout.write if stdout else (lambda _text: None)
    rng = random.Random(seed)
    now = timezone.now()
    with transaction.atomic():
        staff, rooms, locations = _staff_and_rooms()
        types = _appointment_types()
        products, lots = _products_and_lots(locations)
        template = _consent_template()
    say("staff, rooms, products and lots ready")

    patients = _patients(rng, size.patients)
    say(f"{len(patients)} patients")
    first_day = timezone.localdate() - timedelta(days=DAYS // 2)
    appointments = _appointments(
        rng, staff, rooms, types, patients, first_day, now, size.appointments
    )
    say(f"{Appointment.objects.count()} appointments")
    # Plans go first to the patients who had a treatment, so sessions can follow them.
    treated = list(dict.fromkeys(patient for _a, patient, *_rest in appointments))
    seen = set(treated)
    others = [p for p in patients if p not in seen]
    plans = _plans(rng, staff, products, (treated + others)[: size.plans])
    say(f"{len(plans)} plans with vectors")
    sessions = _sessions(rng, plans, appointments, lots, template, size.sessions)
    say(f"{sessions} sessions with consents, lots and outcomes")
    RecordNumberCounter.objects.update_or_create(pk=1, defaults={"last_number": size.patients})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "patients": Patient.objects.count(),
        "appointments": Appointment.objects.count(),
        "plans": TreatmentPlan.objects.count(),
        "vectors": ThreadVector.objects.count(),
        "sessions": TreatmentSession.objects.count(),
    }


def _staff_and_rooms() -> tuple[list[StaffMember], dict[int, Room], list[Location]]:
    locations = [
        Location.objects.get_or_create(
            name=name,
            defaults={
                "address": address,
                "phone": phone,
                "emergency_phone": phone,
                "time_zone": zone,
                "country": country,
                "paper_size": paper,
            },
        )[0]
        for name, address, phone, zone, country, paper in [
            (
                "Threadline London",
                "12 Harley Mews, London",
                "+44 20 7946 0321",
                "Europe/London",
                "GB",
                "A4",
            ),
            (
                "Threadline New York",
                "240 East 64th St, New York",
                "+1 212 555 0147",
                "America/New_York",
                "US",
                "Letter",
            ),
        ]
    ]
    user_model = get_user_model()
    staff: list[StaffMember] = []
    rooms: dict[int, Room] = {}
    for n in range(PRACTITIONERS):
        location = locations[n % 2]
        user, _ = user_model.objects.get_or_create(
            username=f"seed-practitioner-{n}", defaults={"first_name": f"P{n}", "last_name": "Seed"}
        )
        member, created = StaffMember.objects.get_or_create(
            user=user, defaults={"role": Role.PRACTITIONER, "registration_number": f"SEED {n}"}
        )
        if created:
            member.locations.set([location])
            WorkingHours.objects.bulk_create(
                WorkingHours(
                    staff=member, location=location, weekday=d, starts_at=time(8), ends_at=time(18)
                )
                for d in range(7)
            )
        staff.append(member)
        rooms[member.pk] = Room.objects.get_or_create(location=location, name=f"Seed room {n}")[0]
    desk_user, _ = user_model.objects.get_or_create(username="seed-desk")
    desk, created = StaffMember.objects.get_or_create(
        user=desk_user, defaults={"role": Role.FRONT_DESK}
    )
    if created:
        desk.locations.set(locations)
    return staff, rooms, locations


def _appointment_types() -> dict[str, AppointmentType]:
    specs = [
        ("Consultation", "consultation", 20, 0, False),
        ("Thread lift", "treatment", 20, 0, True),  # kept short so the seeded grid packs evenly
        ("Review", "review", 20, 0, False),  # the seeded reviews are of no one stage
    ]
    return {
        kind: AppointmentType.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "duration_minutes": minutes,
                "buffer_minutes": buffer,
                "needs_room": room,
                "room_kind": "procedure" if kind == "treatment" else "consultation",
            },
        )[0]
        for name, kind, minutes, buffer, room in specs
    }


def _products_and_lots(
    locations: list[Location],
) -> tuple[list[ThreadProduct], dict[int, StockLot]]:
    product, _ = ThreadProduct.objects.get_or_create(
        manufacturer="Seed Sutures",
        name="Seed PDO Cog 19G 100",
        defaults={
            "material": "PDO",
            "thread_type": "cog_bi",
            "gauge": 19,
            "thread_length_mm": 100,
            "needle_length_mm": 100,
            "delivery": "cannula",
            "absorption_months": 8,
            "unit_price": Decimal("45.00"),
        },
    )
    lots: dict[int, StockLot] = {}
    for location in locations:
        lots[location.pk] = StockLot.objects.get_or_create(
            product=product,
            location=location,
            lot_number=f"SEED-{location.pk}",
            defaults={
                "expires_on": timezone.localdate() + timedelta(days=800),
                "quantity_received": 1_000_000,
                "quantity_on_hand": 1_000_000,
            },
        )[0]
    return [product], lots


def _consent_template() -> ConsentTemplate:
    return ConsentTemplate.objects.filter(
        is_current=True
    ).first() or ConsentTemplate.objects.create(
        code="thread-lift",
        title="Consent to a thread lift",
        body="I, {patient}, agree to {procedure} of the {areas} with {products} by {practitioner}.",
        risks=DEFAULT_RISKS,
        alternatives="No treatment; fillers; energy devices; a surgical facelift.",
    )


def _patients(rng: random.Random, count: int) -> list[int]:
    rows: list[Patient] = []
    for n in range(count):
        first = rng.choice(FIRST)
        last = rng.choice(SURNAME_STARTS) + rng.choice(SURNAME_ENDS)
        phone = f"+44791{n:07d}"
        rows.append(
            Patient(
                record_number=f"TL{n + 1:06d}",
                first_name=first,
                last_name=last,
                date_of_birth=date(1950, 1, 1) + timedelta(days=rng.randint(0, 18000)),
                sex="female" if rng.random() < 0.85 else "male",
                phone=phone,
                email=f"patient{n}@mail.example",
                search_name=patient_search_key(first_name=first, last_name=last),
                phone_digits=phone[1:],
            )
        )
        if len(rows) == BATCH:
            Patient.objects.bulk_create(rows)
            rows = []
    Patient.objects.bulk_create(rows)
    return list(Patient.objects.order_by("pk").values_list("pk", flat=True))


def _appointments(
    rng: random.Random,
    staff: list[StaffMember],
    rooms: dict[int, Room],
    types: dict[str, AppointmentType],
    patients: list[int],
    first_day: date,
    now: datetime,
    count: int,
) -> list[TreatmentRow]:
    """Every practitioner's day packed with 20-minute slots, in (day, slot, practitioner) order.

    Patient = index modulo the patient count, so one patient's bookings are
    hundreds of days apart: nobody is ever booked twice at once.
    """
    location_of = {member.pk: member.locations.get() for member in staff}
    rows: list[Appointment] = []
    index = 0
    per_day = SLOTS_PER_DAY * len(staff)
    days = count // per_day + 1
    for day_offset in range(days):
        day = first_day + timedelta(days=day_offset)
        for slot in range(SLOTS_PER_DAY):
            for member in staff:
                if index >= count:
                    break
                location = location_of[member.pk]
                start = datetime.combine(day, time(8), tzinfo=location.zone) + timedelta(
                    minutes=20 * slot
                )
                start = start.astimezone(UTC)
                end = start + timedelta(minutes=20)
                kind = ("treatment", "consultation", "review")[slot % 3]
                past = end < now
                roll = rng.random()
                status = (
                    AppointmentStatus.BOOKED
                    if not past
                    else AppointmentStatus.CANCELLED
                    if roll < 0.05
                    else AppointmentStatus.NO_SHOW
                    if roll < 0.08
                    else AppointmentStatus.COMPLETED
                )
                rows.append(
                    Appointment(
                        patient_id=patients[index % len(patients)],
                        practitioner=member,
                        location=location,
                        room=rooms[member.pk] if kind == "treatment" else None,
                        appointment_type=types[kind],
                        starts_at=start,
                        ends_at=end,
                        blocked_until=end,
                        status=status,
                        cancel_reason="Patient unwell"
                        if status == AppointmentStatus.CANCELLED
                        else "",
                    )
                )
                index += 1
                if len(rows) == BATCH:
                    Appointment.objects.bulk_create(rows)
                    rows = []
    Appointment.objects.bulk_create(rows)
    return list(
        Appointment.objects.filter(
            appointment_type=types["treatment"], status=AppointmentStatus.COMPLETED
        )
        .order_by("starts_at")
        .values_list("pk", "patient_id", "practitioner_id", "location_id", "starts_at")
    )


def _plans(
    rng: random.Random,
    staff: list[StaffMember],
    products: list[ThreadProduct],
    chosen: list[int],
) -> list[tuple[int, int]]:
    """Screened, accepted plans for 20,000 patients, each with 4–8 vectors."""
    practitioner_of = {p: staff[i % len(staff)] for i, p in enumerate(chosen)}
    location_of = dict(
        StaffMember.locations.through.objects.filter(staffmember__in=staff).values_list(
            "staffmember_id", "location_id"
        )
    )
    histories = [MedicalHistory(patient_id=p, version=1) for p in chosen]
    for start in range(0, len(histories), BATCH):
        MedicalHistory.objects.bulk_create(histories[start : start + BATCH])
    history_of = dict(
        MedicalHistory.objects.filter(patient_id__in=chosen).values_list("patient_id", "pk")
    )
    consultations = [
        Consultation(
            patient_id=p,
            practitioner=practitioner_of[p],
            fitzpatrick=2,
            glogau=2,
            assessed_at=timezone.now(),
        )
        for p in chosen
    ]
    Consultation.objects.bulk_create(consultations, batch_size=BATCH)
    consultation_of = dict(
        Consultation.objects.filter(patient_id__in=chosen).values_list("patient_id", "pk")
    )
    ConsultationArea.objects.bulk_create(
        (
            ConsultationArea(
                consultation_id=consultation_of[p], area="midface", concern="Cheeks", laxity=2
            )
            for p in chosen
        ),
        batch_size=BATCH,
    )
    Screening.objects.bulk_create(
        (
            Screening(
                patient_id=p,
                consultation_id=consultation_of[p],
                medical_history_id=history_of[p],
                rules_version="seed",
                facts={},
                body_image_answers={},
                body_image_positive=False,
                findings=[],
                outcome="suitable",
                decision="accepted",
                decided_at=timezone.now(),
            )
            for p in chosen
        ),
        batch_size=BATCH,
    )
    screening_of = dict(
        Screening.objects.filter(patient_id__in=chosen).values_list("patient_id", "pk")
    )
    TreatmentPlan.objects.bulk_create(
        (
            TreatmentPlan(
                patient_id=p,
                practitioner=practitioner_of[p],
                location_id=location_of[practitioner_of[p].pk],
                screening_id=screening_of[p],
                status=PlanStatus.ACCEPTED,
                accepted_at=timezone.now(),
            )
            for p in chosen
        ),
        batch_size=BATCH,
    )
    plans = list(
        TreatmentPlan.objects.filter(patient_id__in=chosen).values_list("pk", "patient_id")
    )
    TreatmentPlan.objects.filter(series__isnull=True).update(series_id=F("id"))
    product = products[0]
    vectors: list[ThreadVector] = []
    for plan_id, _patient in plans:
        for n in range(rng.randint(2, 4)):
            for side, x in (("left", 0.35), ("right", 0.65)):
                vectors.append(
                    ThreadVector(
                        plan_id=plan_id,
                        position=len(vectors) % 100,
                        area="midface",
                        side=side,
                        product=product,
                        count=2,
                        view="front",
                        entry_x=x,
                        entry_y=0.55 + 0.02 * n,
                        end_x=x - 0.02 if side == "left" else x + 0.02,
                        end_y=0.2 + 0.02 * n,
                        depth="subcutaneous",
                    )
                )
        if len(vectors) >= BATCH:
            ThreadVector.objects.bulk_create(vectors)
            vectors = []
    ThreadVector.objects.bulk_create(vectors)
    return plans


def _sessions(
    rng: random.Random,
    plans: list[tuple[int, int]],
    treatments: list[TreatmentRow],
    lots: dict[int, StockLot],
    template: ConsentTemplate,
    count: int,
) -> int:
    """15,000 completed sessions on completed treatment appointments of planned patients."""
    plan_of = {patient: plan for plan, patient in plans}
    patient_sig, practitioner_sig = signature_png(1), signature_png(2)
    patient_file = default_storage.save("signatures/seed-patient.png", ContentFile(patient_sig))
    practitioner_file = default_storage.save(
        "signatures/seed-practitioner.png", ContentFile(practitioner_sig)
    )
    plan_objects = TreatmentPlan.objects.in_bulk([plan for plan, _ in plans])
    chosen: list[TreatmentRow] = []
    used_patients: set[int] = set()
    for appointment_id, patient_id, practitioner_id, location_id, starts_at in treatments:
        if patient_id in plan_of and patient_id not in used_patients:
            chosen.append((appointment_id, patient_id, practitioner_id, location_id, starts_at))
            used_patients.add(patient_id)
        if len(chosen) == count:
            break
    consents: list[SignedConsent] = []
    keys = configured_signing_keys()
    # Sealed and chained in the order they are stored, as signing them one by one would.
    previous = (
        SignedConsent.objects.order_by("-pk").values_list("fingerprint", flat=True).first()
        or GENESIS
    )
    patient_sig_sha256 = hashlib.sha256(patient_sig).hexdigest()
    practitioner_sig_sha256 = hashlib.sha256(practitioner_sig).hexdigest()
    for _appointment, patient_id, practitioner_id, _location, starts_at in chosen:
        plan = plan_objects[plan_of[patient_id]]
        signed_at = (starts_at - timedelta(minutes=30)).replace(microsecond=0)
        text = f"Consent of patient {patient_id} to plan {plan.pk}."
        photos = {"clinical": True, "teaching": False, "marketing": False}
        content = ConsentContent(
            plan_id=plan.pk,
            plan_version=plan.version,
            patient_id=patient_id,
            template_id=template.pk,
            text=text,
            risks=list(template.risks),
            photos=photos,
            patient_signature_sha256=patient_sig_sha256,
            practitioner_signature_sha256=practitioner_sig_sha256,
            practitioner_id=practitioner_id,
            signed_at=signed_at,
            ip_address=None,
            user_agent="",
        )
        # No stored PDF copy: these consents print from the record, like the oldest ones.
        seal = seal_content(content, previous=previous, stored_copy=False, keys=keys)
        previous = seal.fingerprint
        consents.append(
            SignedConsent(
                plan_id=plan.pk,
                template=template,
                patient_id=patient_id,
                practitioner_id=practitioner_id,
                rendered_text=text,
                risks_initialled=list(template.risks),
                photo_consents=photos,
                patient_signature=patient_file,
                practitioner_signature=practitioner_file,
                signed_at=signed_at,
                fingerprint=seal.fingerprint,
                previous_fingerprint=seal.previous_fingerprint,
                seal=seal.seal,
                seal_key_id=seal.seal_key_id,
            )
        )
    SignedConsent.objects.bulk_create(consents, batch_size=BATCH)
    consent_of = dict(SignedConsent.objects.values_list("plan_id", "pk"))
    TreatmentSession.objects.bulk_create(
        (
            TreatmentSession(
                appointment_id=appointment_id,
                patient_id=patient_id,
                plan_id=plan_of[patient_id],
                consent_id=consent_of[plan_of[patient_id]],
                practitioner_id=practitioner_id,
                location_id=location_id,
                anaesthesia="local",
                anaesthetic_agent="Lidocaine 1%",
                started_at=starts_at,
                completed_at=starts_at + timedelta(minutes=20),
            )
            for appointment_id, patient_id, practitioner_id, location_id, starts_at in chosen
        ),
        batch_size=BATCH,
    )
    sessions = list(TreatmentSession.objects.values_list("pk", "plan_id", "location_id"))
    vectors_of: dict[int, list[tuple[int, str, str, int, int]]] = {}
    for vector_id, plan_id, area, side, product_id, count in ThreadVector.objects.filter(
        plan_id__in=[s[1] for s in sessions]
    ).values_list("pk", "plan_id", "area", "side", "product_id", "count"):
        vectors_of.setdefault(plan_id, []).append((vector_id, area, side, product_id, count))
    placed: list[PlacedThreads] = []
    used: dict[int, int] = {}
    for session_id, plan_id, location_id in sessions:
        lot = lots[location_id]
        for vector_id, area, side, product_id, count in vectors_of.get(plan_id, []):
            placed.append(
                PlacedThreads(
                    session_id=session_id,
                    vector_id=vector_id,
                    area=area,
                    side=side,
                    product_id=product_id,
                    lot=lot,
                    count=count,
                )
            )
            used[lot.pk] = used.get(lot.pk, 0) + count
        if len(placed) >= BATCH:
            PlacedThreads.objects.bulk_create(placed)
            placed = []
    PlacedThreads.objects.bulk_create(placed)
    for lot_id, count in used.items():
        StockLot.objects.filter(pk=lot_id).update(quantity_on_hand=1_000_000 - count)
    Outcome.objects.bulk_create(
        (
            Outcome(
                session_id=session_id,
                reviewed_on=timezone.localdate(),
                gais_practitioner=rng.choice([1, 2, 2, 3, 3, 4]),
                gais_patient=rng.choice([1, 2, 3, 3, 4]),
                satisfaction=rng.randint(5, 10),
            )
            for session_id, _plan, _location in sessions
        ),
        batch_size=BATCH,
    )
    return len(sessions)
