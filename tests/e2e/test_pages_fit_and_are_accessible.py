"""Every everyday page, as each role sees it on a tablet (768x1024) and at a desk (1280x800).

Each page must answer 200, be no wider than the screen
(`document.documentElement.scrollWidth <= innerWidth`), keep Sign out, two-factor sign-in and
the location switcher (showing the whole name of the location) reachable, and give axe-core
no serious or critical violation. "Reachable" is as a person reaches them: at 768 px the top
bar is collapsed, so the test presses its menu button first. Nothing the pages load may
be missing (404), the favicon included.

axe-core is vendored under tests/e2e/vendor/axe-core (version and checksum in its README) and
evaluated in the page through the DevTools protocol (`page.evaluate`): `add_script_tag`
inserts an inline script, which the app's Content Security Policy refuses, and the policy is
not relaxed for tests. Nothing is fetched at run time.

The live server's tests flush the database after each test, so the clinic is built once per
test: one test per role and screen size, walking that role's pages in one browser context
signed in once. Pages a role may not open (tests/test_access_control.py) are not walked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clinic.actors import Actor
from clinic.models import Role
from tests.access_fixtures import World, build_world
from tests.factories import TEST_PASSWORD, LocationFactory
from treatments.services import plans as plan_services

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

SIZES = {"tablet": (768, 1024), "desk": (1280, 800)}
ROLES = {
    Role.FRONT_DESK: "frontdesk_user",
    Role.PRACTITIONER: "practitioner_user",
    Role.MANAGER: "manager_user",
}
# A second location with a long name: the switcher must show it whole.
LONG_NAME = "Marylebone High Street Clinic"


@dataclass(frozen=True)
class Page:
    name: str
    roles: frozenset[str]
    path: Callable[[World], str]
    # The consent-signing page is handed to the patient on the clinic's tablet: by design it
    # has no top bar (no way into the records, no Sign out). Every other page has it.
    has_navigation: bool = True


DESK, DOCTOR, MANAGER = Role.FRONT_DESK, Role.PRACTITIONER, Role.MANAGER
ALL = frozenset({DESK, DOCTOR, MANAGER})
CLINICAL = frozenset({DOCTOR, MANAGER})

PAGES = [
    Page("home", ALL, lambda w: reverse("home")),
    Page("patients", ALL, lambda w: reverse("consultations:patient_list")),
    Page("chart", ALL, lambda w: reverse("consultations:patient_chart", args=[w.patient.pk])),
    Page("calendar day", ALL, lambda w: reverse("consultations:calendar_day")),
    Page(
        "calendar week",
        ALL,
        lambda w: reverse("consultations:calendar_week") + f"?staff={w.doctor.pk}",
    ),
    Page("booking", ALL, lambda w: reverse("consultations:appointment_book")),
    Page("planner", CLINICAL, lambda w: reverse("treatments:planner", args=[w.draft.pk])),
    Page(
        "consent signing",
        frozenset({DOCTOR}),
        lambda w: reverse("treatments:consent_sign", args=[w.plan.pk]),
        has_navigation=False,
    ),
    Page("consent", CLINICAL, lambda w: reverse("treatments:consent_detail", args=[w.consent.pk])),
    Page("session", CLINICAL, lambda w: reverse("treatments:session_detail", args=[w.session.pk])),
    Page("reports", frozenset({MANAGER}), lambda w: reverse("treatments:adverse_event_report")),
]


def axe_violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({
                    id: v.id,
                    impact: v.impact,
                    help: v.help,
                    nodes: v.nodes.slice(0, 5)
                        .map((n) => n.target.join(" ") + ": " + n.failureSummary),
                }));
        }"""
    )


def widths(page) -> dict:
    """How wide the page is, and the first elements that reach past the screen's right edge."""
    return page.evaluate(
        """() => {
            const inner = window.innerWidth;
            const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                + [...el.classList].map((c) => "." + c).join("");
            const wide = [...document.querySelectorAll("body *")]
                .filter((el) => el.getBoundingClientRect().right > inner + 0.5)
                .slice(0, 8)
                .map((el) => describe(el) + " to " + Math.round(el.getBoundingClientRect().right));
            const scrolled = [...document.querySelectorAll(".table-responsive")]
                .filter((box) => box.scrollWidth > box.clientWidth)
                .map((box) => describe(box.querySelector("table") || box)
                    + " " + box.scrollWidth + " in " + box.clientWidth);
            return {scroll: document.documentElement.scrollWidth, inner, wide, scrolled};
        }"""
    )


def fits_and_passes_axe(page) -> list:
    """What stops a page from working on this screen: reaching past its edge, and axe's
    findings (an empty list when it fits and passes)."""
    measured = widths(page)
    problems = [] if measured["scroll"] <= measured["inner"] else [measured]
    return problems + axe_violations(page)


def switcher_text_fits(page) -> dict:
    """Whether the location switcher shows its chosen location's whole name."""
    return page.evaluate(
        """() => {
            const select = document.getElementById("nav-location");
            const style = getComputedStyle(select);
            const context = document.createElement("canvas").getContext("2d");
            context.font = style.font;
            const text = context.measureText(select.options[select.selectedIndex].text).width;
            const room = select.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            return {text: Math.ceil(text), room: Math.floor(room)};
        }"""
    )


def navigation_problems(page) -> list[str]:
    """Sign out, two-factor and the location switcher, reached as a person would: at tablet
    width the top bar is collapsed, so its menu is opened first."""
    navigation = page.get_by_role("navigation", name="Main navigation")
    toggler = navigation.get_by_role("button", name="Show navigation")
    if toggler.is_visible():
        toggler.click()
        expect(toggler).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    problems = []
    for control in (
        navigation.get_by_role("button", name="Sign out"),
        navigation.get_by_role("link", name="Two-factor sign-in"),
        navigation.get_by_role("combobox", name="Location"),
    ):
        if not control.is_visible():
            problems.append(f"{control} is not visible")
        elif not control.is_enabled():
            problems.append(f"{control} is disabled")
        else:
            box = control.bounding_box()
            if box["x"] < 0 or box["x"] + box["width"] > page.viewport_size["width"]:
                problems.append(f"{control} is off the screen: {box}")
    if not problems:
        fits = switcher_text_fits(page)
        if fits["text"] > fits["room"]:
            problems.append(f"the location switcher cuts its name: {fits}")
    return problems


@pytest.fixture
def world(location, practitioner_user, private_media):
    world = build_world(location, practitioner_user.staff)
    world.draft = plan_services.revise_plan(
        plan=world.plan, actor=Actor.system(user=practitioner_user)
    )
    return world


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def table_fits(page, test_id: str) -> list[str]:
    """The table shows every column whole, with nothing to scroll sideways inside its box: the
    consent page's planned threads (on a tablet "Subcutaneous" was cut off) and, on a tablet,
    the planner's vectors (1,602 px of table in a 710 px card)."""
    box = page.evaluate(
        """(testId) => {
            const box = document.querySelector(`[data-testid=${testId}]`).parentElement;
            return {content: box.scrollWidth, shown: box.clientWidth};
        }""",
        test_id,
    )
    return [] if box["content"] <= box["shown"] else [f"the {test_id} table is cut: {box}"]


def consent_contrast(page) -> list[str]:
    """Checkbox and radio borders against the page (WCAG 1.4.11: at least 3:1) and the alert's
    link against the alert (1.4.3: at least 4.5:1), from the colours the browser computed.
    axe-core checks text contrast only, so the borders are measured here."""
    ratios = page.evaluate(
        """() => {
            const rgb = (colour) => colour.match(/[\\d.]+/g).slice(0, 3).map(Number);
            const luminance = (colour) => {
                const [r, g, b] = rgb(colour).map((c) => {
                    c /= 255;
                    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const ratio = (a, b) => {
                const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
                return (hi + 0.05) / (lo + 0.05);
            };
            const page = getComputedStyle(document.body).backgroundColor;
            const boxes = [...document.querySelectorAll("input.form-check-input:not(:checked)")]
                .map((input) => ratio(getComputedStyle(input).borderTopColor, page));
            const link = document.querySelector("[data-testid=existing-consent] a");
            return {
                boxes,
                link: ratio(getComputedStyle(link).color,
                            getComputedStyle(link.closest(".alert")).backgroundColor),
            };
        }"""
    )
    problems = []
    if not ratios["boxes"] or min(ratios["boxes"]) < 3:
        problems.append(f"checkbox and radio borders below 3:1: {ratios['boxes']}")
    if ratios["link"] < 4.5:
        problems.append(f"the alert's link is {ratios['link']:.2f}:1, below 4.5:1")
    return problems


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_each_page_fits_the_screen_keeps_sign_out_reachable_and_passes_axe(
    request, browser, live_server, world, role, size
):
    user = request.getfixturevalue(ROLES[role])
    user.staff.locations.add(LocationFactory(name=LONG_NAME))
    width, height = SIZES[size]
    # Reduced motion: the collapsed menu opens without its animation.
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        reduced_motion="reduce",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Anything a page links to and the server does not have (the favicon was one). Only 404s:
    # a thumbnail fetched while the test's own thread holds the in-memory test database can
    # meet a lock there, which says nothing about the page.
    not_found: list[str] = []
    page.on(
        "response",
        lambda response: not_found.append(response.url) if response.status == 404 else None,
    )
    problems = []
    try:
        sign_in(page, user.username)
        for spec in PAGES:
            if role not in spec.roles:
                continue
            response = page.goto(spec.path(world))
            found = []
            if response is None or response.status != 200:
                found.append(f"answered {response and response.status}")
            measured = widths(page)
            if measured["scroll"] > measured["inner"]:
                found.append(
                    f"{measured['scroll']} px wide for {measured['inner']}: {measured['wide']}"
                )
            if spec.name == "planner" and size == "tablet":
                found.extend(table_fits(page, "vector-table"))
            if spec.has_navigation:
                found.extend(navigation_problems(page))
            else:
                found.extend(table_fits(page, "vectors"))
                found.extend(consent_contrast(page))
            if violations := axe_violations(page):
                found.append(f"axe: {violations}")
            if found:
                problems.append(f"{spec.name} at {width}x{height}: " + "; ".join(found))
    finally:
        context.close()
    assert not not_found, not_found
    assert not problems, "\n".join(problems)
