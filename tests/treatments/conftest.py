"""The planner's fixtures: a practitioner, a screened patient, products, a draft plan."""

from __future__ import annotations

import pytest

from clinic.actors import Actor
from tests.factories import ThreadProductFactory
from tests.recipes import screened_patient
from treatments.services import plans as plan_services

# The planner's tests assess the midface for flat cheeks (the planner shows the concern).
PLANNER_AREAS = {"midface": {"concern": "Flat cheeks", "goal": "Lift", "laxity": 2}}


def planner_product(name: str, **fields):
    """A product as the planner's tests price it: 90 mm, 40.00 a thread unless told."""
    defaults = {
        "manufacturer": "Planner Test Sutures",
        "thread_length_mm": 90,
        "unit_price": "40.00",
    }
    return ThreadProductFactory(name=name, **{**defaults, **fields})


@pytest.fixture
def doctor(practitioner_user):
    """The practitioner signed in as "doctor", working at the test location."""
    return practitioner_user.staff


@pytest.fixture
def gated_patient(doctor):
    return screened_patient(doctor, areas=PLANNER_AREAS, first_name="Ada", last_name="Planwell")


@pytest.fixture
def cog_product(db):
    return planner_product("Planner Cog 19G 90")


@pytest.fixture
def mono_product(db):
    return planner_product(
        "Planner Mono 29G 38", thread_length_mm=38, needle_length_mm=40, unit_price="6.50"
    )


@pytest.fixture
def draft_plan(gated_patient, doctor, location):
    return plan_services.create_plan(
        patient=gated_patient,
        practitioner=doctor,
        location=location,
        actor=Actor.system(user=doctor.user),
    )
