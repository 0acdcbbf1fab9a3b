"""Demo products, stock and protocol presets for `manage.py load_demo_data`.

The manufacturers are invented; the range is what a thread-lift clinic stocks:
PDO mono, screw, cog and mesh threads, a PLLA cone thread, a PCL cog and a
P(LA/CL) cog. Stock goes in through treatments.services.receive_stock, as a
delivery would, so lots are audited like real ones. Deterministic, and
idempotent: a second run adds nothing.

The presets, aftercare and consent form come from treatments.default_content,
the same code `setup_clinic` installs them with.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from clinic.actors import Actor
from clinic.models import Location, StaffMember
from clinic.roles import Role
from treatments import default_content
from treatments.models import (
    Delivery,
    Material,
    StockLot,
    ThreadProduct,
    ThreadType,
)
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


def load_demo_treatments(*, today: date | None = None) -> int:
    """Create the missing demo products, lots and presets; return how many were created.

    Lot expiry dates count from `today` (the day the demo is loaded; the clock may read an
    earlier day, when the demo clinic received its stock). The presets, the aftercare
    instructions and the consent form are the default clinical content a real clinic gets
    from `setup_clinic` too, installed by the same code (treatments.default_content); the
    aftercare and the consent form are not in the returned count.
    """
    products, created = _products()
    created += _lots(products, today=today or timezone.localdate())
    created += default_content.install_protocol_presets()[0]
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


def _lots(products: dict[str, ThreadProduct], *, today: date) -> int:
    locations = list(Location.objects.filter(is_active=True).order_by("name"))
    manager = StaffMember.objects.filter(role=Role.MANAGER).select_related("user").first()
    actor = Actor.system(user=manager.user if manager else None)
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


def load_demo_aftercare() -> int:
    """The default aftercare instructions (treatments.default_content); how many were created."""
    return default_content.install_aftercare()


def load_demo_consent() -> int:
    """The default consent form unless one is current; how many were published."""
    manager = StaffMember.objects.filter(role=Role.MANAGER).select_related("user").first()
    return default_content.install_consent_form(
        actor=Actor.system(user=manager.user if manager else None)
    )
