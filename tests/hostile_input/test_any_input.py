from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from consultations.models import Patient
from tests.hostile_input.endpoints import (
    ENDPOINTS_BY_NAME,
    PLAN_SAVE_FIELDS,
    patient_valid,
)
from tests.hostile_input.harness import (
    describe_exception,
    json_error,
    send,
    set_path,
    verdict,
)
from tests.hostile_input.snapshot import (
    snapshot,
)
from treatments.models import TreatmentPlan

pytestmark = pytest.mark.django_db

# -- property-based: any text at all, in the two highest-value endpoints -----------------------

HYPOTHESIS = hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=150)


@HYPOTHESIS
@given(first_name=ANY_TEXT, last_name=ANY_TEXT, address=st.text(max_size=600))
def test_registration_with_any_text_is_stored_as_typed_or_refused_cleanly(
    world, clients, first_name, last_name, address
):
    """Each example in its own rolled-back savepoint: the database is counted around each."""
    endpoint = ENDPOINTS_BY_NAME["consultations:patient_create"]
    client = clients["frontdesk"]
    data = patient_valid(world, first_name=first_name, last_name=last_name, address=address)
    client.cookies.pop("messages", None)
    with transaction.atomic():
        before = snapshot()
        response = send(client, endpoint, endpoint.url(world), data)
        assert response.status_code < 500, describe_exception(response)
        outcome, why = verdict(endpoint, response)
        assert outcome != "unclear", why
        if outcome == "refused":
            assert snapshot() == before
        else:
            patient = Patient.objects.exclude(pk=world.patient.pk).get()
            assert (patient.first_name, patient.last_name, patient.address) == (
                first_name.strip(),
                last_name.strip(),
                address.strip(),
            )
        transaction.set_rollback(True)


def json_containers(children):
    """Lists and objects of JSON values (for st.recursive)."""
    return st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=8), children, max_size=3
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    json_containers,
    max_leaves=6,
)


@HYPOTHESIS
@given(
    path=st.sampled_from([path for path, _kind, _required in PLAN_SAVE_FIELDS]),
    value=JSON_VALUES,
    notes=st.text(max_size=4100),
)
def test_plan_save_with_any_json_in_any_field_saves_whole_or_nothing(
    world, clients, path, value, notes
):
    endpoint = ENDPOINTS_BY_NAME["treatments:plan_save"]
    client = clients["practitioner"]
    body = set_path({**endpoint.valid(world), "notes": notes}, path, value)
    with transaction.atomic():
        before = snapshot()
        revision = TreatmentPlan.objects.get(pk=world.draft_plan.pk).revision
        response = send(client, endpoint, endpoint.url(world), body)
        assert response.status_code < 500, describe_exception(response)
        plan = TreatmentPlan.objects.get(pk=world.draft_plan.pk)
        if response.status_code == 200:
            assert plan.revision == revision + 1
            assert plan.notes == body["notes"]
            assert len(notes) <= 4000 and "\x00" not in notes
        else:
            assert 400 <= response.status_code < 500 and json_error(response), response.content
            assert snapshot() == before
        transaction.set_rollback(True)
