from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from clinic.models import AuditAction, AuditEvent, Location
from clinic.site.demo import load_demo_clinic
from treatments.demo import load_demo_treatments
from treatments.models import (
    DIAGRAM_MM_PER_UNIT,
    Material,
    ProtocolPreset,
    StockLot,
    ThreadProduct,
    ThreadVector,
)
from treatments.selectors import EXPIRING_WITHIN_DAYS
from treatments.services import plans as plan_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_clinic():
    load_demo_clinic()


def counts():
    return [
        ThreadProduct.objects.count(),
        StockLot.objects.count(),
        ProtocolPreset.objects.count(),
        AuditEvent.objects.count(),
    ]


def test_demo_treatments_load_once_and_a_second_run_adds_nothing(demo_clinic):
    created = load_demo_treatments()
    before = counts()
    assert created == sum(before[:3])
    assert load_demo_treatments() == 0
    assert counts() == before


def test_the_demo_range_spans_pdo_plla_and_pcl_from_several_manufacturers(demo_clinic):
    load_demo_treatments()
    products = ThreadProduct.objects.all()
    assert {Material.PDO, Material.PLLA, Material.PCL} <= {p.material for p in products}
    assert {p.thread_type for p in products} >= {"mono", "screw", "cog_bi", "mesh"}
    assert products.values("manufacturer").distinct().count() >= 3
    assert all(p.unit_price > 0 and p.absorption_months > 0 for p in products)


def test_demo_stock_is_received_through_the_service_at_every_location(demo_clinic):
    load_demo_treatments()
    for location in Location.objects.all():
        assert StockLot.objects.filter(location=location).exists(), location
    received = AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="treatments.StockLot"
    )
    # Every lot in date was received through the service; the one that expired on
    # the shelf predates it (the service refuses expired deliveries).
    in_date = StockLot.objects.filter(expires_on__gte=timezone.localdate())
    assert received.count() == in_date.count() == StockLot.objects.count() - 1


def test_demo_stock_has_lots_expiring_soon_an_expired_lot_and_a_low_stock_product(demo_clinic):
    load_demo_treatments()
    today = timezone.localdate()
    lots = StockLot.objects.all()
    assert lots.filter(expires_on__lt=today).count() == 1
    assert lots.filter(
        expires_on__gte=today, expires_on__lte=today + timedelta(days=EXPIRING_WITHIN_DAYS)
    ).exists()
    low = []
    for location in Location.objects.all():
        for product in ThreadProduct.objects.filter(lots__location=location).distinct():
            on_hand = sum(
                lot.quantity_on_hand
                for lot in lots.filter(location=location, product=product, expires_on__gte=today)
            )
            if on_hand < product.reorder_level:
                low.append((location.name, product.name))
    assert len(low) == 1, low


def test_the_presets_pass_the_planners_vector_check_and_fit_their_products(demo_clinic):
    load_demo_treatments()
    presets = {preset.name: preset for preset in ProtocolPreset.objects.all()}
    assert set(presets) == {"Midface lift, 4 cogs per side", "Jawline definition, 3 cogs per side"}
    per_side = {"Midface lift, 4 cogs per side": 4, "Jawline definition, 3 cogs per side": 3}
    for name, preset in presets.items():
        cleaned = plan_services.clean_vectors(preset.vectors)
        for side in ("left", "right"):
            assert sum(v["count"] for v in cleaned if v["side"] == side) == per_side[name]
        for vector in cleaned:
            assert vector["view"] == "front"
            # On the planner's face: between the ears, hairline (0.045) to chin (0.85).
            for x, y in (vector["entry"], vector["end"]):
                assert 0.2 <= x <= 0.8 and 0.045 <= y <= 0.85
            # Right side left of the midline, as the reader faces the patient.
            assert (vector["entry"][0] < 0.5) == (vector["side"] == "right")


def test_the_demo_presets_draw_vectors_their_threads_can_reach(demo_clinic):
    """No length warning: each preset vector suits its product at the average face's scale."""
    load_demo_treatments()
    for preset in ProtocolPreset.objects.all():
        for vector in plan_services.clean_vectors(preset.vectors):
            drawn = ThreadVector(
                area=vector["area"],
                side=vector["side"],
                product=vector["product"],
                count=vector["count"],
                entry_x=vector["entry"][0],
                entry_y=vector["entry"][1],
                end_x=vector["end"][0],
                end_y=vector["end"][1],
            )
            assert plan_services.vector_warnings(drawn, DIAGRAM_MM_PER_UNIT) == [], preset.name


def test_the_demo_command_loads_the_treatments_once(settings, private_media, capsys):
    settings.DEBUG = True  # the command refuses to run with DEBUG off
    call_command("load_demo_data")
    assert "thread products, stock lots and presets" in capsys.readouterr().out
    before = counts()
    assert before[0] >= 8 and before[1] >= 10 and before[2] == 2
    call_command("load_demo_data")
    assert "already present" in capsys.readouterr().out
    assert counts()[:3] == before[:3]
