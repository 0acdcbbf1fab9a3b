import time

from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD
from tests.recipes import main_navigation, sign_in_page


def test_front_desk_signs_in_and_sees_only_their_navigation(page, frontdesk_user):
    sign_in_page(page, "desk", TEST_PASSWORD)
    expect(page.get_by_test_id("role")).to_have_text("Signed in as Front desk.")
    navigation = main_navigation(page)
    expect(navigation.get_by_role("link", name="Home")).to_be_visible()
    expect(navigation.get_by_role("link", name="Audit trail")).to_have_count(0)
    expect(navigation.get_by_role("link", name="Clinic settings")).to_have_count(0)


def test_a_manager_sees_the_audit_trail_in_their_navigation(page, manager_user):
    sign_in_page(page, "boss", TEST_PASSWORD)
    main_navigation(page).get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.get_by_role("cell", name="Signed in", exact=True).first).to_be_visible()


def test_a_wrong_password_shows_an_error(page, frontdesk_user):
    sign_in_page(page, "desk", "not-my-password")
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    assert page.url.endswith("/accounts/login/")


def test_an_idle_session_is_sent_back_to_login(page, frontdesk_user, settings):
    settings.SESSION_COOKIE_AGE = 2
    sign_in_page(page, "desk", TEST_PASSWORD)
    expect(page.get_by_test_id("role")).to_be_visible()
    time.sleep(3)
    main_navigation(page).get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name="Sign in to Threadline")).to_be_visible()
    expect(page.get_by_text("Please sign in to continue.")).to_be_visible()
