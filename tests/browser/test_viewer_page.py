"""Issue 15, point 6: the deck viewer in a real browser, through the real edge and gRPC
server — who sees a deck, what a person sees of it (titles, buttons, folded notes),
present mode at the keyboard, right-to-left, real glyphs in four scripts, the two
downloads opened as files, phones; with screenshots and the page's render time.

tests/e2e/test_viewer.py and test_export.py check the same pages over plain HTTP; here
only what takes a browser. The servers and decks are shared by the module's tests (none
changes a deck; each signs in, if at all, as a person of its own on a cleared browser)."""

from __future__ import annotations

import io
import os
import statistics
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pptx import Presentation as open_pptx
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from chronicle.config import Settings
from server import bootstrap
from server.container import Container
from tests.browser.conftest import (
    PASSWORD,
    PHONE,
    REPO_ROOT,
    Page,
    Tenant,
    deck_sections,
    deck_texts,
    downloads_into,
    from_tests,
    make_deck,
    make_tenant,
    make_user,
    press,
    set_viewport,
)
from tests.harness import Databases, EdgeServer, GrpcServerThread

BUTTONS = ["Present", "Download PPTX", "Download PDF"]
MEMBER = "mia@example.com"
STRANGER = "sam@example.com"
NOT_FOUND = "Not found"
RENDER_TIME = REPO_ROOT / "test-artifacts" / "viewer-render-ms.txt"
SCREEN = (1280, 720)
# Which Debian package draws each script, and the families of it the viewer's CSS names.
FONTS = {
    "ja": ("fonts-noto-cjk", ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK KR")),
    "ar": ("fonts-noto-core", ("Noto Naskh Arabic", "Noto Sans Arabic")),
    "hi": ("fonts-noto-core", ("Noto Sans Devanagari",)),
    "bn": ("fonts-noto-core", ("Noto Sans Bengali",)),
}
# A code point no font maps (unassigned): drawn, it is the missing-glyph box.
NO_GLYPH = "\u0378"


# The servers, one for the module -----------------------------------------------------
# tests/conftest.py's fixtures of the same names, at module scope: the decks are made
# once. Each test's `page` still starts from a cleared browser.


@pytest.fixture(scope="module")
def database_url(
    tmp_path_factory: pytest.TempPathFactory, postgres: Databases | None
) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('viewer') / 'chronicle.db'}"
        return
    name = postgres.create(migrated=True)
    yield postgres.url(name)
    postgres.drop(name)


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    shared = from_tests("tests.conftest")
    return Settings.load(
        {},
        database_url=database_url,
        upload_dir=str(tmp_path_factory.mktemp("uploads")),
        redis_url=shared.TEST_REDIS or None,
        **shared.FAST_ARGON2,
        last_used_flush_seconds=0.2,
        sqlite_busy_timeout_seconds=1.0,
    )


@pytest.fixture(scope="module")
def container(settings: Settings) -> Container:
    container = Container(settings)
    bootstrap.prepare(container.engine, container.uow())
    return container


@pytest.fixture(scope="module")
def grpc_server(container: Container) -> Iterator[GrpcServerThread]:
    server = GrpcServerThread(container, port=0).start()
    yield server
    server.stop(grace=0)


@pytest.fixture(scope="module")
def edge(settings: Settings, grpc_server: GrpcServerThread) -> Iterator[EdgeServer]:
    with EdgeServer(settings, [f"127.0.0.1:{grpc_server.port}"]) as server:
        yield server


@pytest.fixture(scope="module")
def tenant(container: Container) -> Tenant:
    return make_tenant(container, "acme")


class Decks:
    """The module's decks, each made through the API the first time a test asks."""

    def __init__(self, edge: EdgeServer, tenant: Tenant) -> None:
        self.http = httpx.Client(base_url=edge.url, timeout=30)
        self._tenant = tenant
        self._made: dict[tuple[str, bool, int], dict[str, Any]] = {}

    def __call__(
        self, language: str = "en", *, public: bool = True, count: int = 7
    ) -> dict[str, Any]:
        key = (language, public, count)
        if key not in self._made:
            slides = [s for _ in range(count // 7 + 1) for s in deck_sections(language)]
            self._made[key] = make_deck(
                self.http, self._tenant, language=language, public=public, slides=slides[:count]
            )
        return self._made[key]


@pytest.fixture(scope="module")
def decks(edge: EdgeServer, tenant: Tenant) -> Iterator[Decks]:
    made = Decks(edge, tenant)
    yield made
    made.http.close()


@pytest.fixture(scope="module")
def people(container: Container, tenant: Tenant) -> dict[str, str]:
    """A member of the decks' workspace, and an admin of another one."""
    make_user(container, tenant.workspace_id, MEMBER, "member")
    elsewhere = make_tenant(container, "elsewhere")
    make_user(container, elsewhere.workspace_id, STRANGER, "admin")
    return {"member": MEMBER, "stranger": STRANGER}


# What the page shows ----------------------------------------------------------------


def path_of(deck: dict[str, Any]) -> str:
    return urlsplit(str(deck["url"])).path


def slides(page: Page) -> list[WebElement]:
    return page.driver.find_elements(By.CSS_SELECTOR, "section.slide")


def shown_items(page: Page) -> list[str]:
    """The ids of the slides' list items that are rendered (one script, not one call
    to the driver per item: present mode asks after every key)."""
    shown: list[str] = page.driver.execute_script(
        "return Array.from(document.querySelectorAll('li.slide-item'))"
        ".filter((item) => item.checkVisibility({visibilityProperty: true}))"
        ".map((item) => item.id)"
    )
    return shown


def body_classes(page: Page) -> list[str]:
    return (page.driver.find_element(By.TAG_NAME, "body").get_attribute("class") or "").split()


def label(number: int, count: int, title: str) -> str:
    return f"Slide {number} of {count}" + (f": {title}" if title else "")


def open_deck(page: Page, deck: dict[str, Any]) -> None:
    page.open(path_of(deck))
    assert page.status == 200
    assert page.path == path_of(deck)


def geometry(page: Page) -> dict[str, float]:
    """The current slide's rect and the viewport, in CSS pixels."""
    box: dict[str, float] = page.driver.execute_script(
        """
        const rect = document.querySelector("li.slide-item.current section.slide")
          .getBoundingClientRect();
        return {left: rect.left, top: rect.top, width: rect.width, height: rect.height,
                viewWidth: document.documentElement.clientWidth,
                viewHeight: document.documentElement.clientHeight};
        """
    )
    return box


def assert_fills_the_window(page: Page) -> None:
    box = geometry(page)
    width, height = box["width"], box["height"]
    view_width, view_height = box["viewWidth"], box["viewHeight"]
    assert abs(width / height - 16 / 9) < 0.01, box
    assert abs(width - view_width) <= 1 or abs(height - view_height) <= 1, box
    assert box["left"] >= -0.5 and box["left"] + width <= view_width + 0.5, box
    assert box["top"] >= -0.5 and box["top"] + height <= view_height + 0.5, box
    # Centred in the other direction.
    assert abs(box["left"] - (view_width - width - box["left"])) <= 1, box
    assert abs(box["top"] - (view_height - height - box["top"])) <= 1, box


def assert_presenting(page: Page, number: int, count: int) -> None:
    """Slide `number` is the one shown, the fragment and the live region say so."""
    page.wait().until(lambda _: page.driver.execute_script("return location.hash") == f"#{number}")
    assert shown_items(page) == [f"slide-{number}"]
    current = page.driver.find_elements(By.CSS_SELECTOR, "li.slide-item.current")
    assert [item.get_attribute("id") for item in current] == [f"slide-{number}"]
    (section,) = current[0].find_elements(By.CSS_SELECTOR, "section.slide")
    assert section.accessible_name.startswith(f"Slide {number} of {count}")
    assert "presenting" in body_classes(page)


# Who sees a deck --------------------------------------------------------------------


def test_a_public_deck_shows_every_title_its_buttons_and_folded_notes_signed_out(
    page: Page, decks: Decks
) -> None:
    deck = decks("en")
    open_deck(page, deck)
    assert page.heading() == deck["title"]
    sections = deck["sections"]
    shown = slides(page)
    assert len(shown) == len(sections)
    tops = []
    for number, (element, section) in enumerate(zip(shown, sections, strict=True), 1):
        assert element.accessible_name == label(number, len(sections), section["title"])
        titles = element.find_elements(By.CSS_SELECTOR, "h2.slide-title")
        if section["title"]:
            (title,) = titles
            assert title.is_displayed(), f"slide {number}'s title is not displayed"
            assert title.text == section["title"]
            assert title.aria_role == "heading"
        else:
            assert titles == []
        assert element.is_displayed()
        tops.append(element.rect["y"])
    assert tops == sorted(tops) and len(set(tops)) == len(tops), tops  # in their order

    assert page.button_names() == BUTTONS
    for name in BUTTONS:
        assert page.button(name).accessible_name == name

    # Speaker notes: only the second slide has some, folded until asked for.
    (notes,) = page.driver.find_elements(By.CSS_SELECTOR, "details.notes")
    summary = notes.find_element(By.TAG_NAME, "summary")
    # It reads "Speaker notes"; a screen reader hears which slide's, too.
    shown = page.driver.execute_script("return arguments[0].firstChild.nodeValue", summary)
    assert shown == "Speaker notes"
    assert summary.accessible_name == "Speaker notes for slide 2"
    note = notes.find_element(By.TAG_NAME, "p")
    assert not note.is_displayed()
    assert notes.get_attribute("open") is None
    summary.click()
    page.wait().until(lambda _: note.is_displayed())
    assert note.text == deck_texts()["en"]["note"]
    assert notes.get_attribute("open") is not None


def test_a_private_deck_asks_to_sign_in_and_brings_the_member_back_to_it(
    page: Page, decks: Decks, people: dict[str, str]
) -> None:
    deck = decks("en", public=False)
    page.open(path_of(deck))
    assert page.path == "/login"
    assert parse_qs(urlsplit(page.driver.current_url).query) == {"next": [path_of(deck)]}
    assert page.heading() == "Sign in to Chronicle"
    page.type_into("Email", people["member"])
    page.type_into("Password", PASSWORD)
    page.click("Sign in")
    assert page.path == path_of(deck)
    assert page.status == 200
    assert page.heading() == deck["title"]
    assert len(slides(page)) == len(deck["sections"])
    assert page.button_names() == ["Sign out", *BUTTONS]


def test_another_workspaces_member_sees_the_same_404_as_for_an_unknown_id(
    page: Page, decks: Decks, people: dict[str, str]
) -> None:
    deck = decks("en", public=False)
    page.sign_in(people["stranger"])
    seen = []
    for path in (path_of(deck), path_of(deck).rsplit("/", 1)[0] + "/pres_doesnotexist00000"):
        page.open(path)
        assert page.path == path
        assert page.status == 404
        assert page.heading() == NOT_FOUND
        assert deck["title"] not in page.text()
        seen.append(page.driver.find_element(By.CSS_SELECTOR, "main").text)
    assert seen[0] == seen[1]


# Present mode ------------------------------------------------------------------------


def test_present_mode_fills_the_window_and_moves_with_the_keys(page: Page, decks: Decks) -> None:
    deck = decks("en")
    count = len(deck["sections"])
    set_viewport(page.driver, *SCREEN)
    open_deck(page, deck)
    page.click("Present")
    query = parse_qs(urlsplit(page.driver.current_url).query)
    assert page.path == path_of(deck) and query == {"present": ["1"]}
    assert_presenting(page, 1, count)
    assert_fills_the_window(page)
    page.screenshot("viewer-present-en-1280x720")

    for key, number in (
        (Keys.ARROW_RIGHT, 2),
        (Keys.SPACE, 3),
        (Keys.PAGE_DOWN, 4),
        (Keys.ARROW_LEFT, 3),
        (Keys.PAGE_UP, 2),
        (Keys.END, count),
        (Keys.ARROW_RIGHT, count),  # no further than the last
        (Keys.HOME, 1),
        (Keys.ARROW_LEFT, 1),  # nor back before the first
        (Keys.PAGE_DOWN, 2),
        (Keys.PAGE_DOWN, 3),
    ):
        press(page.driver, key)
        assert_presenting(page, number, count)
    assert_fills_the_window(page)

    with page.navigation():
        page.driver.refresh()
    assert_presenting(page, 3, count)

    # Whatever the window's shape, the slide fills its width or its height.
    for width, height in ((1280, 600), PHONE, (800, 800)):
        set_viewport(page.driver, width, height)
        assert_fills_the_window(page)
    set_viewport(page.driver, *SCREEN)

    with page.navigation():
        press(page.driver, Keys.ESCAPE)
    assert page.path == path_of(deck)
    url = urlsplit(page.driver.current_url)
    assert "present" not in parse_qs(url.query)
    assert url.fragment == "slide-3"
    assert "presenting" not in body_classes(page)
    assert shown_items(page) == [f"slide-{n}" for n in range(1, count + 1)]
    assert page.button_names() == BUTTONS
    # The slide presented last is where the page now stands.
    top = page.driver.execute_script(
        "return document.getElementById('slide-3').getBoundingClientRect().top"
    )
    assert abs(float(top)) <= 1, top


def test_in_present_mode_every_slide_shows_all_its_text(page: Page, decks: Decks) -> None:
    deck = decks("en")
    count = len(deck["sections"])
    set_viewport(page.driver, *SCREEN)
    page.open(f"{path_of(deck)}?present=1")
    cut = []
    for number in range(1, count + 1):
        assert_presenting(page, number, count)
        cut += text_cut(page, "li.slide-item.current section.slide")
        press(page.driver, Keys.ARROW_RIGHT)
    if cut:
        pytest.fail("text of the slides not shown in present mode:\n" + "\n".join(cut))


# Scripts -----------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("en", "ltr")])
def test_titles_and_bullets_take_their_direction_from_their_text(
    page: Page, decks: Decks, language: str, direction: str
) -> None:
    deck = decks(language)
    open_deck(page, deck)
    slide = slides(page)[1]  # title and body: a title, a heading, a paragraph, bullets
    title = slide.find_element(By.CSS_SELECTOR, "h2.slide-title")
    bullet = slide.find_element(By.CSS_SELECTOR, "ul.bullets li")
    assert title.text == deck_texts()[language]["slides"][0]
    assert bullet.text == deck_texts()[language]["bullets"][0]
    for element in (title, bullet):
        assert element.value_of_css_property("direction") == direction, element.text
    # Laid out so: the title's text stands at its box's start (right in right-to-left).
    ink, box = page.driver.execute_script(
        """
        const range = document.createRange();
        range.selectNodeContents(arguments[0]);
        const ink = range.getBoundingClientRect(), box = arguments[0].getBoundingClientRect();
        return [[ink.left, ink.right], [box.left, box.right]];
        """,
        title,
    )
    start = 1 if direction == "rtl" else 0
    assert abs(ink[start] - box[start]) <= 1, (ink, box)
    assert abs(ink[1 - start] - box[1 - start]) > 20, (ink, box)


# Each character drawn alone on a canvas in the slide title's own font: alpha bitmaps
# compared with that of a character no font has (the missing-glyph box, which Chromium
# draws from the first font when no font on the machine covers a character).
DRAW_CHARACTERS = """
const [characters, font, missing] = arguments;
const canvas = document.createElement("canvas");
canvas.width = 240;
canvas.height = 160;
const context = canvas.getContext("2d", { willReadFrequently: true });
function alpha(character) {
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.font = font;
  context.textBaseline = "middle";
  context.fillText(character, 60, 80);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  return data.filter((_, index) => index % 4 === 3);
}
const box = alpha(missing);
const same = (a, b) => a.length === b.length && a.every((value, index) => value === b[index]);
return {
  boxInked: box.some((value) => value > 0),
  characters: characters.map((character) => {
    const drawn = alpha(character);
    return { inked: drawn.some((value) => value > 0), box: same(drawn, box) };
  }),
};
"""


def platform_fonts(page: Page) -> list[list[str]]:
    """Per slide title, the families Chromium drew it with (CSS.getPlatformFontsForNode)."""
    driver = page.driver
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    try:
        root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        nodes = driver.execute_cdp_cmd(
            "DOM.querySelectorAll", {"nodeId": root, "selector": "h2.slide-title"}
        )["nodeIds"]
        return [
            [
                font["familyName"]
                for font in driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})[
                    "fonts"
                ]
            ]
            for node in nodes
        ]
    finally:
        driver.execute_cdp_cmd("CSS.disable", {})
        driver.execute_cdp_cmd("DOM.disable", {})


@pytest.mark.parametrize("language", list(FONTS))
def test_every_character_of_every_title_is_drawn_with_a_real_glyph(
    page: Page, decks: Decks, language: str
) -> None:
    package, families = FONTS[language]
    install = f"install Debian's {package} (apt-get install -y {package})"
    deck = decks(language)
    open_deck(page, deck)
    titles = page.driver.find_elements(By.CSS_SELECTOR, "h2.slide-title")
    assert [t.text for t in titles] == [s["title"] for s in deck["sections"] if s["title"]]
    used = platform_fonts(page)
    assert len(used) == len(titles)
    problems: list[str] = []
    checked: set[str] = set()
    for title, fonts in zip(titles, used, strict=True):
        text = title.text
        if text in checked:  # the closing slide repeats a title
            continue
        checked.add(text)
        # Spaces and joiners (ZWJ, ZWNJ) draw nothing, rightly.
        characters = [c for c in text if not c.isspace() and unicodedata.category(c) != "Cf"]
        font = f"{title.value_of_css_property('font-weight')} 48px " + (
            title.value_of_css_property("font-family")
        )
        drawn = page.driver.execute_script(DRAW_CHARACTERS, characters, font, NO_GLYPH)
        assert drawn["boxInked"], f"the missing-glyph box draws nothing in {font}"
        for character, result in zip(characters, drawn["characters"], strict=True):
            name = f"U+{ord(character):04X} {unicodedata.name(character, '?')} of {text!r}"
            if result["box"]:
                problems.append(f"{name}: the missing-glyph box")
            elif not result["inked"]:
                problems.append(f"{name}: nothing drawn")
        # The script's own characters drawn by a font of the package, as the CSS asks.
        if any(ord(c) > 0x2FF for c in characters) and not set(fonts) & set(families):
            problems.append(f"{text!r} drawn with {fonts}, none of {list(families)}")
    if problems:  # the fonts missing on this machine: a failure, never a skip
        pytest.fail("\n".join([f"{language}: {install}", *problems]), pytrace=False)


# Downloads ---------------------------------------------------------------------------


def test_download_pptx_gives_the_deck_as_a_presentation(
    page: Page, decks: Decks, tmp_path: Path
) -> None:
    deck = decks("en")
    open_deck(page, deck)
    with downloads_into(page, tmp_path) as downloads:
        page.button("Download PPTX").click()
        file = downloads.file(".pptx")
    assert file.name == f"{deck['title']}.pptx"
    presentation = open_pptx(io.BytesIO(file.read_bytes()))
    assert len(presentation.slides) == len(deck["sections"])
    titles = [
        slide.shapes.title.text if slide.shapes.title is not None else ""
        for slide in presentation.slides
    ]
    assert [t for t in titles if t] == [s["title"] for s in deck["sections"] if s["title"]]
    assert page.path == path_of(deck)  # the page stays


def test_download_pdf_gives_the_deck_one_page_per_slide(
    page: Page, decks: Decks, tmp_path: Path
) -> None:
    deck = decks("en")
    open_deck(page, deck)
    with downloads_into(page, tmp_path) as downloads:
        page.button("Download PDF").click()
        file = downloads.file(".pdf")
    assert file.name == f"{deck['title']}.pdf"
    reader = PdfReader(io.BytesIO(file.read_bytes()))
    assert len(reader.pages) == len(deck["sections"])
    text = " ".join(pdf_page.extract_text() for pdf_page in reader.pages)
    for section in deck["sections"]:
        assert section["title"] in text
    assert page.path == path_of(deck)


# Phones, screenshots, render time ---------------------------------------------------------


# Each piece of a slide's text (its title, and each block's text) with what hides any of
# it: not rendered, or drawn outside a box that clips it (its slide, or the slide's body).
TEXT_CUT = """
const pieces = ".slide-title, .block.heading, .block.paragraph, .bullets li,"
  + " .quote blockquote, .quote figcaption, .image figcaption, .table-wrap th, .table-wrap td";
const cut = [];
document.querySelectorAll(arguments[0]).forEach((slide) => {
  slide.querySelectorAll(pieces).forEach((element) => {
    const number = slide.closest("li.slide-item").id.replace("slide-", "");
    if (!element.textContent.trim()) {
      return;
    }
    const what = `slide ${number}: ${element.tagName.toLowerCase()}`
      + ` ${JSON.stringify(element.textContent.trim())}`;
    const range = document.createRange();
    range.selectNodeContents(element);
    const text = range.getBoundingClientRect();
    if (!element.checkVisibility({ visibilityProperty: true }) || text.height === 0) {
      cut.push(`${what} is not rendered`);
      return;
    }
    for (let box = element.parentElement; box; box = box.parentElement) {
      const style = getComputedStyle(box);
      if (style.overflowX !== "visible" || style.overflowY !== "visible") {
        const frame = box.getBoundingClientRect();
        if (text.top < frame.top - 1 || text.bottom > frame.bottom + 1
            || text.left < frame.left - 1 || text.right > frame.right + 1) {
          const shown = Math.max(0, Math.min(text.bottom, frame.bottom)
            - Math.max(text.top, frame.top));
          cut.push(`${what}: ${Math.round(shown)} of ${Math.round(text.height)} px high`
            + ` shown, clipped by ${box.tagName.toLowerCase()}.${box.className}`);
          return;
        }
      }
      if (box === slide) {
        break;
      }
    }
  });
});
return cut;
"""


def text_cut(page: Page, slides: str = "section.slide") -> list[str]:
    """What of the text of the `slides` (a CSS selector) is not rendered, or clipped."""
    cut: list[str] = page.driver.execute_script(TEXT_CUT, slides)
    return cut


def assert_all_text_shown(page: Page) -> None:
    cut = text_cut(page)
    if cut:
        pytest.fail("text of the slides not shown:\n" + "\n".join(cut))


def assert_no_horizontal_scroll(page: Page) -> None:
    width, client = page.driver.execute_script(
        "const root = document.documentElement; return [root.scrollWidth, root.clientWidth]"
    )
    assert width <= client, f"horizontal scroll: {width} px of content in {client} px"


@pytest.mark.parametrize("language", ["en", "ja", "ar"])
def test_at_360_px_the_deck_fits_the_width_and_shows_all_its_text(
    page: Page, decks: Decks, language: str
) -> None:
    set_viewport(page.driver, *PHONE)
    open_deck(page, decks(language))
    page.screenshot(f"viewer-{language}-360")
    assert_no_horizontal_scroll(page)
    for button in page.buttons():
        right = button.rect["x"] + button.rect["width"]
        assert button.rect["x"] >= 0 and right <= PHONE[0], button.accessible_name
    assert_all_text_shown(page)


@pytest.mark.parametrize("language", ["en", "ja", "ar"])
def test_at_1280x720_every_slide_shows_all_its_text(
    page: Page, decks: Decks, language: str
) -> None:
    set_viewport(page.driver, *SCREEN)
    open_deck(page, decks(language))
    page.screenshot(f"viewer-{language}-1280x720")
    assert_no_horizontal_scroll(page)
    assert_all_text_shown(page)


def test_measure_the_render_time_of_a_ten_slide_deck(page: Page, decks: Decks) -> None:
    """A measurement, not a test: the median of 5 loads (Navigation Timing loadEventEnd,
    from the navigation's start; the static files cached after the first) goes to
    test-artifacts/viewer-render-ms.txt for the bench and the docs to quote."""
    deck = decks("en", count=10)
    times = []
    for _ in range(5):
        open_deck(page, deck)
        assert len(slides(page)) == 10
        end = page.wait().until(
            lambda driver: driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
        )
        times.append(float(end))
    RENDER_TIME.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: the two passes of the suite (.ci/run) may write it at once.
    partial = RENDER_TIME.with_name(f".{RENDER_TIME.name}.{os.getpid()}")
    partial.write_text(f"{statistics.median(times):.1f}\n")
    partial.replace(RENDER_TIME)
