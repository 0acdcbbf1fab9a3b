"""Demo products, stock and protocol presets for `manage.py load_demo_data`.

The manufacturers are invented; the range is what a thread-lift clinic stocks:
PDO mono, screw, cog and mesh threads, a PLLA cone thread, a PCL cog and a
P(LA/CL) cog. Stock goes in through treatments.services.receive_stock, as a
delivery would, so lots are audited like real ones. Deterministic, and
idempotent: a second run adds nothing.

Preset coordinates follow the planner's front view, the patient facing the
reader: the patient's right side is on the left of the diagram (x below 0.5).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from clinic.actors import Actor
from clinic.models import Location, StaffMember
from clinic.roles import Role
from consultations.models import FacialArea
from treatments.models import (
    DEFAULT_RISKS,
    AftercarePeriod,
    AftercareTemplate,
    ConsentTemplate,
    Delivery,
    Depth,
    DiagramView,
    Material,
    ProtocolPreset,
    Side,
    StockLot,
    ThreadProduct,
    ThreadType,
)
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services
from treatments.services import stock as stock_services

# Unit prices are in the clinic's own currency; absorption is the manufacturer's figure.
PRODUCTS: dict[str, dict[str, Any]] = {
    "mono": {
        "manufacturer": "Lumera Medical",
        "name": "Lumera Mono 29G 38",
        "material": Material.PDO,
        "thread_type": ThreadType.MONO,
        "usp_size": "6-0",
        "gauge": 29,
        "thread_length_mm": 50,
        "needle_length_mm": 38,
        "delivery": Delivery.NEEDLE,
        "absorption_months": 6,
        "unit_price": Decimal("4.50"),
    },
    "screw": {
        "manufacturer": "Lumera Medical",
        "name": "Lumera Twist 27G 50",
        "material": Material.PDO,
        "thread_type": ThreadType.SCREW,
        "usp_size": "5-0",
        "gauge": 27,
        "thread_length_mm": 90,
        "needle_length_mm": 50,
        "delivery": Delivery.NEEDLE,
        "absorption_months": 6,
        "unit_price": Decimal("7.20"),
    },
    "cog19": {
        "manufacturer": "Norrick Sutures",
        "name": "Norrick Anchor PDO Cog 19G 100",
        "material": Material.PDO,
        "thread_type": ThreadType.COG_BI,
        "usp_size": "1",
        "gauge": 19,
        "thread_length_mm": 150,
        "needle_length_mm": 100,
        "delivery": Delivery.CANNULA,
        "absorption_months": 8,
        "unit_price": Decimal("38.00"),
    },
    "cog21": {
        "manufacturer": "Norrick Sutures",
        "name": "Norrick Anchor PDO Cog 21G 90",
        "material": Material.PDO,
        "thread_type": ThreadType.COG_BI,
        "usp_size": "2-0",
        "gauge": 21,
        "thread_length_mm": 120,
        "needle_length_mm": 90,
        "delivery": Delivery.CANNULA,
        "absorption_months": 8,
        "unit_price": Decimal("31.50"),
    },
    "cone": {
        "manufacturer": "Calidra Bio",
        "name": "Calidra Cone PLLA 23G 8 cones",
        "material": Material.PLLA,
        "thread_type": ThreadType.COG_BI,
        "usp_size": "3-0",
        "gauge": 23,
        "thread_length_mm": 270,
        "needle_length_mm": 120,
        "delivery": Delivery.NEEDLE,
        "absorption_months": 18,
        "unit_price": Decimal("118.00"),
    },
    "pcl": {
        "manufacturer": "Calidra Bio",
        "name": "Calidra Longa PCL Cog 19G 100",
        "material": Material.PCL,
        "thread_type": ThreadType.COG_BI,
        "usp_size": "1",
        "gauge": 19,
        "thread_length_mm": 150,
        "needle_length_mm": 100,
        "delivery": Delivery.CANNULA,
        "absorption_months": 24,
        "unit_price": Decimal("56.00"),
    },
    "plcl": {
        "manufacturer": "Vessant Aesthetics",
        "name": "Vessant Duo P(LA/CL) Molded Cog 19G 100",
        "material": Material.PLA_CL,
        "thread_type": ThreadType.MOLDED_COG,
        "usp_size": "1",
        "gauge": 19,
        "thread_length_mm": 160,
        "needle_length_mm": 100,
        "delivery": Delivery.CANNULA,
        "absorption_months": 15,
        "unit_price": Decimal("49.00"),
    },
    "mesh": {
        "manufacturer": "Vessant Aesthetics",
        "name": "Vessant Mesh PDO 26G 60",
        "material": Material.PDO,
        "thread_type": ThreadType.MESH,
        "usp_size": "6-0",
        "gauge": 26,
        "thread_length_mm": 60,
        "needle_length_mm": 60,
        "delivery": Delivery.NEEDLE,
        "absorption_months": 6,
        "unit_price": Decimal("9.80"),
    },
}

# (product key, location index by name, lot number, expires in days from the first run,
#  quantity). London sorts first, New York second.
LOTS: list[tuple[str, int, str, int, int]] = [
    ("mono", 0, "LM24-1187", 420, 60),
    ("mono", 0, "LM24-0953", 12, 15),  # expiring soon: use first
    ("screw", 0, "LT24-2210", 510, 40),
    ("screw", 0, "LT23-1874", -20, 5),  # already expired: kept for recalls
    ("cog19", 0, "NA-7741-B", 380, 30),
    ("cog21", 0, "NA-7802-A", 455, 24),
    ("cone", 0, "CC-2406-117", 610, 12),
    ("pcl", 0, "CL-2405-033", 700, 16),
    ("plcl", 0, "VD-55102", 540, 20),
    ("mesh", 0, "VM-30418", 365, 50),
    ("mono", 1, "LM24-1190", 430, 50),
    ("screw", 1, "LT24-2214", 500, 36),
    ("cog19", 1, "NA-7741-C", 25, 8),  # expiring soon
    ("cog19", 1, "NA-7790-A", 400, 30),
    ("cog21", 1, "NA-7802-B", 450, 20),
    ("cone", 1, "CC-2406-121", 600, 10),
    ("pcl", 1, "CL-2405-034", 690, 6),  # the low-stock product: reorder
    ("plcl", 1, "VD-55107", 530, 18),
    ("mesh", 1, "VM-30422", 360, 40),
]

# Right-side vectors (x below 0.5); the left side mirrors them. Placed on the planner's
# drawing (static/img/face-front.svg): ear front at x 0.22, nasolabial fold near x 0.4 from
# the nose base (y 0.58) down, jaw from (0.25, 0.65) to the chin (0.5, 0.85).
MIDFACE_RIGHT = [
    ((0.235, 0.29), (0.41, 0.58)),
    ((0.235, 0.33), (0.395, 0.63)),
    ((0.235, 0.37), (0.385, 0.68)),
    ((0.235, 0.41), (0.385, 0.74)),
]
JAWLINE_RIGHT = [
    ((0.24, 0.50), (0.32, 0.77)),
    ((0.25, 0.55), (0.38, 0.80)),
    ((0.26, 0.60), (0.44, 0.82)),
]
PRESETS = [
    (
        "Midface lift, 4 cogs per side",
        "Four bidirectional PDO cogs per side from in front of the ear towards the "
        "nasolabial fold, subcutaneous.",
        "midface",
        "cog19",
        MIDFACE_RIGHT,
        "Enter in front of the ear at the temple; fixation towards the nasolabial fold.",
    ),
    (
        "Jawline definition, 3 cogs per side",
        "Three bidirectional PDO cogs per side from in front of the ear along the jowl, "
        "subcutaneous.",
        "jawline",
        "cog21",
        JAWLINE_RIGHT,
        "Enter in front of the ear; keep above the mandibular border.",
    ),
]


def load_demo_treatments() -> int:
    """Create the missing demo products, lots and presets; return how many were created.

    Also loads the aftercare instructions and the consent form (each loader
    counts its own; they are not in the returned count).
    """
    products, created = _products()
    created += _lots(products)
    created += _presets(products)
    load_demo_aftercare()
    load_demo_consent()
    return created


def _products() -> tuple[dict[str, ThreadProduct], int]:
    products, created = {}, 0
    for key, spec in PRODUCTS.items():
        product = ThreadProduct.objects.filter(
            manufacturer=spec["manufacturer"], name=spec["name"]
        ).first()
        if product is None:
            product = ThreadProduct(**spec)
            product.full_clean()
            product.save()
            created += 1
        products[key] = product
    return products, created


def _lots(products: dict[str, ThreadProduct]) -> int:
    locations = list(Location.objects.filter(is_active=True).order_by("name"))
    manager = StaffMember.objects.filter(role=Role.MANAGER).select_related("user").first()
    actor = Actor.system(user=manager.user if manager else None)
    today = timezone.localdate()
    created = 0
    for key, index, lot_number, expires_in, quantity in LOTS:
        if index >= len(locations):
            continue
        product, location = products[key], locations[index]
        if StockLot.objects.filter(
            product=product, location=location, lot_number=lot_number
        ).exists():
            continue
        if expires_in < 0:
            # A lot that expired on the shelf: received long ago, when it was in date
            # (the service refuses expired deliveries), kept for recall look-ups.
            StockLot.objects.create(
                product=product,
                location=location,
                lot_number=lot_number,
                expires_on=today + timedelta(days=expires_in),
                quantity_received=quantity,
                quantity_on_hand=quantity,
                received_on=today + timedelta(days=expires_in - 365),
            )
        else:
            stock_services.receive_stock(
                product=product,
                location=location,
                lot_number=lot_number,
                expires_on=today + timedelta(days=expires_in),
                quantity=quantity,
                actor=actor,
            )
        created += 1
    return created


def preset_vectors(
    area: str, product: ThreadProduct, right_side: list, notes: str
) -> list[dict[str, Any]]:
    """Vectors in the planner's format: the right side as given, then the left mirrored."""
    vectors = []
    for side, mirror in ((Side.RIGHT, False), (Side.LEFT, True)):
        for number, (entry, end) in enumerate(right_side):
            if mirror:
                entry, end = (1 - entry[0], entry[1]), (1 - end[0], end[1])
            vectors.append(
                {
                    "area": area,
                    "side": side.value,
                    "product": product.pk,
                    "count": 1,
                    "view": DiagramView.FRONT.value,
                    "entry": [round(entry[0], 3), round(entry[1], 3)],
                    "end": [round(end[0], 3), round(end[1], 3)],
                    "depth": Depth.SUBCUTANEOUS.value,
                    "notes": notes if number == 0 else "",
                }
            )
    return vectors


def _presets(products: dict[str, ThreadProduct]) -> int:
    created = 0
    for name, description, area, product_key, right_side, notes in PRESETS:
        if ProtocolPreset.objects.filter(name=name).exists():
            continue
        vectors = preset_vectors(area, products[product_key], right_side, notes)
        plan_services.clean_vectors(vectors)  # the same check the admin and the planner make
        ProtocolPreset.objects.create(name=name, description=description, vectors=vectors)
        created += 1
    return created


# Aftercare instructions: (period, material, area, text). A blank material or area
# applies to every one. Positions follow the order listed within each period.
P = AftercarePeriod
AFTERCARE: list[tuple[str, str, str, str]] = [
    (
        P.FIRST_DAY,
        "",
        "",
        "Hold a cold pack wrapped in a clean cloth on the treated areas for 10 minutes at a "
        "time, several times today. It eases swelling and bruising.",
    ),
    (
        P.FIRST_DAY,
        "",
        "",
        "Do not wash the treated areas or wear make-up for 12 hours. After that, wash with "
        "lukewarm water and pat dry; do not rub.",
    ),
    (
        P.FIRST_DAY,
        "",
        "",
        "For pain, take paracetamol as the packet says. Avoid aspirin, ibuprofen and alcohol "
        "for 24 hours unless a doctor told you to take them: they make bruising worse.",
    ),
    (
        P.FIRST_DAY,
        "",
        "",
        "Keep the small entry points clean and dry. Do not pick at any scabs.",
    ),
    (
        P.FIRST_DAY,
        "",
        FacialArea.NECK,
        "Keep your head upright today and avoid bending your neck sharply forwards.",
    ),
    (
        P.FIRST_NIGHTS,
        "",
        "",
        "Sleep on your back with your head raised on two pillows. Do not sleep on your side "
        "or face down: pressure can move the threads before they settle.",
    ),
    (
        P.FIRST_NIGHTS,
        "",
        "",
        "Do not rest your face on your hands, and take care when pulling clothes on over "
        "your head.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Do not massage, rub or press on your face. Wash and apply skincare with light "
        "strokes only.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Avoid opening your mouth very wide: no dental treatment, and take care with big "
        "bites, yawning and chewing gum.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Avoid strenuous exercise, saunas, steam rooms, hot baths and swimming pools.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Do not have facials, facial massage, microneedling, laser, radiofrequency or "
        "ultrasound treatments.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.MIDFACE,
        "Try not to make big facial expressions such as wide smiles or laughing hard: they "
        "pull on the new threads in your cheeks.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.BROW,
        "Do not wear tight hats, headbands or swimming goggles.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.JAWLINE,
        "Avoid chewy or hard food (steak, crusty bread, toffee) and chew gently on both sides.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.NECK,
        "Avoid turning your head sharply and wearing tight collars or scarves.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        Material.PLLA,
        "",
        "You may feel small firm bumps where the cones hold: this is expected. Do not press "
        "or massage them; they soften over the coming weeks.",
    ),
    (
        P.WEEKS_TWO_TO_FOUR,
        "",
        "",
        "You can return to gentle exercise. Build up gradually and stop if the treated "
        "areas feel sore.",
    ),
    (
        P.WEEKS_TWO_TO_FOUR,
        "",
        "",
        "You can use your usual skincare and make-up. Wait until four weeks have passed "
        "before any facial massage or facial treatment.",
    ),
    (
        P.WEEKS_TWO_TO_FOUR,
        "",
        "",
        "Tell your dentist you have threads in your face. Keep long appointments with "
        "your mouth held wide open until after the fourth week if you can.",
    ),
    (
        P.AFTER_A_MONTH,
        "",
        "",
        "Most restrictions end now. Other treatments (fillers, toxin, energy devices) can "
        "be planned with your practitioner.",
    ),
    (
        P.AFTER_A_MONTH,
        "",
        "",
        "Protect your skin from the sun every day with a broad-spectrum SPF 30 or higher.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.PDO,
        "",
        "PDO threads dissolve gradually over about 6 to 8 months. The new collagen they "
        "stimulate keeps supporting the skin after that.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.PLLA,
        "",
        "PLLA threads dissolve over about 12 to 18 months and keep stimulating collagen: "
        "the result builds up gradually over the first 3 months.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.PCL,
        "",
        "PCL threads dissolve slowly, over about 2 years. The result builds up gradually "
        "as new collagen forms.",
    ),
]


def load_demo_aftercare() -> int:
    """Create the missing demo aftercare instructions; return how many were created."""
    existing = set(AftercareTemplate.objects.values_list("period", "material", "area", "text"))
    positions: dict[str, int] = {}
    created = 0
    for period, material, area, text in AFTERCARE:
        position = positions[period] = positions.get(period, -1) + 1
        if (str(period), str(material), str(area), text) in existing:
            continue
        template = AftercareTemplate(
            period=period, material=material, area=area, text=text, position=position
        )
        template.full_clean()
        template.save()
        created += 1
    return created


CONSENT_CODE = "thread-lift"
CONSENT_BODY = """\
I, {patient}, consent to {procedure} of the following areas: {areas}, using {products}, \
performed by {practitioner}.

The procedure has been explained to me: absorbable threads are placed under the skin through \
a fine needle or cannula, after local anaesthetic, to lift lax tissue and stimulate collagen. \
The threads dissolve over months; the lift is partial and temporary, and results vary from \
person to person. No particular result has been promised to me.

I have given a full and true medical history, including medicines, allergies, previous \
fillers, threads and facial surgery. I understand the risks listed below, each of which I \
have initialled, and that rare complications may need further treatment, including removal \
of threads. I have been told about the alternatives, including having no treatment.

I will follow the aftercare instructions I am given and contact the clinic about any warning \
sign. I have had the chance to ask questions and I am satisfied with the answers. I understand \
that I can withdraw my consent at any time before the treatment begins."""
CONSENT_ALTERNATIVES = (
    "No treatment.\n"
    "Dermal fillers, to restore volume rather than lift.\n"
    "Energy devices (radiofrequency, high-intensity focused ultrasound) to tighten the skin.\n"
    "A surgical facelift or neck lift, for a larger and longer-lasting result."
)


def load_demo_consent() -> int:
    """Publish the demo consent form unless one is current; return how many were published."""
    if ConsentTemplate.objects.filter(code=CONSENT_CODE, is_current=True).exists():
        return 0
    manager = StaffMember.objects.filter(role=Role.MANAGER).select_related("user").first()
    consent_services.publish_consent_template(
        code=CONSENT_CODE,
        title="Consent to a thread lift",
        body=CONSENT_BODY,
        risks=list(DEFAULT_RISKS),
        alternatives=CONSENT_ALTERNATIVES,
        actor=Actor.system(user=manager.user if manager else None),
    )
    return 1
