"""Issue 15, point 1 over HTTP: a deck at its `url` — who may see it, what the page
holds, present mode, its images, the generation's page. The browser suite drives the
same pages as a person does."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from server.container import Container
from tests.conftest import Tenant, make_tenant
from tests.decks import TEXTS, make_deck
from tests.e2e.test_pages import sign_in
from tests.hardening.test_sessions import make_user
from tests.harness import EdgeServer

MEMBER = "mia@example.com"
STRANGER = "sam@example.com"


def path_of(deck: dict[str, Any]) -> str:
    return urlsplit(deck["url"]).path


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def member(container: Container, tenant: Tenant) -> str:
    make_user(container, tenant.workspace_id, MEMBER, "member")
    return MEMBER


@pytest.fixture
def stranger(container: Container) -> str:
    other = make_tenant(container, "elsewhere")
    make_user(container, other.workspace_id, STRANGER, "admin")
    return STRANGER


def test_the_url_of_a_public_deck_opens_it_for_anyone(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, public=True)
    assert path_of(deck).startswith("/app/presentations/")  # served by this edge
    page = httpx.get(edge.url + path_of(deck))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = visible_text(page.text)
    for section in deck["sections"]:
        assert section["title"] in text
    for bullet in TEXTS["en"]["bullets"]:
        assert bullet in text
    assert page.text.count('class="slide ') == len(deck["sections"])
    assert "Revenue" in text and "118" in text  # the table
    for name in ("Present", "Download PPTX", "Download PDF"):
        assert f">{name}</button>" in page.text
    # Speaker notes are there, folded away.
    assert '<details class="notes">' in page.text and TEXTS["en"]["note"] in text


def test_a_private_deck_asks_a_stranger_to_sign_in_and_shows_to_its_members(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer, member: str
) -> None:
    deck = make_deck(http, tenant)
    away = httpx.get(edge.url + path_of(deck))
    assert away.status_code == 303
    assert away.headers["location"] == f"/login?next={path_of(deck)}"
    with httpx.Client(base_url=edge.url) as person:
        sign_in(person, member)
        page = person.get(path_of(deck))
        assert page.status_code == 200
        assert TEXTS["en"]["title"] in visible_text(page.text)


def test_another_workspace_sees_the_same_404_as_for_an_unknown_id(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer, stranger: str
) -> None:
    deck = make_deck(http, tenant)
    with httpx.Client(base_url=edge.url) as person:
        sign_in(person, stranger)
        theirs = person.get(path_of(deck))
        unknown = person.get(path_of(deck).rsplit("/", 1)[0] + "/pres_doesnotexist00000")
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.headers["content-type"].startswith("text/html")
        strip = re.compile(r'name="csrf" value="[^"]+"')
        assert strip.sub("", theirs.text) == strip.sub("", unknown.text)
        # Public decks of any workspace are for anyone.
        public = make_deck(http, tenant, public=True)
        assert person.get(path_of(public)).status_code == 200


def test_a_stale_session_still_sees_public_decks(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, public=True)
    with httpx.Client(base_url=edge.url) as person:
        person.cookies.set("chronicle_session", "chr_ses_" + "B" * 32)
        assert person.get(path_of(deck)).status_code == 200


def test_present_mode_is_asked_for_in_the_url(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, public=True)
    page = httpx.get(edge.url + path_of(deck) + "?present=1")
    assert 'class="deck-page presenting"' in page.text
    assert f'data-slides="{len(deck["sections"])}"' in page.text
    assert "presenting" not in httpx.get(edge.url + path_of(deck)).text.split("<body", 1)[1][:80]


def test_right_to_left_text_is_laid_out_right_to_left(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, language="ar", public=True)
    page = httpx.get(edge.url + path_of(deck)).text
    # dir="auto" on every slide and text block: the browser takes each one's direction
    # from its first strong character (the browser suite checks the computed direction).
    assert page.count('class="slide ') == page.count('dir="auto"\n             aria-label')
    for bullet in TEXTS["ar"]["bullets"]:
        assert html.escape(bullet) in page or bullet in page


def test_the_page_is_small_and_loads_nothing_from_elsewhere(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    ten = [s for _ in range(2) for s in make_deck(http, tenant)["sections"]][:10]
    for section in ten:
        section.pop("id", None)
    deck = make_deck(http, tenant, public=True, slides=ten)
    page = httpx.get(edge.url + path_of(deck))
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {"/static/app.css", "/static/app.js", "/static/deck.js"} <= set(assets)
    total = len(page.content) + sum(len(httpx.get(edge.url + a).content) for a in set(assets))
    assert total <= 100 * 1024, total
    # No URL of another origin anywhere a browser would load it from (the image of
    # another site is not loaded: its slide shows our own image route).
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', page.text)
    assert "images.example" not in page.text


def test_an_image_that_is_not_ours_is_never_fetched(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, public=True)
    image = next(
        n for n, s in enumerate(deck["sections"]) if s["blocks"] and "image" in s["blocks"][0]
    )
    answer = httpx.get(f"{edge.url}{path_of(deck)}/images/{image}/0")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    for wrong in ("0/0", "99/0", f"{image}/5"):
        assert httpx.get(f"{edge.url}{path_of(deck)}/images/{wrong}").status_code == 404


def test_the_generation_page_follows_its_job_then_opens_the_deck(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer, member: str, stranger: str
) -> None:
    started = http.post(
        "/api/v1/presentations/generate",
        json={"prompt": "Quarterly review. Revenue grew. Churn fell.", "non_interactive": True},
        headers=tenant.headers,
    )
    generation = started.json()["generation_id"]
    page_path = f"/app/generations/{generation}"
    assert httpx.get(edge.url + page_path).headers["location"] == f"/login?next={page_path}"
    with httpx.Client(base_url=edge.url) as person:
        sign_in(person, member)
        page = person.get(page_path)
        assert page.status_code in (200, 303)
        if page.status_code == 200:
            assert "<progress" in page.text and 'role="status"' in page.text
            progress = person.get(page_path + "/progress").json()
            assert set(progress) == {"status", "step", "percent", "message", "deck"}
    with httpx.Client(base_url=edge.url) as other:
        assert sign_in(other, stranger).status_code == 303
        refused = other.get(page_path)
        assert refused.status_code == 404, (refused.status_code, refused.headers)


def test_odd_image_addresses_and_a_head_of_an_export_are_pages_not_errors(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, public=True)
    base = edge.url + path_of(deck)
    for tail in ("/images/1/99999999999999999999", "/images/99999999999/0"):
        answer = httpx.get(base + tail)
        assert answer.status_code == 404 and "Traceback" not in answer.text, tail
    head = httpx.head(base + "/export?format=pdf")
    assert head.status_code == 405 and head.headers["allow"] == "GET"


def test_a_stale_session_cookie_is_cleared_by_the_viewer(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, public=True)
    stale = {"cookie": "chronicle_session=chr_ses_" + "C" * 32}
    answer = httpx.get(edge.url + path_of(deck), headers=stale)
    assert answer.status_code == 200
    cleared = [c for c in answer.headers.get_list("set-cookie") if "chronicle_session=" in c]
    assert cleared and "max-age=0" in cleared[0].lower()
