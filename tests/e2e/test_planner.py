"""The thread-placement planner in a real browser: drawing, mirroring, saving, conflicts."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from clinic.actors import Actor
from clinic.models import Role
from consultations import services as consultation_services
from consultations.demo_photos import demo_photo_jpeg
from tests.factories import TEST_PASSWORD, StaffMemberFactory, ThreadProductFactory, UserFactory
from tests.recipes import photography_consent, receive, screened_patient, sign_in_page
from treatments.models import ProtocolPreset, ThreadProduct, TreatmentPlan
from treatments.services import plans as plan_services

ROWS = '[data-testid="vector-table"] tbody tr[data-uid]'
# What the vector table's editable rows hold, read from the form controls themselves.
READ_ROWS = """rows => rows.map(row => Object.fromEntries(
  [...row.querySelectorAll('[data-field]')].map(control => [
    control.getAttribute('data-field'),
    control.type === 'checkbox' ? control.checked : control.value,
  ])
))"""


@pytest.fixture(autouse=True)
def no_script_errors(page):
    """Every planner test also fails on an uncaught error in the page's script."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


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
    return plan_services.create_plan(
        patient=screened_patient(
            doctor,
            areas={"midface": {"concern": "Flat cheeks", "goal": "Lift", "laxity": 2}},
            first_name="Ines",
            last_name="Vector",
        ),
        practitioner=doctor,
        location=location,
        actor=Actor.system(user=doctor.user),
    )


def open_planner(page, plan):
    page.goto(reverse("treatments:planner", args=[plan.pk]))
    expect(page.get_by_role("heading", name="Face diagram")).to_be_visible()


def click_diagram(page, x: float, y: float) -> None:
    """Click the diagram at (x, y), each from 0 to 1 from its top left corner."""
    page.mouse.click(*on_screen(page, x, y))


def on_screen(page, x: float, y: float) -> tuple[float, float]:
    """Where the diagram's point (x, y) is on the screen, the diagram scrolled into view."""
    diagram = page.get_by_test_id("diagram")
    diagram.scroll_into_view_if_needed()
    box = diagram.bounding_box()
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


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
    # The live estimate is written in the location's currency, as the server writes it.
    expect(page.locator("[data-summary-cost]")).to_have_text(re.compile(r"^£[1-9][\d,]*\.00$"))
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


def test_undo_and_redo_take_back_a_drawn_vector_and_a_deletion(page, practitioner_user, plan):
    sign_in_page(page, "doctor", TEST_PASSWORD)
    open_planner(page, plan)
    rows = page.locator(ROWS)
    undo = page.get_by_role("button", name="Undo")
    redo = page.get_by_role("button", name="Redo")
    expect(undo).to_be_disabled()

    click_diagram(page, 0.36, 0.50)
    click_diagram(page, 0.22, 0.38)
    expect(rows).to_have_count(1)
    assert table_rows(page)[0]["side"] == "right"

    page.keyboard.press("Control+z")
    expect(rows).to_have_count(0)
    expect(page.get_by_text("No vectors yet.")).to_be_visible()
    expect(redo).to_be_enabled()
    page.keyboard.press("Control+Shift+z")
    expect(rows).to_have_count(1)

    page.get_by_role("button", name="Delete vector 1").click()
    expect(rows).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Deleted 1 vector")).to_be_visible()
    undo.click()
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("save-status")).to_have_text("Unsaved changes.")


def test_unsaved_changes_are_kept_on_the_device_and_offered_back_after_a_reload(
    page, practitioner_user, plan
):
    page.on("dialog", lambda dialog: dialog.accept())  # the "leave the page?" question
    sign_in_page(page, "doctor", TEST_PASSWORD)
    open_planner(page, plan)
    page.get_by_role("button", name="Add a vector").click()
    page.get_by_role("button", name="Add a vector").click()
    page.get_by_label("Plan notes").fill("Two cogs, right midface.")
    page.get_by_label("Plan notes").blur()

    page.reload()
    expect(page.locator(ROWS)).to_have_count(0)
    offer = page.get_by_role("alert").filter(has_text="unsaved changes to this plan")
    expect(offer).to_contain_text("(2 vectors)")
    page.get_by_role("button", name="Restore my unsaved changes").click()
    expect(page.locator(ROWS)).to_have_count(2)
    expect(page.get_by_label("Plan notes")).to_have_value("Two cogs, right midface.")
    expect(page.get_by_test_id("save-status")).to_contain_text("Restored your unsaved changes")

    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved")
    stored = TreatmentPlan.objects.get(pk=plan.pk)
    assert (stored.vectors.count(), stored.notes) == (2, "Two cogs, right midface.")
    page.reload()
    expect(page.get_by_role("button", name="Restore my unsaved changes")).to_be_hidden()


def test_the_table_edits_a_vector_by_keyboard_and_the_warnings_follow_its_length(
    page, practitioner_user, plan
):
    sign_in_page(page, "doctor", TEST_PASSWORD)
    open_planner(page, plan)
    page.get_by_role("button", name="Add a vector").click()
    warnings = page.get_by_test_id("warnings")
    # The keyboard's vector is short for a 90 mm thread.
    expect(warnings).to_contain_text(
        "Vector 1, Midface / cheek (right): 36 mm is much shorter than the 90 mm thread."
    )

    page.get_by_label("Vector 1 threads").fill("3")
    page.get_by_label("Vector 1 end x").fill("0.05")
    page.get_by_label("Vector 1 end y").fill("0.05")
    page.get_by_label("Vector 1 end y").press("Tab")
    expect(warnings).to_contain_text(
        "Vector 1, Midface / cheek (right): 132 mm is longer than Planner Cog 19G 90 can reach"
    )
    expect(page.get_by_test_id("vector-table")).to_contain_text("132 mm")
    expect(page.locator("[data-summary-total]")).to_have_text("3")

    page.get_by_label("Vector 1 entry x").fill("7")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-status")).to_have_text(
        "Not saved: correct the highlighted field first."
    )
    page.get_by_label("Vector 1 entry x").fill("0.2")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved")
    (vector,) = TreatmentPlan.objects.get(pk=plan.pk).vectors.all()
    assert (vector.count, vector.entry_x, vector.end_x, vector.end_y) == (3, 0.2, 0.05, 0.05)


def test_a_selected_vector_moves_with_the_arrow_keys_and_its_handle(page, practitioner_user, plan):
    sign_in_page(page, "doctor", TEST_PASSWORD)
    open_planner(page, plan)
    page.get_by_role("button", name="Add a vector").click()  # entry (0.33, 0.55), end (0.24, 0.42)
    page.get_by_label("Vector 1 selected").check()
    page.get_by_test_id("diagram").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    row = table_rows(page)[0]
    assert (row["entry-x"], row["entry-y"], row["end-x"], row["end-y"]) == (
        "0.335",
        "0.57",
        "0.245",
        "0.44",
    )

    page.mouse.move(*on_screen(page, 0.245, 0.44))
    page.mouse.down()
    page.mouse.move(*on_screen(page, 0.20, 0.30), steps=5)
    page.mouse.up()
    expect(page.get_by_role("status").filter(has_text="Moved the end of Vector 1")).to_be_visible()
    row = table_rows(page)[0]
    assert float(row["end-x"]) == pytest.approx(0.20, abs=0.01)
    assert float(row["end-y"]) == pytest.approx(0.30, abs=0.01)
    page.keyboard.press("Control+z")
    assert table_rows(page)[0]["end-x"] == "0.245"


def test_a_profile_preset_is_added_selected_and_shown_on_the_profile_view(
    page, practitioner_user, plan
):
    product = ThreadProduct.objects.get(name="Planner Cog 19G 90")
    ProtocolPreset.objects.create(
        name="Jawline, one cog per side",
        vectors=[
            {
                "area": "jawline",
                "side": side,
                "product": product.pk,
                "count": 1,
                "view": "profile",
                "entry": [0.55, 0.7],
                "end": [0.4, 0.62],
                "depth": "subcutaneous",
            }
            for side in ("right", "left")
        ],
    )
    sign_in_page(page, "doctor", TEST_PASSWORD)
    open_planner(page, plan)
    page.get_by_role("button", name="Add to the plan").click()
    expect(page.get_by_role("status").filter(has_text="Added the preset")).to_contain_text(
        "“Jawline, one cog per side”: 2 vectors, selected."
    )
    expect(page.get_by_label("Profile")).to_be_checked()
    rows = table_rows(page)
    assert [(row["view"], row["side"], row["selected"]) for row in rows] == [
        ("profile", "right", True),
        ("profile", "left", True),
    ]
    # The profile shows the right side unless asked: one line drawn, with its two handles.
    expect(page.locator("[data-vector-layer] .vector")).to_have_count(1)
    expect(page.locator("[data-vector-layer] .handle")).to_have_count(2)
    page.get_by_label("Side shown").select_option("both")
    expect(page.locator("[data-vector-layer] .vector")).to_have_count(2)


def test_marking_the_pupils_on_a_frontal_photo_sets_the_scale(
    page, practitioner_user, plan, private_media
):
    photography_consent(plan.patient, practitioner_user)
    consultation_services.add_patient_photos(
        patient=plan.patient,
        files=[
            SimpleUploadedFile("f.jpg", demo_photo_jpeg(seed=1, view="frontal", stage="baseline"))
        ],
        view="frontal",
        stage="baseline",
        taken_on=timezone.localdate(),
        actor=Actor.system(user=practitioner_user),
    )
    sign_in_page(page, "doctor", TEST_PASSWORD)
    open_planner(page, plan)
    page.get_by_role("button", name="Mark the pupils").click()
    expect(page.get_by_role("status").filter(has_text="right pupil")).to_be_visible()
    expect(page.get_by_label("Photo underneath")).not_to_have_value("")
    click_diagram(page, 0.40, 0.40)
    expect(page.get_by_role("status").filter(has_text="left pupil")).to_be_visible()
    click_diagram(page, 0.60, 0.40)
    expect(page.get_by_role("status").filter(has_text="Calibrated")).to_contain_text(
        "mm per diagram height. Lengths are measured on this scale now."
    )
    plan.refresh_from_db()
    assert plan.mm_per_unit == pytest.approx(63 / 0.2, rel=0.05)
    assert plan.calibration_photo is not None
