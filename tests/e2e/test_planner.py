"""The thread-placement planner in a real browser: drawing, mirroring, saving, conflicts."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clinic.models import Role
from tests.factories import TEST_PASSWORD, StaffMemberFactory, ThreadProductFactory, UserFactory
from tests.recipes import receive, screened_patient, sign_in_page
from treatments import services
from treatments.models import TreatmentPlan

ROWS = '[data-testid="vector-table"] tbody tr[data-uid]'
# What the vector table's editable rows hold, read from the form controls themselves.
READ_ROWS = """rows => rows.map(row => Object.fromEntries(
  [...row.querySelectorAll('[data-field]')].map(control => [
    control.getAttribute('data-field'),
    control.type === 'checkbox' ? control.checked : control.value,
  ])
))"""


@pytest.fixture
def plan(practitioner_user, location):
    doctor = practitioner_user.staff
    product = ThreadProductFactory(
        name="Planner Cog 19G 90",
        manufacturer="Planner Test Sutures",
        thread_length_mm=90,
        unit_price="40.00",
    )
    receive(product, location, quantity=20, days=365)
    return services.create_plan(
        patient=screened_patient(
            doctor,
            areas={"midface": {"concern": "Flat cheeks", "goal": "Lift", "laxity": 2}},
            first_name="Ines",
            last_name="Vector",
        ),
        practitioner=doctor,
        location=location,
        created_by=doctor.user,
    )


def open_planner(page, plan):
    page.goto(reverse("treatments:planner", args=[plan.pk]))
    expect(page.get_by_role("heading", name="Face diagram")).to_be_visible()


def click_diagram(page, x: float, y: float) -> None:
    """Click the diagram at (x, y), each from 0 to 1 from its top left corner."""
    diagram = page.get_by_test_id("diagram")
    diagram.scroll_into_view_if_needed()
    box = diagram.bounding_box()
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])


def table_rows(page) -> list[dict]:
    return page.eval_on_selector_all(ROWS, READ_ROWS)


def test_a_practitioner_draws_mirrors_saves_and_finds_the_same_vectors_after_a_reload(
    page, practitioner_user, plan
):
    sign_in_page(page, "doctor", TEST_PASSWORD)
    open_planner(page, plan)
    rows = page.locator(ROWS)

    # Two vectors on the patient's left midface: on the front view, the diagram's right half.
    click_diagram(page, 0.64, 0.50)
    expect(page.get_by_role("status").filter(has_text="Entry point set")).to_be_visible()
    click_diagram(page, 0.78, 0.38)
    expect(rows).to_have_count(1)
    click_diagram(page, 0.62, 0.58)
    click_diagram(page, 0.77, 0.48)
    expect(rows).to_have_count(2)
    assert [row["side"] for row in table_rows(page)] == ["left", "left"]
    assert [row["area"] for row in table_rows(page)] == ["midface", "midface"]

    page.get_by_role("button", name="Select all").click()
    page.get_by_role("button", name="Mirror selected").click()
    expect(rows).to_have_count(4)
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved")

    stored = list(TreatmentPlan.objects.get(pk=plan.pk).vectors.order_by("position"))
    assert [v.side for v in stored] == ["left", "left", "right", "right"]
    assert stored[0].entry_x == pytest.approx(0.64, abs=0.01)
    assert stored[0].entry_y == pytest.approx(0.50, abs=0.01)
    assert stored[1].end_x == pytest.approx(0.77, abs=0.01)
    for original, mirror in zip(stored[:2], stored[2:], strict=True):
        assert mirror.entry_x == pytest.approx(1 - original.entry_x, abs=1e-9)
        assert mirror.end_x == pytest.approx(1 - original.end_x, abs=1e-9)
        assert (mirror.entry_y, mirror.end_y) == (original.entry_y, original.end_y)

    page.reload()
    expect(rows).to_have_count(4)
    expect(page.get_by_test_id("save-status")).to_have_text("")
    shown = table_rows(page)
    for row, vector in zip(shown, stored, strict=True):
        assert (row["side"], row["area"], row["view"]) == (vector.side, vector.area, vector.view)
        assert float(row["entry-x"]) == vector.entry_x
        assert float(row["entry-y"]) == vector.entry_y
        assert float(row["end-x"]) == vector.end_x
        assert float(row["end-y"]) == vector.end_y
        assert int(row["count"]) == vector.count
    # Nothing was left unsaved on the device, so nothing is offered back.
    expect(page.get_by_role("button", name="Restore my unsaved changes")).to_be_hidden()


def test_a_second_window_on_a_stale_version_is_told_of_the_conflict_and_overwrites_nothing(
    browser, live_server, page, practitioner_user, location, plan
):
    colleague = UserFactory(username="doctor2")
    StaffMemberFactory(user=colleague, role=Role.PRACTITIONER, locations=[location])
    other_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 800, "height": 1200}
    )
    other_context.set_default_timeout(10_000)
    other = other_context.new_page()
    try:
        sign_in_page(page, "doctor", TEST_PASSWORD)
        sign_in_page(other, "doctor2", TEST_PASSWORD)
        open_planner(page, plan)
        open_planner(other, plan)

        page.get_by_role("button", name="Add a vector").click()
        page.get_by_role("button", name="Save the plan").click()
        expect(page.get_by_test_id("save-status")).to_contain_text("Saved")

        other.get_by_role("button", name="Add a vector").click()
        other.get_by_role("button", name="Add a vector").click()
        other.get_by_role("button", name="Save the plan").click()

        conflict = other.get_by_test_id("conflict")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text("This plan was changed by someone else")
        expect(conflict).to_contain_text("The server has 1 vector (1 thread); you have 2 vectors")
        expect(other.get_by_test_id("save-status")).to_contain_text("Not saved")
        stored = TreatmentPlan.objects.get(pk=plan.pk)
        assert (stored.revision, stored.vectors.count()) == (2, 1)

        # Taking the server's version, then saving on top of it, works.
        other.get_by_role("button", name="Load the server version").click()
        expect(conflict).to_be_hidden()
        expect(other.locator(ROWS)).to_have_count(1)
        other.get_by_role("button", name="Add a vector").click()
        other.get_by_role("button", name="Save the plan").click()
        expect(other.get_by_test_id("save-status")).to_contain_text("Saved")
        stored.refresh_from_db()
        assert (stored.revision, stored.vectors.count()) == (3, 2)
    finally:
        other_context.close()
