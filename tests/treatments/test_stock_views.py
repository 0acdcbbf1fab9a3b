from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.locations import SESSION_KEY
from clinic.models import AuditAction, AuditEvent, Role
from tests.factories import (
    LocationFactory,
    StaffMemberFactory,
    StockLotFactory,
    ThreadProductFactory,
)
from tests.recipes import screened_patient
from treatments.models import StockLot, ThreadProduct
from treatments.selectors import EXPIRING_WITHIN_DAYS, stock_alerts
from treatments.services import plans as plan_services
from treatments.services import recalls as recall_services
from treatments.services import stock as stock_services

pytestmark = pytest.mark.django_db

STOCK_PAGES = ["treatments:stock_overview", "treatments:receive_lot", "treatments:lot_trace"]


def make_product(name, **extra):
    return ThreadProductFactory(
        manufacturer="Testwell Sutures",
        name=name,
        thread_length_mm=150,
        unit_price=Decimal("40.00"),
        **extra,
    )


@pytest.fixture
def cog(db):
    return make_product("PDO Cog 19G 100")


@pytest.fixture
def mono(db):
    return make_product("PDO Mono 29G 38", thread_type="mono")


@pytest.fixture
def elsewhere(db):
    # Sorts after "Threadline Test Clinic", so the test clinic stays the default location.
    return LocationFactory(name="Zeta Clinic")


def receive(product, location, lot_number, days, quantity=20, user=None):
    """A lot received through the service, expiring `days` from today.

    A lot already expired cannot be received (the service refuses it): it is
    written as it would stand after expiring on the shelf.
    """
    if days < 0:
        return StockLotFactory(
            product=product,
            location=location,
            lot_number=lot_number,
            expires_on=timezone.localdate() + timedelta(days=days),
            quantity_received=quantity,
            quantity_on_hand=quantity,
        )
    return stock_services.receive_stock(
        product=product,
        location=location,
        lot_number=lot_number,
        expires_on=timezone.localdate() + timedelta(days=days),
        quantity=quantity,
        actor=Actor.system(user=user),
    )


def today_in(location):
    return timezone.localdate(timezone=location.zone)


# Roles --------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", STOCK_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url_name", STOCK_PAGES)
@pytest.mark.parametrize(
    ("role", "status"), [(Role.FRONT_DESK, 403), (Role.PRACTITIONER, 403), (Role.MANAGER, 200)]
)
def test_only_managers_open_the_stock_pages(client, users_by_role, url_name, role, status):
    client.force_login(users_by_role[role])
    assert client.get(reverse(url_name)).status_code == status


def test_front_desk_and_practitioners_cannot_receive_stock(
    client, frontdesk_user, practitioner_user, cog
):
    for user in (frontdesk_user, practitioner_user):
        client.force_login(user)
        response = client.post(reverse("treatments:receive_lot"), valid_delivery(cog))
        assert response.status_code == 403
    assert not StockLot.objects.exists()


# Overview -----------------------------------------------------------------------------


def test_the_overview_lists_lots_expiring_soon_low_stock_and_expired_lots_apart(
    client, manager_user, location, cog, mono
):
    soon = receive(cog, location, "COG-SOON", 5, quantity=12)
    later = receive(cog, location, "COG-LATER", EXPIRING_WITHIN_DAYS + 10, quantity=30)
    edge = receive(mono, location, "MONO-EDGE", EXPIRING_WITHIN_DAYS, quantity=4)
    expired = receive(mono, location, "MONO-OLD", -1, quantity=50)
    client.force_login(manager_user)
    response = client.get(reverse("treatments:stock_overview"))
    context = response.context
    assert context["alerts"].expiring_soon == [soon, edge]
    assert context["in_date"] == [soon, edge, later]
    assert context["expired"] == [expired]
    # Mono: 4 in date (the expired 50 do not count); cog: 42.
    assert [(e.product, e.on_hand) for e in context["alerts"].low_stock] == [(mono, 4)]
    html = response.content.decode()
    assert "MONO-OLD" in html and "COG-LATER" in html
    assert "Below the reorder level" in html


def test_the_overview_shows_the_current_locations_lots_only(
    client, manager_user, location, elsewhere, cog
):
    receive(cog, location, "LOCAL-1", 200)
    receive(cog, elsewhere, "ZETA-1", 200, quantity=2)
    client.force_login(manager_user)
    html = client.get(reverse("treatments:stock_overview")).content.decode()
    assert "LOCAL-1" in html
    assert "ZETA-1" not in html

    session = client.session
    session[SESSION_KEY] = elsewhere.pk
    session.save()
    response = client.get(reverse("treatments:stock_overview"))
    html = response.content.decode()
    assert "ZETA-1" in html and "LOCAL-1" not in html
    assert [e.on_hand for e in response.context["alerts"].low_stock] == [2]


def test_the_overview_costs_the_same_queries_however_many_lots(
    client, manager_user, location, cog, mono
):
    client.force_login(manager_user)
    url = reverse("treatments:stock_overview")
    receive(cog, location, "Q-1", 10)
    client.get(url)  # warm the session and permission caches alike
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(12):
        receive(mono if n % 2 else cog, location, f"Q-{n + 2}", n * 9 - 20)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


# Receiving ----------------------------------------------------------------------------


def valid_delivery(of, location=None, **changes):
    expires = (today_in(location) if location else timezone.localdate()) + timedelta(days=365)
    return {
        "product": of.pk,
        "lot_number": "NA-7741-B",
        "expires_on": expires.isoformat(),
        "quantity": "25",
        **changes,
    }


def test_receiving_a_lot_books_it_in_at_the_current_location_and_is_audited(
    client, manager_user, location, cog
):
    client.force_login(manager_user)
    response = client.post(reverse("treatments:receive_lot"), valid_delivery(cog, location))
    assert response.status_code == 302
    assert response["Location"] == reverse("treatments:stock_overview")
    lot = StockLot.objects.get()
    assert (lot.product, lot.location, lot.lot_number) == (cog, location, "NA-7741-B")
    assert lot.quantity_received == lot.quantity_on_hand == 25
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_id=str(lot.pk))
    assert event.object_type == "treatments.StockLot"
    assert event.actor == manager_user
    assert "NA-7741-B" in event.summary


def test_a_lot_expiring_today_can_still_be_received(client, manager_user, location, cog):
    client.force_login(manager_user)
    today = today_in(location).isoformat()
    client.post(reverse("treatments:receive_lot"), valid_delivery(cog, expires_on=today))
    assert StockLot.objects.get().expires_on.isoformat() == today


def test_the_same_lot_number_may_arrive_for_another_product_or_at_another_location(
    client, manager_user, location, elsewhere, cog, mono
):
    receive(cog, location, "NA-7741-B", 300)
    receive(cog, elsewhere, "SHARED-9", 300)
    client.force_login(manager_user)
    client.post(reverse("treatments:receive_lot"), valid_delivery(mono, location))
    client.post(
        reverse("treatments:receive_lot"), valid_delivery(cog, location, lot_number="SHARED-9")
    )
    assert StockLot.objects.filter(location=location).count() == 3


@pytest.fixture
def retired(db):
    return make_product("Old Screw 25G", thread_type="screw", is_active=False)


BAD_INPUT = [
    ("expired", {"expires_on": "yesterday"}, "expired stock cannot be received"),
    ("no expiry", {"expires_on": ""}, "Type the expiry date"),
    ("nonsense expiry", {"expires_on": "31/02/2027"}, "Type the expiry date as a date"),
    ("zero", {"quantity": "0"}, "whole number of threads from 1 to 10,000"),
    ("negative", {"quantity": "-1"}, "whole number of threads from 1 to 10,000"),
    ("huge", {"quantity": str(10**9)}, "whole number of threads from 1 to 10,000"),
    ("words", {"quantity": "abc"}, "whole number of threads from 1 to 10,000"),
    ("unknown product", {"product": "999999"}, "Choose one of the products in use"),
    ("retired product", {"product": "retired"}, "Choose one of the products in use"),
    ("no product", {"product": ""}, "Choose the product delivered"),
    ("no lot", {"lot_number": "   "}, "Type the lot number"),
    ("long lot", {"lot_number": "L" * 61}, "at most 60 characters"),
    ("duplicate", {"lot_number": "DUP-1"}, "already received"),
    ("duplicate in other case", {"lot_number": "dup-1"}, "already received"),
]


@pytest.mark.parametrize(("case", "changes", "message"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_deliveries_get_a_clear_error_and_save_nothing(
    client, manager_user, location, cog, retired, case, changes, message
):
    receive(cog, location, "DUP-1", 100)
    changes = dict(changes)
    if changes.get("expires_on") == "yesterday":
        changes["expires_on"] = (today_in(location) - timedelta(days=1)).isoformat()
    if changes.get("product") == "retired":
        changes["product"] = retired.pk
    before = (StockLot.objects.count(), AuditEvent.objects.filter(action="create").count())
    client.force_login(manager_user)
    response = client.post(reverse("treatments:receive_lot"), valid_delivery(cog, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Nothing was received" in response.content.decode()
    after = (StockLot.objects.count(), AuditEvent.objects.filter(action="create").count())
    assert after == before


def test_markup_typed_as_a_lot_number_is_refused_and_shown_as_text(client, manager_user, cog):
    client.force_login(manager_user)
    hostile = '<img src=x onerror="alert(1)">'
    response = client.post(
        reverse("treatments:receive_lot"), valid_delivery(cog, lot_number=hostile)
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "uses only letters, digits" in html
    assert hostile not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert not StockLot.objects.exists()


def test_the_receive_form_offers_active_products_only(client, manager_user, cog, retired):
    client.force_login(manager_user)
    html = client.get(reverse("treatments:receive_lot")).content.decode()
    assert cog.name in html
    assert retired.name not in html


# Tracing ------------------------------------------------------------------------------


@pytest.fixture
def doctor(location, elsewhere):
    return StaffMemberFactory(role=Role.PRACTITIONER, locations=[location, elsewhere])


def plan_with(doctor, location, product, **names):
    patient = screened_patient(doctor, **names)
    plan = plan_services.create_plan(
        patient=patient,
        practitioner=doctor,
        location=location,
        actor=Actor.system(user=doctor.user),
    )
    vector = {
        "area": "midface",
        "side": "left",
        "product": product.pk,
        "count": 2,
        "view": "front",
        "entry": [0.7, 0.35],
        "end": [0.6, 0.68],
        "depth": "subcutaneous",
    }
    return plan_services.save_plan(
        plan=plan, revision=plan.revision, vectors=[vector], actor=Actor.system(user=doctor.user)
    )


def trace(client, user, lot):
    client.force_login(user)
    return client.get(reverse("treatments:lot_trace"), {"lot": lot})


def test_a_trace_finds_the_plans_using_the_lots_product_at_its_location_only(
    client, manager_user, doctor, location, elsewhere, cog, mono
):
    receive(cog, location, "NA-100", 300)
    here = plan_with(doctor, location, cog, first_name="Harriet", last_name="Vane")
    plan_with(doctor, location, mono, first_name="Monica", last_name="Other")
    plan_with(doctor, elsewhere, cog, first_name="Zed", last_name="Elsewhere")
    response = trace(client, manager_user, "NA-100")
    assert response.status_code == 200
    [found] = response.context["traces"]
    assert found.plans == [here]
    html = response.content.decode()
    assert "Harriet Vane" in html and here.patient.record_number in html
    assert "Version 1" in html and "Draft" in html
    assert str(doctor) in html
    # Whole names: a generated staff name may be "Monica" too.
    assert "Monica Other" not in html and "Zed Elsewhere" not in html
    assert "Patients who received this lot are listed once treatment sessions are recorded" in html


def test_a_trace_leaves_out_plans_made_after_the_lot_expired(
    client, manager_user, doctor, location, cog
):
    receive(cog, location, "OLD-7", -1)
    plan_with(doctor, location, cog)  # made today: the lot had expired
    [found] = trace(client, manager_user, "OLD-7").context["traces"]
    assert found.plans == []


def test_a_trace_matches_the_whole_lot_number_in_any_case_across_my_locations(
    client, manager_user, location, elsewhere, cog, mono
):
    here = receive(cog, location, "NA-100", 300)
    there = receive(mono, elsewhere, "na-100", 300)
    receive(cog, location, "NA-1000", 300)
    receive(cog, location, "NAX100", 300)
    found = trace(client, manager_user, "Na-100").context["traces"]
    assert {t.lot for t in found} == {here, there}
    for partial in ("NA-10", "NA-1%", "NA_100"):
        response = trace(client, manager_user, partial)
        assert response.context["traces"] == [], partial
        assert "No lot numbered" in response.content.decode()


def test_a_trace_never_reaches_a_location_the_user_does_not_work_at(
    client, manager_user, location, cog
):
    closed = LocationFactory(name="Closed Clinic", is_active=False)
    receive(cog, closed, "GONE-1", 300)
    assert trace(client, manager_user, "GONE-1").context["traces"] == []


def test_a_trace_is_audited_naming_the_lot_and_on_each_listed_patients_trail(
    client, manager_user, doctor, location, cog
):
    receive(cog, location, "NA-100", 300)
    plan = plan_with(doctor, location, cog)
    trace(client, manager_user, "NA-100")
    event = AuditEvent.objects.get(action=AuditAction.VIEW, summary__startswith="Traced lot")
    assert event.actor == manager_user
    assert event.summary == "Traced lot NA-100: 1 lot(s), 1 plan(s), 1 patient(s)"
    listed = AuditEvent.objects.get(action=AuditAction.VIEW, patient_id=plan.patient_id)
    assert listed.actor == manager_user
    assert listed.object_id == str(plan.pk)
    assert "NA-100" in listed.summary


def test_opening_the_trace_page_without_a_lot_traces_nothing(client, manager_user):
    client.force_login(manager_user)
    response = client.get(reverse("treatments:lot_trace"))
    assert response.status_code == 200
    assert response.context["traces"] is None
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW).exists()


@pytest.mark.parametrize("query", ["", "   ", "X" * 61])
def test_an_empty_or_overlong_lot_number_gets_a_clear_error(client, manager_user, query):
    response = trace(client, manager_user, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Type the lot number to trace" in html or "at most 60 characters" in html
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW).exists()


def test_a_hostile_lot_query_is_shown_as_text(client, manager_user):
    response = trace(client, manager_user, "<b>bold</b>")
    html = response.content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>bold</b>" not in html


# Alerts -----------------------------------------------------------------------------------


def test_alerts_use_each_products_own_reorder_level_and_count_only_usable_threads(
    client, manager_user, location, cog, mono
):
    ThreadProduct.objects.filter(pk=cog.pk).update(reorder_level=50)
    ThreadProduct.objects.filter(pk=mono.pk).update(reorder_level=5)
    receive(cog, location, "COG-1", 200, quantity=40)
    receive(mono, location, "MONO-1", 200, quantity=6)
    quarantined = receive(mono, location, "MONO-Q", 200, quantity=30)
    stock_services.change_lot_status(
        lot=quarantined, status="quarantined", reason="Damp", actor=Actor.system(user=manager_user)
    )
    client.force_login(manager_user)

    response = client.get(reverse("treatments:stock_overview"))

    low = [(entry.product, entry.on_hand) for entry in response.context["alerts"].low_stock]
    assert low == [(cog, 40)]  # mono: 6 usable, at or above its level of 5
    rows = response.content.decode()
    assert "Below the reorder level" in rows and ">50<" in rows
    assert "Quarantined" in rows  # the lot's status is shown in its row
    ThreadProduct.objects.filter(pk=mono.pk).update(reorder_level=10)
    again = client.get(reverse("treatments:stock_overview")).context["alerts"].low_stock
    # The 30 quarantined threads do not keep mono off the list.
    assert [(entry.product, entry.on_hand) for entry in again] == [(mono, 6), (cog, 40)]


def test_open_recalls_are_alerted_on_the_stock_page(client, manager_user, location, cog):
    lot = receive(cog, location, "COG-R", 200)
    recall = recall_services.open_recall(
        lot=lot,
        reason="Field safety notice FSN-9",
        announced_on=timezone.localdate(timezone=location.zone),
        actor=Actor.system(user=manager_user),
    )
    client.force_login(manager_user)

    response = client.get(reverse("treatments:stock_overview"))

    assert response.context["alerts"].open_recalls == [recall]
    page = response.content.decode()
    assert "Recall of lot COG-R" in page and "Field safety notice FSN-9" in page
    assert reverse("treatments:recall_detail", args=[recall.pk]) in page


def test_stock_alerts_take_the_same_two_queries_however_many_lots_and_recalls(
    location, cog, mono, manager_user, django_assert_num_queries
):
    actor = Actor.system(user=manager_user)
    receive(cog, location, "FIRST", 10, quantity=3)
    with django_assert_num_queries(2):
        few = stock_alerts(location)
    for number in range(6):
        lot = receive(mono if number % 2 else cog, location, f"MORE-{number}", 5 + number)
        recall_services.open_recall(
            lot=lot,
            reason="FSN",
            announced_on=timezone.localdate(timezone=location.zone),
            actor=actor,
        )
    with django_assert_num_queries(2):
        many = stock_alerts(location)
    assert len(few.expiring_soon) == 1 and few.open_recalls == []
    assert len(many.open_recalls) == 6
    # Recalled lots are not "use first": they cannot be used at all.
    assert [lot.lot_number for lot in many.expiring_soon] == ["FIRST"]
