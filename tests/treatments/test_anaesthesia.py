"""The anaesthesia a plan names in its consent, and the session's lidocaine dose check."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinic.actors import Actor
from tests.recipes import (
    LOCAL_LIDOCAINE,
    accept,
    build_clinic,
    completed_session,
    saved_payload,
    sign,
    start,
)
from treatments.models import StockLot, TreatmentPlan
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services
from treatments.services.anaesthesia import anaesthesia_problems, dose_mg, limit_mg

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(location, private_media, practitioner_user):
    return build_clinic(location, practitioner_user)


ANAESTHESIA_TEMPLATE = "I, {patient}, agree to {procedure} {anaesthesia}."


@pytest.mark.parametrize(
    ("anaesthesia", "words"),
    [
        ("none", "without anaesthesia"),
        ("topical", "after a numbing cream on the skin (topical anaesthesia)"),
        ("local", "after local anaesthetic injected where the threads go in (local infiltration)"),
        (
            "block",
            "after local anaesthetic injected near the nerve that supplies the area "
            "(a nerve block)",
        ),
    ],
)
def test_the_consent_names_the_anaesthesia_the_plan_says(clinic, anaesthesia, words):
    plan = clinic["plan"]
    plan = plan_services.save_plan(
        plan=plan,
        revision=plan.revision,
        vectors=saved_payload(plan),
        anaesthesia=anaesthesia,
        actor=Actor.system(user=clinic["user"]),
    )
    template = clinic["template"]
    template.body = ANAESTHESIA_TEMPLATE
    text = consent_services.fill_consent_text(template, plan)
    assert text.endswith(f"agree to Thread lift with absorbable threads {words}.")
    assert "after local anaesthetic," not in text


def test_a_new_plan_version_keeps_its_anaesthesia(clinic):
    plan = clinic["plan"]
    plan = plan_services.save_plan(
        plan=plan,
        revision=plan.revision,
        vectors=saved_payload(plan),
        anaesthesia="topical",
        actor=Actor.system(user=clinic["user"]),
    )
    accepted = accept(clinic)
    revised = plan_services.revise_plan(plan=accepted, actor=Actor.system(user=clinic["user"]))
    assert TreatmentPlan.objects.get(pk=revised.pk).anaesthesia == "topical"


def test_an_unknown_anaesthesia_is_refused_and_nothing_is_saved(clinic):
    plan = clinic["plan"]
    with pytest.raises(ValidationError):
        plan_services.save_plan(
            plan=plan,
            revision=plan.revision,
            vectors=saved_payload(plan),
            anaesthesia="general",
            actor=Actor.system(user=clinic["user"]),
        )
    assert TreatmentPlan.objects.get(pk=plan.pk).anaesthesia == "local"


# The dose ------------------------------------------------------------------------------


def test_the_dose_is_concentration_times_ten_times_the_volume():
    assert dose_mg(concentration_percent=Decimal("1"), volume_ml=Decimal("4.5")) == 45
    assert dose_mg(concentration_percent=Decimal("2"), volume_ml=Decimal("10")) == 200


@pytest.mark.parametrize(
    ("weight", "adrenaline", "limit"),
    [
        ("60", False, "200"),  # 4.5 mg/kg = 270 mg, capped at 200 mg
        ("40", False, "180"),  # 4.5 mg/kg
        ("60", True, "420"),  # 7 mg/kg
        ("90", True, "500"),  # 7 mg/kg = 630 mg, capped at 500 mg
    ],
)
def test_the_limit_follows_the_weight_and_adrenaline_up_to_the_cap(weight, adrenaline, limit):
    assert limit_mg(weight_kg=Decimal(weight), with_adrenaline=adrenaline) == Decimal(limit)


def test_a_dose_over_the_limit_is_refused_with_the_figures():
    details = {
        **LOCAL_LIDOCAINE,
        "anaesthetic_concentration_percent": Decimal("2"),
        "anaesthetic_volume_ml": Decimal("12"),
        "with_adrenaline": False,
        "patient_weight_kg": Decimal("40"),
    }
    assert anaesthesia_problems(details) == [
        "Lidocaine dose 240 mg (2% × 12 mL) is over the maximum of 180 mg for 40 kg without "
        "adrenaline (4.5 mg/kg, at most 200 mg; lidocaine SPC section 4.2; BNF lidocaine "
        "hydrochloride)."
    ]


def test_a_local_anaesthetic_must_be_recorded_in_full():
    problems = anaesthesia_problems({"anaesthesia": "local", "anaesthetic_agent": "Lidocaine"})
    assert problems == [
        "For a local anaesthetic, record its concentration (% w/v), the volume (mL), whether "
        "it contained adrenaline, the patient's weight (kg)."
    ]
    assert anaesthesia_problems({"anaesthesia": "topical"}) == []


def test_completing_a_session_over_the_maximum_dose_is_refused_and_uses_no_stock(clinic):
    sign(clinic, accept(clinic))
    session = start(clinic)
    overdose = {
        **LOCAL_LIDOCAINE,
        "anaesthetic_concentration_percent": Decimal("2"),
        "anaesthetic_volume_ml": Decimal("30"),
        "with_adrenaline": True,
        "patient_weight_kg": Decimal("70"),
    }
    with pytest.raises(ValidationError, match="Lidocaine dose 600 mg"):
        completed_session(session, lot=clinic["lot"], by=clinic["user"], details=overdose)
    assert StockLot.objects.get(pk=clinic["lot"].pk).quantity_on_hand == 10
    done = completed_session(session, lot=clinic["lot"], by=clinic["user"])
    assert done.patient_weight_kg == Decimal("64") and done.with_adrenaline is True
