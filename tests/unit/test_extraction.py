"""Text extraction from uploaded files: every readable type, damaged files, the cap."""

from __future__ import annotations

import io

import pytest

from server.files import extract
from tests.documents import DOCUMENTS, PHRASES, pdf_document, pptx_document


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_each_readable_type_gives_its_phrases(kind: str) -> None:
    _, content_type, make = DOCUMENTS[kind]
    text = extract.text_of(io.BytesIO(make()), content_type)
    assert text is not None
    for phrase in PHRASES:
        assert phrase in text, (kind, text)


def test_pptx_reads_titles_notes_text_boxes_and_tables() -> None:
    text = extract.text_of(io.BytesIO(pptx_document()), DOCUMENTS["pptx"][1])
    assert text is not None
    assert "## Finding 1" in text  # slide titles become headings the writers can use
    assert "Speaker note 2 for the review." in text
    assert "Textbox line about Lisbon ferries." in text
    assert "Patagonia wool exports" in text


def test_text_is_utf8_with_replacement_and_no_bom() -> None:
    raw = "\ufeffCafé menu.\n".encode() + b"\xff\xfe broken bytes."
    text = extract.text_of(io.BytesIO(raw), "text/plain")
    assert text is not None
    assert text.startswith("Café menu.") and "\ufffd" in text


def test_images_are_not_read() -> None:
    assert extract.text_of(io.BytesIO(b"\x89PNG\r\n\x1a\n...."), "image/png") is None


@pytest.mark.parametrize(
    "damaged",
    [b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage without xref", b"not a pdf at all"],
)
def test_a_damaged_pdf_is_a_readable_error(damaged: bytes) -> None:
    with pytest.raises(extract.ExtractionError, match="PDF"):
        extract.text_of(io.BytesIO(damaged), "application/pdf")


def test_a_truncated_pdf_is_a_readable_error_or_partial_text() -> None:
    whole = pdf_document(pages=3)
    try:
        text = extract.text_of(io.BytesIO(whole[: len(whole) // 2]), "application/pdf")
    except extract.ExtractionError as exc:
        assert "PDF" in str(exc)
    else:
        assert isinstance(text, str)


def test_a_damaged_pptx_is_a_readable_error() -> None:
    with pytest.raises(extract.ExtractionError, match="PowerPoint"):
        extract.text_of(io.BytesIO(b"PK\x03\x04 not really a zip"), DOCUMENTS["pptx"][1])


def test_text_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_CHARS", 1000)
    text = extract.text_of(io.BytesIO(b"word " * 10_000), "text/plain")
    assert text is not None and len(text) == 1000
    pdf = extract.text_of(io.BytesIO(pdf_document(pages=40)), "application/pdf")
    assert pdf is not None and len(pdf) <= 1000
