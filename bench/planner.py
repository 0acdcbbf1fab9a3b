"""The planner on the large clinic: page load and saving a 40-vector plan.

Aim (issue: planner): load under 40 ms, save under 60 ms median.
"""

import json

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from bench.clinic_data import signed_in
from bench.timing import Result, summarise, time_calls
from clinic.actors import Actor
from treatments.models import PlanStatus, ThreadProduct, TreatmentPlan
from treatments.services import plans as plan_services


def forty_vectors(product_id: int) -> list[dict]:
    vectors = []
    for n in range(20):
        for side, x in (("left", 0.36), ("right", 0.64)):
            vectors.append(
                {
                    "area": "midface",
                    "side": side,
                    "product": product_id,
                    "count": 2,
                    "view": "front",
                    "entry": [x, 0.5 + 0.005 * n],
                    "end": [x - 0.03 if side == "left" else x + 0.03, 0.25 + 0.005 * n],
                    "depth": "subcutaneous",
                    "notes": "",
                }
            )
    return vectors


def run(runs: int) -> list[Result]:
    accepted = TreatmentPlan.objects.filter(status=PlanStatus.ACCEPTED).select_related(
        "practitioner__user"
    )[0]
    draft = TreatmentPlan.objects.filter(
        patient=accepted.patient, status=PlanStatus.DRAFT
    ).first() or plan_services.revise_plan(
        plan=accepted, actor=Actor.system(user=accepted.practitioner.user)
    )
    client = signed_in(accepted.practitioner.user.username, draft.location)
    product = ThreadProduct.objects.filter(is_active=True).first()
    url = f"/plans/{draft.pk}/"
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    load_queries = len(queries.captured_queries)
    load = time_calls(lambda: client.get(url), runs=runs)

    state = {"revision": TreatmentPlan.objects.get(pk=draft.pk).revision}
    vectors = forty_vectors(product.pk)

    def save():
        body = json.dumps({"revision": state["revision"], "vectors": vectors})
        response = client.post(f"/plans/{draft.pk}/vectors/", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        state["revision"] = response.json()["revision"]

    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        save()
    save_queries = len(queries.captured_queries)
    saves = time_calls(save, runs=runs)
    return [
        summarise("planner page load", load, floor="view", queries=load_queries, target="< 40 ms"),
        summarise(
            "planner save, 40 vectors", saves, floor="view", queries=save_queries, target="< 60 ms"
        ),
    ]
