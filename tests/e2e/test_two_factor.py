import re
from base64 import b32decode

from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD
from tests.recipes import code_for_key, current_code, enrol, main_navigation, sign_in_page


def csp_violations(page) -> list[str]:
    """Collects the browser's complaints that the page broke the Content-Security-Policy."""
    found = []

    def listen(message) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", listen)
    return found


def test_a_practitioner_signs_in_with_a_password_and_a_code_from_their_app(
    page, practitioner_user, settings
):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["practitioner", "manager"]
    device = enrol(practitioner_user)
    sign_in_page(page, "doctor", TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    navigation = page.get_by_role("navigation", name="Main navigation")
    expect(navigation.get_by_role("link", name="Patients")).to_have_count(0)

    page.get_by_label("Code").fill(current_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("role")).to_have_text("Signed in as Practitioner.")
    assert page.url.endswith("/")


def test_front_desk_sets_up_an_authenticator_app_from_their_own_page(page, frontdesk_user):
    violations = csp_violations(page)
    sign_in_page(page, "desk", TEST_PASSWORD)
    main_navigation(page).get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_test_id("two-factor-status")).to_contain_text("Off")
    page.get_by_role("link", name="Set up two-factor sign-in").click()

    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.get_by_test_id("secret").inner_text()
    page.get_by_label("Code from the app").fill(code_for_key(b32decode(secret.replace(" ", ""))))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    expect(page.get_by_test_id("backup-codes").get_by_role("listitem")).to_have_count(10)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Tick the box once you have saved the codes.")).to_be_visible()
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_test_id("two-factor-status")).to_contain_text("On")
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    assert violations == []


def test_the_idle_warning_comes_a_minute_before_and_stay_signed_in_keeps_the_user_here(
    page, frontdesk_user, settings
):
    settings.SESSION_COOKIE_AGE = 65  # the warning shows 5 seconds after the page loads
    violations = csp_violations(page)
    sign_in_page(page, "desk", TEST_PASSWORD)
    expect(page.get_by_test_id("role")).to_be_visible()
    page_url = page.url

    warning = page.get_by_role("alertdialog", name="You will be signed out soon")
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_contain_text("sign you out in a minute")
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()

    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    before = Session.objects.get(session_key=session_key).expire_date
    stay.click()
    expect(warning).to_have_count(0)
    assert Session.objects.get(session_key=session_key).expire_date > before
    assert page.url == page_url
    expect(page.get_by_test_id("role")).to_have_text("Signed in as Front desk.")
    assert violations == []


def test_an_idle_page_goes_to_the_sign_in_page_by_itself(page, frontdesk_user, settings):
    settings.SESSION_COOKIE_AGE = 2
    sign_in_page(page, "desk", TEST_PASSWORD)
    page.goto("/patients/")
    expect(page.get_by_role("heading", name="Sign in to Threadline")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("Please sign in to continue.")).to_be_visible()
    assert re.search(r"/accounts/login/\?next=%2Fpatients%2F$", page.url)
