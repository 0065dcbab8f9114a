"""Issue 15, point 2: ExportPresentation over REST — google.api.HttpBody served as the
file it is — and the viewer's download buttons; our own images embedded, nobody's
else fetched."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from pptx import Presentation as open_pptx
from pypdf import PdfReader

from chronicle.config import Settings
from server.container import Container
from tests.conftest import Tenant, make_tenant
from tests.decks import make_deck, sections
from tests.e2e.test_uploads import upload
from tests.harness import EdgeServer, free_port

PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
PDF = "application/pdf"


@pytest.fixture
def edge_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, edge_port: int) -> Settings:
    """The edge at a known address: the base of the local upload URLs decks point at."""
    return replace(settings, public_url=f"http://127.0.0.1:{edge_port}")


@pytest.fixture
def edge(edge_factory: Any, edge_port: int) -> EdgeServer:
    server: EdgeServer = edge_factory(port=edge_port)
    return server


@pytest.fixture
def http(edge: EdgeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.url, timeout=60) as client:
        yield client


def export(http: httpx.Client, tenant: Tenant, deck_id: str, fmt: str) -> httpx.Response:
    return http.get(
        f"/api/v1/presentations/{deck_id}/export", params={"format": fmt}, headers=tenant.headers
    )


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, red) PNG, made here so the test needs no image file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_a_deck_exports_to_pptx_with_its_slides_and_a_named_attachment(
    http: httpx.Client, tenant: Tenant
) -> None:
    deck = make_deck(http, tenant)
    answer = export(http, tenant, deck["id"], "pptx")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == PPTX
    assert answer.headers["content-disposition"] == (
        "attachment; filename=\"Quarterly review.pptx\"; filename*=UTF-8''Quarterly%20review.pptx"
    )
    slides = open_pptx(io.BytesIO(answer.content)).slides
    assert len(slides) == len(deck["sections"])
    titles = [s.shapes.title.text if s.shapes.title is not None else "" for s in slides]
    assert [t for t in titles if t] == [s["title"] for s in deck["sections"] if s["title"]]


def test_a_deck_exports_to_pdf_one_page_per_slide(http: httpx.Client, tenant: Tenant) -> None:
    deck = make_deck(http, tenant)
    answer = export(http, tenant, deck["id"], "PDF")  # the format's case does not matter
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == PDF
    reader = PdfReader(io.BytesIO(answer.content))
    assert len(reader.pages) == len(deck["sections"])
    text = " ".join(page.extract_text() for page in reader.pages)
    for section in deck["sections"]:
        assert section["title"] in text


def test_a_title_in_another_script_names_the_file_for_every_client(
    http: httpx.Client, tenant: Tenant
) -> None:
    deck = make_deck(http, tenant, language="ja")
    answer = export(http, tenant, deck["id"], "pptx")
    disposition = answer.headers["content-disposition"]
    assert 'filename="download.pptx"' in disposition  # the ASCII fallback
    assert f"filename*=UTF-8''{quote('四半期レビュー.pptx')}" in disposition


def test_an_unknown_or_missing_format_is_a_400_naming_the_formats(
    http: httpx.Client, tenant: Tenant
) -> None:
    deck = make_deck(http, tenant)
    for fmt in ("docx", ""):
        answer = export(http, tenant, deck["id"], fmt)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == "BAD_REQUEST" and "pptx, pdf" in error["message"]


def test_another_workspaces_deck_is_403_and_an_unknown_one_404(
    http: httpx.Client, tenant: Tenant, container: Container
) -> None:
    deck = make_deck(http, tenant)
    other = make_tenant(container, "rival")
    refused = export(http, other, deck["id"], "pdf")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "INSUFFICIENT_PRIVILEGES"
    assert export(http, tenant, "pres_nothing000000000", "pdf").status_code == 404


def test_the_openapi_document_describes_the_binary_answer(http: httpx.Client) -> None:
    document = http.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/presentations/{id}/export"]["get"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {PPTX, PDF}
    assert all(c["schema"] == {"type": "string", "format": "binary"} for c in content.values())
    names = {p["name"] for p in operation["parameters"]}
    assert {"id", "format"} <= names


def test_the_viewers_buttons_download_both_files(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    deck = make_deck(http, tenant, public=True)
    base = edge.url + urlsplit(deck["url"]).path
    for fmt, kind in (("pptx", PPTX), ("pdf", PDF)):
        answer = httpx.get(f"{base}/export", params={"format": fmt}, timeout=60)
        assert answer.status_code == 200 and answer.headers["content-type"] == kind
        assert answer.headers["content-disposition"].startswith("attachment;")


def test_our_own_image_is_embedded_and_shown_and_another_sites_is_not_fetched(
    http: httpx.Client, tenant: Tenant, edge: EdgeServer
) -> None:
    image = png()
    target = upload(http, tenant, "chart.png", "image/png", image)
    slides = sections()
    slides.append(
        {
            "title": "Ours",
            "layout": "image",
            "blocks": [{"image": {"url": target["download_url"], "alt_text": "Our chart"}}],
        }
    )
    deck = make_deck(http, tenant, public=True, slides=slides)
    answer = export(http, tenant, deck["id"], "pptx")
    pictures = [
        shape
        for slide in open_pptx(io.BytesIO(answer.content)).slides
        for shape in slide.shapes
        if shape.shape_type == 13  # MSO_SHAPE_TYPE.PICTURE
    ]
    assert len(pictures) == 1 and pictures[0].image.blob == image
    shown = httpx.get(f"{edge.url}{urlsplit(deck['url']).path}/images/{len(slides) - 1}/0")
    assert shown.status_code == 200 and shown.content == image
    assert shown.headers["content-type"] == "image/png"
