"""Issue 14, point 5: sign-in and Settings → API in a real browser, through the real edge
and gRPC server, driven by what a person sees (accessible names) and checked as they
would check it, with the API itself called with the keys the page shows."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from server.container import Container
from tests.browser.conftest import PASSWORD, PHONE, Page, Tenant, key_ids
from tests.harness import EdgeServer
from tests.waiting import wait_until

SESSION_COOKIE = "chronicle_session"
SIGN_IN_FAILED = "Invalid email or password"
SHOWN_ONCE = "Copy it now: it will not be shown again."
CSRF_REFUSED = "did not come from this site"


def press(page: Page, *keys: str) -> None:
    ActionChains(page.driver).send_keys(*keys).perform()


def tab_to(page: Page, name: str, presses: int = 10) -> None:
    """Presses Tab (at least once) until the focus is on the element named `name`."""
    for _ in range(presses):
        press(page, Keys.TAB)
        if page.focused().accessible_name == name:
            return
    raise AssertionError(f"{name!r} not reached with {presses} presses of Tab")


def call_api(http: httpx.Client, raw_key: str) -> tuple[int, str]:
    """GET /api/v1/templates with `raw_key`: the status and, when refused, the error code."""
    response = http.get("/api/v1/templates", headers={"authorization": f"Bearer {raw_key}"})
    if response.status_code == 200:
        return 200, ""
    return response.status_code, str(response.json()["error"]["code"])


def create_key(
    page: Page, name: str, environment: str = "live", expires: str = "never"
) -> tuple[str, str]:
    """Creates a key with the page's form: its raw value (shown once) and its id."""
    before = set(page.row_ids())
    page.type_into("Name", name)
    page.choose("Environment", environment)
    page.choose("Expires", expires)
    page.click("Create key")
    assert page.status == 201
    assert page.has_heading(f"Key “{name}” created")
    raw = page.new_key()
    (key_id,) = set(page.row_ids()) - before
    assert page.row(key_id).find_element(By.XPATH, "./th").text == name
    return raw, key_id


def status_cell(page: Page, key_id: str) -> str:
    return page.row(key_id).find_element(By.CSS_SELECTOR, "td[data-label=Status]").text


def no_session_cookie(page: Page) -> bool:
    return page.driver.get_cookie(SESSION_COOKIE) is None


def test_signing_in_with_the_keyboard_alone_lands_on_the_api_keys_page(
    page: Page, admin: str
) -> None:
    page.open("/login")
    assert page.heading() == "Sign in to Chronicle"
    page.screenshot("login-1280")
    assert page.focused().accessible_name == "Email"  # autofocus; from the page's top:
    ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert page.focused().accessible_name == "Skip to content"
    tab_to(page, "Email")
    press(page, admin)
    press(page, Keys.TAB)
    assert page.focused().accessible_name == "Password"
    press(page, PASSWORD)
    with page.navigation():
        press(page, Keys.ENTER)
    assert page.path == "/settings/api"
    assert page.heading() == "API keys"
    assert page.has_heading("Activity")
    cookie = page.driver.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    page.screenshot("settings-api-1280")


@pytest.mark.parametrize(
    ("email", "password"),
    [(None, "not the password"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_a_wrong_password_and_an_unknown_email_get_the_same_message(
    page: Page, admin: str, email: str | None, password: str
) -> None:
    page.sign_in(email or admin, password)
    assert page.path == "/login"
    assert page.status == 401
    alert = page.driver.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.text == SIGN_IN_FAILED
    assert page.field("Email").get_attribute("value") == (email or admin)
    assert no_session_cookie(page)


def test_a_new_key_is_shown_once_copies_works_and_is_gone_after_a_reload(
    page: Page,
    admin: str,
    http: httpx.Client,
    edge: EdgeServer,
    container: Container,
    tenant: Tenant,
) -> None:
    page.sign_in(admin)
    raw, key_id = create_key(page, "production backend", "live", "30 days")
    assert SHOWN_ONCE in page.text()
    page.screenshot("settings-api-1280-new-key")
    # The answer to the POST already stands at /settings/api in the address bar.
    assert page.driver.current_url == f"{edge.url}/settings/api"

    page.button("Copy").click()
    status = page.driver.find_element(By.ID, "copy-status")
    assert status.aria_role == "status"
    page.wait().until(lambda _: status.text == "Copied to the clipboard.")
    clipboard = page.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, (error) => done(`failed: ${error}`));"
    )
    assert clipboard == raw

    assert call_api(http, raw) == (200, "")
    row = page.row(key_id).text
    assert "Active" in row and f"by {admin}" in row

    with page.navigation():
        page.driver.refresh()
    assert page.status == 200
    assert page.driver.current_url == f"{edge.url}/settings/api"
    assert raw not in page.source
    assert not page.has_field("New API key")
    assert SHOWN_ONCE not in page.text()
    # The reload fetched the page: it did not send the form again.
    assert sorted(key_ids(container, tenant.workspace_id)) == sorted([tenant.key_id, key_id])
    # Nor is the key in the history: back to the page before, then forward again.
    with page.navigation():
        page.driver.back()
    assert raw not in page.source
    with page.navigation():
        page.driver.forward()
    assert page.path == "/settings/api"
    assert raw not in page.source
    assert sorted(key_ids(container, tenant.workspace_id)) == sorted([tenant.key_id, key_id])


def test_a_revoked_key_is_refused_within_a_second_and_listed_with_its_reason(
    page: Page, admin: str, http: httpx.Client
) -> None:
    page.sign_in(admin)
    raw, key_id = create_key(page, "ci deploy")
    assert call_api(http, raw) == (200, "")  # the edge knows the key before it is revoked

    page.click("Revoke", within=page.row(key_id))
    assert page.heading() == "Revoke “ci deploy”"
    page.type_into("Reason", "leaked in a CI log")
    page.click("Revoke key")
    wait_until(
        lambda: call_api(http, raw) == (401, "API_KEY_REVOKED"),
        timeout=1.0,
        what=lambda: f"the revoked key refused; the API answers {call_api(http, raw)}",
    )
    assert page.path == "/settings/api"
    status = status_cell(page, key_id)
    assert "Revoked" in status
    assert "Reason: leaked in a CI log" in status
    assert page.button_names(page.row(key_id)) == []  # nothing left to rotate or revoke
    newest = page.driver.find_element(By.CSS_SELECTOR, "#activity-heading + ol li")
    assert "Revoked" in newest.text and "ci deploy" in newest.text


def test_a_rotated_key_is_shown_once_and_both_keys_work_in_the_grace_period(
    page: Page, admin: str, http: httpx.Client
) -> None:
    page.sign_in(admin)
    old, key_id = create_key(page, "mobile app")
    page.click("Rotate", within=page.row(key_id))
    assert page.heading() == "Rotate “mobile app”"
    grace = Select(page.field("Grace period"))
    assert grace.first_selected_option.text == "24 hours"
    assert [option.text for option in grace.options] == [
        "none (the old key stops now)",
        "1 hour",
        "24 hours",
        "7 days",
    ]
    page.choose("Grace period", "1 hour")
    page.click("Rotate key")
    assert page.status == 201
    new = page.new_key()
    assert new != old
    assert SHOWN_ONCE in page.text()
    assert "The previous key keeps working until" in page.text()
    assert call_api(http, old) == (200, "")
    assert call_api(http, new) == (200, "")

    with page.navigation():
        page.driver.refresh()
    assert new not in page.source
    assert not page.has_field("New API key")


def test_a_member_sees_keys_and_activity_but_cannot_change_them(
    page: Page, member: str, container: Container, tenant: Tenant
) -> None:
    page.sign_in(member)
    assert page.heading() == "API keys"
    assert page.row_ids() == [tenant.key_id]
    assert page.has_heading("Activity")
    names = page.button_names()
    assert "Sign out" in names
    for control in ("Create key", "Rotate", "Revoke"):
        assert control not in names
    assert not page.has_field("Name")

    # A form of their own making, with this page's valid CSRF token: refused all the same.
    page.post_form(
        "/settings/api/keys",
        {"csrf": page.csrf(), "name": "forged", "environment": "live", "expires": "never"},
    )
    assert page.status == 403
    assert page.heading() == "Not allowed"
    assert key_ids(container, tenant.workspace_id) == [tenant.key_id]
    page.open(f"/settings/api/keys/{tenant.key_id}/revoke")
    assert page.status == 403


def test_a_form_without_its_csrf_token_is_refused_and_does_nothing(
    page: Page, admin: str, container: Container, tenant: Tenant
) -> None:
    page.sign_in(admin)
    page.post_form(
        "/settings/api/keys", {"name": "no token", "environment": "live", "expires": "never"}
    )
    assert page.status == 403
    assert page.heading() == "Not allowed"
    assert CSRF_REFUSED in page.driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert key_ids(container, tenant.workspace_id) == [tenant.key_id]
    page.open("/settings/api")
    assert page.row_ids() == [tenant.key_id]


def test_signing_out_ends_the_session_not_only_the_cookie(
    page: Page, admin: str, edge: EdgeServer
) -> None:
    page.sign_in(admin)
    cookie = page.driver.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    with_session = {"cookie": f"{SESSION_COOKIE}={cookie['value']}"}
    assert httpx.get(f"{edge.url}/settings/api", headers=with_session).status_code == 200

    page.click("Sign out")
    assert page.path == "/login"
    assert no_session_cookie(page)
    response = httpx.get(f"{edge.url}/settings/api", headers=with_session)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    page.open("/settings/api")
    assert page.path == "/login"


def test_at_360_px_the_page_fits_and_its_form_and_table_work(
    page: Page, admin: str, http: httpx.Client
) -> None:
    page.driver.set_window_size(*PHONE)
    page.open("/login")
    assert page.scroll_width()[0] <= page.scroll_width()[1]
    page.screenshot("login-360")
    page.sign_in(admin)
    width, inner = page.scroll_width()
    assert inner <= PHONE[0]
    assert width <= inner, f"horizontal scroll: {width} px of content in {inner} px"
    page.screenshot("settings-api-360")

    raw, key_id = create_key(page, "phone test")
    width, inner = page.scroll_width()
    assert width <= inner, f"horizontal scroll with a new key: {width} px in {inner} px"
    copy = page.button("Copy")
    assert copy.rect["x"] >= 0 and copy.rect["x"] + copy.rect["width"] <= inner
    page.screenshot("settings-api-360-new-key")
    assert call_api(http, raw) == (200, "")

    row = page.row(key_id)
    for name in ("Rotate", "Revoke"):
        button = page.button(name, within=row)
        assert button.rect["x"] >= 0 and button.rect["x"] + button.rect["width"] <= inner
    page.click("Revoke", within=row)
    assert page.heading() == "Revoke “phone test”"
    width, inner = page.scroll_width()
    assert width <= inner
