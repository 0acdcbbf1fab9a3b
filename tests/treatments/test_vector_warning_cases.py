"""The length warnings the server gives, from the cases the planner's script is tested on too.

tests/vector_warning_cases.json is shared with tests/js/vector-warnings.test.mjs, which runs
the same cases through static/js/planner-model.js: what the page warns of as the practitioner
draws is what the plan, its summary and its PDF say once saved.
"""

import json
from pathlib import Path

import pytest

from consultations.models import FacialArea
from treatments.models import ThreadProduct, ThreadVector
from treatments.services import plans as plan_services

CASES = json.loads((Path(__file__).parents[1] / "vector_warning_cases.json").read_text())


def product_of(case: dict) -> ThreadProduct:
    product = case["product"]
    return ThreadProduct(
        name=product["name"],
        thread_length_mm=product["thread_length_mm"],
        needle_length_mm=product["needle_length_mm"],
    )


def vector_of(case: dict) -> ThreadVector:
    vector = case["vector"]
    return ThreadVector(
        area=vector["area"],
        side=vector["side"],
        view=vector["view"],
        entry_x=vector["entry"][0],
        entry_y=vector["entry"][1],
        end_x=vector["end"][0],
        end_y=vector["end"][1],
        product=product_of(case),
        count=1,
        depth="subcutaneous",
    )


@pytest.mark.parametrize("case", CASES["cases"], ids=[case["name"] for case in CASES["cases"]])
def test_the_server_warns_of_each_shared_case_as_written(case):
    expected = [case["warning"]] if case["warning"] else []
    assert plan_services.vector_warnings(vector_of(case), case["mm_per_unit"]) == expected


def test_the_shared_cases_hold_what_the_server_sends_the_page():
    """The script gets the share, the area names and each reach from the server: the same."""
    assert CASES["short_share"] == plan_services.SHORT_VECTOR_SHARE
    assert CASES["area_labels"] == {area: FacialArea(area).label for area in CASES["area_labels"]}
    for case in CASES["cases"]:
        assert case["vector"]["area"] in CASES["area_labels"]
        assert case["product"]["reach_mm"] == product_of(case).reach_mm, case["name"]
