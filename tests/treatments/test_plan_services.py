from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services as consultation_services
from tests.factories import (
    PatientFactory,
    StaffMemberFactory,
    StockLotFactory,
    ThreadProductFactory,
)
from tests.recipes import photography_consent, screened_patient
from treatments.models import PlanStatus, ThreadProduct, TreatmentPlan
from treatments.selectors import usable_stock
from treatments.services import plans as plan_services
from treatments.services import stock as stock_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def doctor(location):
    return StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])


@pytest.fixture
def cog():
    return ThreadProductFactory(name="PDO Cog 19G 100")


@pytest.fixture
def plan(doctor, location):
    patient = screened_patient(doctor)
    return plan_services.create_plan(
        patient=patient,
        practitioner=doctor,
        location=location,
        actor=Actor.system(user=doctor.user),
    )


def vector(product, *, side="left", entry=(0.30, 0.55), end=(0.30, 0.15), count=2, **extra):
    return {
        "area": "midface",
        "side": side,
        "product": product.pk,
        "count": count,
        "view": "front",
        "entry": list(entry),
        "end": list(end),
        "depth": "subcutaneous",
        "notes": "",
        **extra,
    }


def test_a_plan_starts_only_through_the_screening_gate(doctor, location):
    unscreened = PatientFactory()
    with pytest.raises(ValidationError, match="not been screened"):
        plan_services.create_plan(
            patient=unscreened,
            practitioner=doctor,
            location=location,
            actor=Actor.system(user=doctor.user),
        )
    undecided = screened_patient(doctor, decision=None)
    with pytest.raises(ValidationError, match="no decision"):
        plan_services.create_plan(
            patient=undecided,
            practitioner=doctor,
            location=location,
            actor=Actor.system(user=doctor.user),
        )
    assert TreatmentPlan.objects.count() == 0


def test_a_new_plan_is_a_draft_version_one_tied_to_its_screening(plan):
    assert (plan.version, plan.status, plan.series_id) == (1, PlanStatus.DRAFT, plan.pk)
    assert plan.screening.decision == "accepted"
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, summary__contains="plan").exists()


def test_saving_replaces_the_vectors_and_bumps_the_revision(plan, cog, doctor):
    saved = plan_services.save_plan(
        plan=plan,
        revision=1,
        vectors=[vector(cog), vector(cog, side="right")],
        actor=Actor.system(user=doctor.user),
    )
    assert saved.revision == 2
    assert [(v.side, v.count) for v in saved.vectors.all()] == [("left", 2), ("right", 2)]
    saved = plan_services.save_plan(
        plan=saved, revision=2, vectors=[vector(cog)], actor=Actor.system(user=doctor.user)
    )
    assert saved.vectors.count() == 1


def test_a_stale_revision_is_a_conflict_and_changes_nothing(plan, cog, doctor):
    plan_services.save_plan(
        plan=plan, revision=1, vectors=[vector(cog)], actor=Actor.system(user=doctor.user)
    )
    with pytest.raises(plan_services.PlanConflict) as conflict:
        plan_services.save_plan(
            plan=plan,
            revision=1,
            vectors=[vector(cog), vector(cog)],
            actor=Actor.system(user=doctor.user),
        )
    assert conflict.value.plan.revision == 2
    assert TreatmentPlan.objects.get(pk=plan.pk).vectors.count() == 1


BAD_VECTORS = [
    ("NOT_A_LIST", "must be a list"),
    ("NOT_AN_OBJECT", "must be an object"),
    ("MISSING_FIELDS", "is missing"),
    ("UNKNOWN_FIELD", "unknown field"),
    ("POINT_OUTSIDE", "must lie on the diagram"),
    ("NAN_POINT", "must lie on the diagram"),
    ("COUNT_ZERO", "from 1 to 20"),
    ("COUNT_21", "from 1 to 20"),
    ("COUNT_TEXT", "from 1 to 20"),
    ("BAD_AREA", "area must be one of"),
    ("UNKNOWN_PRODUCT", "product is unknown"),
    ("INACTIVE_PRODUCT", "no longer in use"),
    ("TOO_MANY", "at most 200 vectors"),
]


def bad_input(kind, product):
    good = vector(product)
    return {
        "NOT_A_LIST": "not a list",
        "NOT_AN_OBJECT": [None],
        "MISSING_FIELDS": [{"area": "midface"}],
        "UNKNOWN_FIELD": [{**good, "patient": 7}],
        "POINT_OUTSIDE": [{**good, "end": [1.2, 0.3]}],
        "NAN_POINT": [{**good, "entry": [float("nan"), 0.3]}],
        "COUNT_ZERO": [{**good, "count": 0}],
        "COUNT_21": [{**good, "count": 21}],
        "COUNT_TEXT": [{**good, "count": "3"}],
        "BAD_AREA": [{**good, "area": "<script>"}],
        "UNKNOWN_PRODUCT": [{**good, "product": 999999}],
        "INACTIVE_PRODUCT": [good],
        "TOO_MANY": [good] * 201,
    }[kind]


@pytest.mark.parametrize(("kind", "message"), BAD_VECTORS)
def test_bad_vectors_are_refused_with_a_message_and_nothing_is_saved(
    plan, cog, doctor, kind, message
):
    plan_services.save_plan(
        plan=plan, revision=1, vectors=[vector(cog)], actor=Actor.system(user=doctor.user)
    )
    if kind == "INACTIVE_PRODUCT":
        ThreadProduct.objects.filter(pk=cog.pk).update(is_active=False)
    with pytest.raises(ValidationError, match=message):
        plan_services.save_plan(
            plan=plan,
            revision=2,
            vectors=bad_input(kind, cog),
            actor=Actor.system(user=doctor.user),
        )
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert stored.revision == 2
    assert stored.vectors.count() == 1


def test_accepting_freezes_the_plan(plan, cog, doctor):
    actor = Actor.system(user=doctor.user)
    plan_services.save_plan(plan=plan, revision=1, vectors=[vector(cog)], actor=actor)
    plan_services.set_plan_status(plan=plan, status="proposed", actor=actor)
    accepted = plan_services.set_plan_status(plan=plan, status="accepted", actor=actor)
    assert accepted.is_frozen
    with pytest.raises(ValidationError, match="frozen"):
        plan_services.save_plan(plan=accepted, revision=accepted.revision, vectors=[], actor=actor)
    with pytest.raises(ValidationError, match="cannot become"):
        plan_services.set_plan_status(plan=accepted, status="draft", actor=actor)


def test_an_empty_plan_cannot_be_accepted(plan, doctor):
    with pytest.raises(ValidationError, match="empty plan"):
        plan_services.set_plan_status(
            plan=plan, status="accepted", actor=Actor.system(user=doctor.user)
        )


def test_a_new_version_copies_the_vectors_and_supersedes_the_old_one_when_accepted(
    plan, cog, doctor
):
    actor = Actor.system(user=doctor.user)
    plan_services.save_plan(
        plan=plan, revision=1, vectors=[vector(cog), vector(cog, side="right")], actor=actor
    )
    v1 = plan_services.set_plan_status(plan=plan, status="accepted", actor=actor)
    v2 = plan_services.revise_plan(plan=v1, actor=actor)
    assert (v2.version, v2.status, v2.series_id) == (2, PlanStatus.DRAFT, v1.pk)
    assert v2.vectors.count() == 2
    assert plan_services.revise_plan(plan=v1, actor=actor) == v2  # one draft at a time
    v1.refresh_from_db()
    assert v1.status == PlanStatus.ACCEPTED  # still valid until v2 is accepted
    plan_services.save_plan(
        plan=v2, revision=v2.revision, vectors=[vector(cog, count=4)], actor=actor
    )
    plan_services.set_plan_status(plan=v2, status="accepted", actor=actor)
    v1.refresh_from_db()
    assert v1.status == PlanStatus.SUPERSEDED
    assert [v.count for v in v1.vectors.all()] == [2, 2]  # the old version stays readable


def test_lengths_use_the_diagram_scale_and_warn_beyond_reach_or_far_too_short(plan, cog, doctor):
    plan = plan_services.save_plan(
        plan=plan,
        revision=1,
        vectors=[
            vector(cog, entry=(0.30, 0.60), end=(0.30, 0.20)),  # 0.40 × 230 = 92 mm
            vector(cog, entry=(0.30, 0.90), end=(0.30, 0.20)),  # 161 mm: beyond reach
            vector(cog, entry=(0.30, 0.30), end=(0.30, 0.20)),  # 23 mm: far too short
        ],
        actor=Actor.system(user=doctor.user),
    )
    lengths = [round(v.length_mm(plan.mm_per_unit)) for v in plan.vectors.all()]
    assert lengths == [92, 161, 23]
    warnings = plan_services.summarise_plan(plan).warnings
    assert any("161 mm is longer than PDO Cog 19G 100 can reach (100 mm)" in w for w in warnings)
    assert any("23 mm is much shorter than the 100 mm thread" in w for w in warnings)
    assert not any("92 mm" in w for w in warnings)


def test_a_calibrated_photo_gives_the_scale_from_the_pupils(plan, doctor, private_media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from consultations.demo_photos import demo_photo_jpeg

    photography_consent(plan.patient, doctor.user)
    actor = Actor.system(user=doctor.user)
    photo = consultation_services.add_patient_photos(
        patient=plan.patient,
        files=[
            SimpleUploadedFile("f.jpg", demo_photo_jpeg(seed=1, view="frontal", stage="baseline"))
        ],
        view="frontal",
        stage="baseline",
        taken_on=timezone.localdate(),
        actor=actor,
    )[0]
    calibrated = plan_services.calibrate_plan(
        plan=plan, photo=photo, left_pupil=[0.4, 0.4], right_pupil=[0.6, 0.4], actor=actor
    )
    assert calibrated.mm_per_unit == pytest.approx(63 / 0.2)
    with pytest.raises(ValidationError, match="further apart"):
        plan_services.calibrate_plan(
            plan=plan, photo=photo, left_pupil=[0.5, 0.4], right_pupil=[0.51, 0.4], actor=actor
        )


def test_the_summary_counts_costs_and_warns_when_stock_cannot_cover(plan, cog, doctor, location):
    stock_services.receive_stock(
        product=cog,
        location=location,
        lot_number="L-1",
        expires_on=timezone.localdate() + timedelta(days=200),
        quantity=3,
        actor=Actor.system(user=doctor.user),
    )
    StockLotFactory(
        product=cog,
        location=location,
        lot_number="OLD",
        expires_on=timezone.localdate() - timedelta(days=1),
        quantity_received=50,
        quantity_on_hand=50,
    )
    plan = plan_services.save_plan(
        plan=plan,
        revision=1,
        vectors=[vector(cog, count=2), vector(cog, side="right", count=2)],
        actor=Actor.system(user=doctor.user),
    )
    summary = plan_services.summarise_plan(plan)
    assert summary.total_threads == 4
    assert summary.by_side == {"Left": 2, "Right": 2}
    assert summary.by_area == {"Midface / cheek": 4}
    assert summary.cost == Decimal("180.00")
    assert any("needs 4" in w and "has 3 usable" in w for w in summary.warnings)


def test_receiving_stock_books_the_lot_and_audits_it(cog, location, doctor):
    lot = stock_services.receive_stock(
        product=cog,
        location=location,
        lot_number=" A123 ",
        expires_on=timezone.localdate() + timedelta(days=90),
        quantity=20,
        actor=Actor.system(user=doctor.user),
    )
    assert (lot.lot_number, lot.quantity_received, lot.quantity_on_hand) == ("A123", 20, 20)
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, summary__contains="lot A123"
    ).exists()


@pytest.mark.parametrize("status", ["quarantined", "recalled"])
def test_a_quarantined_or_recalled_lot_does_not_count_as_stock_for_a_plan(
    plan, cog, location, doctor, manager_user, status
):
    lot = stock_services.receive_stock(
        product=cog,
        location=location,
        lot_number="L-BLOCKED",
        expires_on=timezone.localdate() + timedelta(days=200),
        quantity=10,
        actor=Actor.system(user=doctor.user),
    )
    stock_services.change_lot_status(
        lot=lot, status=status, reason="Field safety notice", actor=Actor.system(user=manager_user)
    )
    plan = plan_services.save_plan(
        plan=plan, revision=1, vectors=[vector(cog, count=2)], actor=Actor.system(user=doctor.user)
    )

    summary = plan_services.summarise_plan(plan)

    assert any("needs 2" in w and "has 0 usable" in w for w in summary.warnings)
    assert usable_stock(location, [cog.pk]) == {}
