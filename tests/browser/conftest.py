"""One headless Chromium per session (Debian's /usr/bin/chromium and chromedriver, never
a downloaded one), a clean browser for each test, and a `Page` that finds what a person
sees by its accessible name: a button by its text, a field by its <label>."""

from __future__ import annotations

import base64
import importlib
import os
import re
import secrets
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.selenium_manager import SeleniumManager
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from server.container import Container
from server.services import keys as key_service
from server.services import users as user_service
from tests.harness import EdgeServer
from tests.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# CI installs both (.ci/run) and sets this: there a missing browser fails the run.
REQUIRE_BROWSER = "CHRONICLE_REQUIRE_BROWSER"

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"

WIDE = (1280, 900)
PHONE = (360, 800)
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02  # WebDriverWait's default, 0.5 s, would be most of each step's time

PASSWORD = "correct horse battery staple 42"
ADMIN_EMAIL = "ada@example.com"
MEMBER_EMAIL = "max@example.com"

CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    # Nothing fetched from the network: no updates, no sync, no first-run pages.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--lang=en-US",
    f"--window-size={WIDE[0]},{WIDE[1]}",
)


def _no_selenium_manager(*_: object, **__: object) -> dict[str, str]:
    raise AssertionError(
        "Selenium Manager was asked for a browser or a driver: the tests name "
        f"{CHROMIUM} and {CHROMEDRIVER} so that nothing is ever downloaded"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """The session's one headless Chromium; skips the tests where the Debian packages
    are absent, unless CHRONICLE_REQUIRE_BROWSER=1 (CI), which fails them instead."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        reason = (
            f"no browser to drive: {' and '.join(missing)} missing "
            "(apt-get install chromium chromium-driver)"
        )
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"{reason}; {REQUIRE_BROWSER}=1 requires them", pytrace=False)
        pytest.skip(reason)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    with pytest.MonkeyPatch.context() as patch:
        # Both paths given, Selenium never runs its manager (which may download a browser
        # and a driver); made certain here: were it asked, starting the browser fails.
        patch.setattr(SeleniumManager, "binary_paths", _no_selenium_manager)
        patch.delenv("SE_CHROMEDRIVER", raising=False)
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        capabilities = cast(dict[str, Any], driver.capabilities)
        assert capabilities["browserName"] in ("chrome", "chromium"), capabilities
        yield driver
    finally:
        driver.quit()


# A test's outcome, for its page's teardown: a failed test leaves a screenshot.
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


def xpath_literal(text: str) -> str:
    """`text` as an XPath 1.0 string literal, whatever quotes it holds."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = ', "\'", '.join(f"'{part}'" for part in text.split("'"))
    return f"concat({parts})"


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """The whole page (beyond the viewport too) as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^0-9A-Za-z._-]+', '-', name)}.png"
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    # Whole or not at all: the two passes of the suite (.ci/run) may write it at once.
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(base64.b64decode(shot["data"]))
    partial.replace(path)
    return path


class Page:
    """The browser on one edge: what a person does (open, type, click) and sees."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    # Where the browser is ---------------------------------------------------------

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self._wait_loaded()

    @property
    def path(self) -> str:
        return urlsplit(self.driver.current_url).path

    @property
    def status(self) -> int:
        """The HTTP status of the document shown (its navigation entry)."""
        status = self.driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].responseStatus"
        )
        return int(status)

    @property
    def source(self) -> str:
        return self.driver.page_source

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    @contextmanager
    def navigation(self) -> Iterator[None]:
        """Around an action that loads another document: returns once it has loaded.

        The document before is marked with a fresh token: another document (a new one,
        or one from the back-forward cache) lacks it. No element is held across the
        navigation, which chromedriver may answer with errors other than "stale"."""
        token = secrets.token_hex(8)
        self.driver.execute_script("window.chronicleTestMark = arguments[0]", token)
        yield
        # Mid-navigation, a script may find no document to run in: asked again.
        self.wait(ignored=(WebDriverException,)).until(
            lambda driver: driver.execute_script(
                "return window.chronicleTestMark !== arguments[0]"
                " && document.readyState === 'complete'",
                token,
            )
        )

    def wait(
        self, seconds: float = WAIT_SECONDS, ignored: tuple[type[Exception], ...] = ()
    ) -> WebDriverWait[webdriver.Chrome]:
        return WebDriverWait(
            self.driver, seconds, poll_frequency=POLL_SECONDS, ignored_exceptions=ignored
        )

    def _wait_loaded(self) -> None:
        self.wait().until(
            lambda driver: driver.execute_script("return document.readyState") == "complete"
        )

    # Finding things by their accessible name ----------------------------------------

    def heading(self, level: int = 1) -> str:
        (heading,) = self.driver.find_elements(By.TAG_NAME, f"h{level}")
        assert heading.aria_role == "heading"
        return heading.text

    def has_heading(self, name: str) -> bool:
        found = self.driver.find_elements(
            By.XPATH, f"//*[self::h1 or self::h2][normalize-space()={xpath_literal(name)}]"
        )
        return any(element.accessible_name == name for element in found)

    def buttons(self, within: WebElement | None = None) -> list[WebElement]:
        scope = within if within is not None else self.driver
        return [
            button
            for button in scope.find_elements(
                By.CSS_SELECTOR, "button, input[type=submit], input[type=button], [role=button]"
            )
            if button.is_displayed()
        ]

    def button_names(self, within: WebElement | None = None) -> list[str]:
        return [button.accessible_name for button in self.buttons(within)]

    def button(self, name: str, within: WebElement | None = None) -> WebElement:
        """The one visible button named `name` (by its text), in `within` or the page."""
        scope = within if within is not None else self.driver
        literal = xpath_literal(name)
        found = [
            element
            for element in scope.find_elements(
                By.XPATH,
                f".//button[normalize-space()={literal}]"
                f" | .//input[(@type='submit' or @type='button') and @value={literal}]",
            )
            if element.is_displayed()
        ]
        assert len(found) == 1, f"{len(found)} visible buttons named {name!r}"
        (button,) = found
        assert button.accessible_name == name
        return button

    def field(self, label: str) -> WebElement:
        """The input or select whose <label> reads `label`."""
        labels = self.driver.find_elements(
            By.XPATH, f"//label[normalize-space()={xpath_literal(label)}]"
        )
        assert len(labels) == 1, f"{len(labels)} labels reading {label!r}"
        target = labels[0].get_attribute("for")
        element = (
            self.driver.find_element(By.ID, target)
            if target
            else labels[0].find_element(By.XPATH, ".//input | .//select | .//textarea")
        )
        assert element.accessible_name == label
        return element

    def has_field(self, label: str) -> bool:
        return bool(
            self.driver.find_elements(
                By.XPATH, f"//label[normalize-space()={xpath_literal(label)}]"
            )
        )

    def focused(self) -> WebElement:
        return self.driver.switch_to.active_element

    # Doing things ----------------------------------------------------------------

    def type_into(self, label: str, text: str) -> None:
        field = self.field(label)
        field.clear()
        field.send_keys(text)

    def choose(self, label: str, option: str) -> None:
        Select(self.field(label)).select_by_visible_text(option)

    def click(self, name: str, within: WebElement | None = None) -> None:
        """Clicks the button named `name`, which loads another page."""
        button = self.button(name, within)
        with self.navigation():
            button.click()

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.open("/login")
        self.type_into("Email", email)
        self.type_into("Password", password)
        self.click("Sign in")

    def csrf(self) -> str:
        """The page's own CSRF token, as its Sign out form carries it."""
        token = self.driver.find_element(
            By.CSS_SELECTOR, "form[action='/logout'] input[name=csrf]"
        ).get_attribute("value")
        assert token
        return token

    def post_form(self, action: str, fields: dict[str, str]) -> None:
        """Posts a form of `fields` to `action` from this page, as a forged page would."""
        with self.navigation():
            self.driver.execute_script(
                """
                const [action, fields] = arguments;
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                for (const [name, value] of Object.entries(fields)) {
                  const input = document.createElement("input");
                  input.type = "hidden";
                  input.name = name;
                  input.value = value;
                  form.append(input);
                }
                document.body.append(form);
                form.submit();
                """,
                action,
                fields,
            )

    def row(self, key_id: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, f"tr[data-key-id='{key_id}']")

    def row_ids(self) -> list[str]:
        return [
            row.get_attribute("data-key-id") or ""
            for row in self.driver.find_elements(By.CSS_SELECTOR, "tr[data-key-id]")
        ]

    def new_key(self) -> str:
        """The raw key the page shows once, from its "New API key" field."""
        field = self.field("New API key")
        assert field.get_attribute("readonly") is not None
        value = field.get_attribute("value")
        assert value
        return value

    def scroll_width(self) -> tuple[int, int]:
        """(document.documentElement.scrollWidth, window.innerWidth)."""
        widths = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        return int(widths[0]), int(widths[1])

    def screenshot(self, name: str) -> Path:
        return screenshot(self.driver, name)


@pytest.fixture
def page(
    browser: webdriver.Chrome, edge: EdgeServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """The session's browser, cleared (no cookies, wide window) and pointed at this
    test's edge, whose origin may use the clipboard."""
    browser.get("about:blank")
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.set_window_size(*WIDE)
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": edge.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    page = Page(browser, edge.url)
    yield page
    if request.node.stash.get(_FAILED, False):
        screenshot(browser, f"failed-{request.node.name}")
    browser.get("about:blank")  # nothing of this test's page runs into the next one


class Tenant(Protocol):
    """What these tests read of tests/conftest.py's `tenant` (typed here, not imported:
    mypy --strict on tests/browser then stays within what it checks)."""

    @property
    def workspace_id(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    @property
    def headers(self) -> dict[str, str]: ...


def make_user(container: Container, workspace_id: str, email: str, role: str) -> str:
    with container.uow() as uow:
        created = user_service.create_user(
            uow,
            container.password_hasher,
            workspace_id=workspace_id,
            email=email,
            role=role,
            password=PASSWORD,
        )
    return created.record.id


@pytest.fixture
def admin(container: Container, tenant: Tenant) -> str:
    make_user(container, tenant.workspace_id, ADMIN_EMAIL, "admin")
    return ADMIN_EMAIL


@pytest.fixture
def member(container: Container, tenant: Tenant) -> str:
    make_user(container, tenant.workspace_id, MEMBER_EMAIL, "member")
    return MEMBER_EMAIL


def key_ids(container: Container, workspace_id: str) -> list[str]:
    """Every key of the workspace, as the database holds them."""
    with container.uow() as uow:
        keys, _ = key_service.list_api_keys(uow, workspace_id, page_size=100)
    return [key.id for key in keys]


# Helpers of tests/ outside this folder, imported when first used rather than at the
# top: mypy --strict on tests/browser then stays within what it checks (tests/decks.py
# imports tests/conftest.py).


def from_tests(name: str) -> Any:
    """The module `name` (say "tests.decks"), as pytest has it or imported now."""
    return importlib.import_module(name)


def make_tenant(container: Container, name: str) -> Tenant:
    """tests/conftest.py's make_tenant: a workspace and a live API key for it."""
    tenant: Tenant = from_tests("tests.conftest").make_tenant(container, name)
    return tenant


def make_deck(http: Any, tenant: Tenant, **options: Any) -> dict[str, Any]:
    """tests/decks.py's make_deck (language=, public=, title=, slides=), through the API."""
    deck: dict[str, Any] = from_tests("tests.decks").make_deck(http, tenant, **options)
    return deck


def deck_texts() -> dict[str, dict[str, Any]]:
    """tests/decks.py's TEXTS: per language, the phrases its decks are made of."""
    texts: dict[str, dict[str, Any]] = from_tests("tests.decks").TEXTS
    return texts


def deck_sections(language: str = "en") -> list[dict[str, Any]]:
    """tests/decks.py's seven sections (every layout and block kind) in `language`."""
    made: list[dict[str, Any]] = from_tests("tests.decks").sections(language)
    return made


# The window ------------------------------------------------------------------------


def set_viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    """Resizes the window so that the page's viewport (innerWidth by innerHeight) is
    exactly `width` by `height`: the window's own frame, if any, is added."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [innerWidth, innerHeight]")
    driver.set_window_size(2 * width - int(inner[0]), 2 * height - int(inner[1]))
    inner = driver.execute_script("return [innerWidth, innerHeight]")
    assert (int(inner[0]), int(inner[1])) == (width, height), f"viewport {inner}"


def press(driver: webdriver.Chrome, *keys: str) -> None:
    """Presses `keys` where the focus is, as a person at the keyboard does."""
    ActionChains(driver).send_keys(*keys).perform()


# Downloads -------------------------------------------------------------------------

PARTIAL_DOWNLOAD = ".crdownload"  # Chromium's name for a file it is still writing


class Downloads:
    """What the browser downloads from the page it shows now, into `directory`."""

    def __init__(self, page: Page, directory: Path) -> None:
        self.page = page
        self.directory = directory
        self.start = page.driver.current_url  # a download leaves the page where it is

    def file(self, suffix: str, timeout: float = 60.0) -> Path:
        """The one file ending in `suffix` that the browser has finished writing; failing
        with what the browser shows instead as soon as it shows another page (a failed
        download is an error page), or after `timeout` s."""

        def done() -> bool:
            names = [path.name for path in self.directory.iterdir()]
            if any(name.endswith(suffix) for name in names) and not any(
                name.endswith(PARTIAL_DOWNLOAD) for name in names
            ):
                return True
            if self.page.driver.current_url != self.start:
                raise AssertionError(f"no download: {instead()}")
            return False

        def instead() -> str:
            driver = self.page.driver
            headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h1")]
            alerts = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "[role=alert]")]
            files = sorted(path.name for path in self.directory.iterdir())
            return (
                f"no finished {suffix} file in {self.directory} (files: {files}); the "
                f"browser shows {driver.current_url} headed {headings} {alerts}"
            )

        wait_until(done, timeout, what=instead, interval=0.05)
        (path,) = [path for path in self.directory.iterdir() if path.name.endswith(suffix)]
        assert path.stat().st_size > 0, f"{path} is empty"
        return path


@contextmanager
def downloads_into(page: Page, directory: Path) -> Iterator[Downloads]:
    """Within: what the browser downloads from this page goes to `directory`, without
    asking; after, the browser's default again (headless: no downloads)."""
    page.driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(directory)}
    )
    try:
        yield Downloads(page, directory)
    finally:
        page.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "default"})
