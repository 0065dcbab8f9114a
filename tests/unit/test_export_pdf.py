"""The PDF exporter, read back with pypdf and fontTools: a 16:9 page per slide, text that
can be extracted, fonts embedded as subsets, every character of a deck in any of its
scripts drawn with a glyph of an embedded font (no missing-glyph boxes), text kept on the
page, and a clear ExportUnavailable when a script's font package is not installed.

The decks are test_export_pptx's: the rich deck, and the built-in writer's in each language."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hypothesis
import pytest
from fontTools.cffLib import CFFFontSet  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from hypothesis import strategies as st
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from chronicle.v1.presentation_pb2 import (
    BulletList,
    ContentBlock,
    Paragraph,
    Presentation,
    Table,
    TableRow,
)
from server.export import ExportUnavailable, Format, export, pdf_writer
from server.export.pdf_fonts import DEFAULT_LIBRARY, FontLibrary
from server.vocabulary import Language
from tests.unit.test_export_pptx import (
    HOSTILE,
    UPLOAD,
    hostile_deck,
    image_deck,
    no_images,
    png,
    recording,
    rich_deck,
    written_deck,
)


def pdf(deck: Presentation, images: dict[str, bytes] | None = None) -> PdfReader:
    return PdfReader(io.BytesIO(export(deck, Format.PDF, (images or {}).get)))


def squeeze(text: str) -> str:
    return " ".join(text.split())


def deck_texts(deck: Presentation) -> Iterator[str]:
    """Every text of the deck a page shows (speaker notes are not drawn)."""
    for section in deck.sections:
        yield section.title
        for block in section.blocks:
            yield block.heading.text
            yield block.paragraph.text
            yield from block.bullet_list.items
            yield block.quote.text
            yield block.quote.attribution
            yield from block.table.header
            yield from (cell for row in block.table.rows for cell in row.cells)
            yield block.image.alt_text
            yield block.image.caption


def test_one_widescreen_page_per_slide() -> None:
    deck = rich_deck()
    reader = pdf(deck, {UPLOAD: png()})

    assert len(reader.pages) == len(deck.sections)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == (960.0, 540.0)
    assert reader.metadata is not None and reader.metadata.title == "Operations review"


def test_titles_bullets_paragraphs_and_cells_are_text() -> None:
    deck = rich_deck()
    reader = pdf(deck)

    for page, section in zip(reader.pages, deck.sections, strict=True):
        text = squeeze(page.extract_text())
        assert section.title in text
        for block in section.blocks:
            for item in block.bullet_list.items:
                assert item.strip() in text
            for cell in [*block.table.header, *(c for r in block.table.rows for c in r.cells)]:
                assert cell in text
            assert block.paragraph.text in text
            assert block.quote.text in text


def entry(holder: DictionaryObject, key: str) -> DictionaryObject:
    """A dictionary entry of a PDF object, resolved: a font, its descriptor."""
    value = holder[key].get_object()
    if isinstance(value, ArrayObject):  # /DescendantFonts holds one font
        value = value[0].get_object()
    assert isinstance(value, DictionaryObject), (key, value)
    return value


def stream(holder: DictionaryObject, key: str) -> bytes:
    value = holder[key].get_object()
    assert isinstance(value, StreamObject), (key, value)
    return value.get_data()


def fonts(reader: PdfReader) -> dict[int, DictionaryObject]:
    """Every font the pages use, by object number."""
    found = {}
    for page in reader.pages:
        used = entry(entry(page, "/Resources"), "/Font")
        for name, reference in used.items():
            assert isinstance(reference, IndirectObject)
            found[reference.idnum] = entry(used, name)
    return found


def test_fonts_are_embedded_as_subsets() -> None:
    for language in (Language.US, Language.JA, Language.AR):
        for font in fonts(pdf(written_deck(language))).values():
            name = str(font["/BaseFont"])
            assert re.match(r"/[A-Z]{6}\+", name), name
            descriptor = entry(entry(font, "/DescendantFonts"), "/FontDescriptor")
            assert {"/FontFile2", "/FontFile3"} & set(descriptor), name


def _pairs(stream: str, block: str) -> Iterator[tuple[int, str]]:
    """The entries of a CMap's bfchar or cidchar blocks: code and the rest of its line."""
    for body in re.findall(rf"begin{block}(.*?)end{block}", stream, re.S):
        for code, value in re.findall(r"<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\d+)", body):
            yield int(code, 16), value


def drawn_characters(font: DictionaryObject) -> tuple[set[str], set[str]]:
    """The characters the font draws with a real glyph of its embedded program, and those
    it draws with .notdef (a missing-glyph box): the ToUnicode map gives each code's
    characters, CIDToGIDMap (TrueType) or the encoding CMap (CFF) its glyph."""
    unicode = {
        code: bytes.fromhex(value.strip("<>")).decode("utf-16-be")
        for code, value in _pairs(stream(font, "/ToUnicode").decode(), "bfchar")
    }
    cid_font = entry(font, "/DescendantFonts")
    descriptor = entry(cid_font, "/FontDescriptor")
    if "/FontFile2" in descriptor:
        program = TTFont(io.BytesIO(stream(descriptor, "/FontFile2")))
        order, glyf = program.getGlyphOrder(), program["glyf"]
        mapping = stream(cid_font, "/CIDToGIDMap")

        def real(code: int) -> bool:
            gid = int.from_bytes(mapping[2 * code : 2 * code + 2], "big")
            return 0 < gid < len(order) and glyf[order[gid]].numberOfContours != 0

    else:
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(stream(descriptor, "/FontFile3")), None)
        charset = set(cff.topDictIndex[0].charset)
        encoding = stream(font, "/Encoding").decode()
        cids = {code: int(cid) for code, cid in _pairs(encoding, "cidchar")}

        def real(code: int) -> bool:
            cid = cids.get(code, 0)
            return cid > 0 and f"cid{cid:05d}" in charset

    good: set[str] = set()
    boxes: set[str] = set()
    for code, chars in unicode.items():
        (good if real(code) else boxes).update(c for c in chars if c not in " \x00")
    return good, boxes


def visible(text: str) -> set[str]:
    return {c for c in text if unicodedata.category(c)[0] not in "ZC"}


SCRIPTED = [Language.JA, Language.CN, Language.KO, Language.AR, Language.HI, Language.BN]


@pytest.mark.parametrize("language", [*SCRIPTED, Language.US])
def test_every_character_is_drawn_with_a_glyph_of_an_embedded_font(language: Language) -> None:
    deck = written_deck(language)
    good: set[str] = set()
    boxes: set[str] = set()
    for font in fonts(pdf(deck)).values():
        drawn, missing = drawn_characters(font)
        good |= drawn
        boxes |= missing

    wanted = visible("".join(deck_texts(deck)))
    assert wanted - good == set()
    assert boxes == set()


def test_japanese_titles_and_bullets_can_be_extracted() -> None:
    """pypdf reads the CJK font's two-byte codes with a NUL before each character (poppler's
    pdftotext reads them exactly), so NULs are dropped with the whitespace."""
    deck = written_deck(Language.JA)
    reader = pdf(deck)
    for page, section in zip(reader.pages, deck.sections, strict=True):
        text = "".join(page.extract_text().replace("\x00", "").split())
        assert "".join(section.title.split()) in text
        for block in section.blocks:
            for item in block.bullet_list.items:
                assert "".join(item.split()) in text


def test_arabic_text_extracts_in_reading_order() -> None:
    deck = written_deck(Language.AR)
    reader = pdf(deck)
    for page, section in zip(reader.pages, deck.sections, strict=True):
        text = squeeze(page.extract_text())
        assert section.title in text
        for block in section.blocks:
            for item in block.bullet_list.items:
                assert squeeze(item) in text


@pytest.mark.parametrize(
    ("language", "block"), [(Language.HI, (0x0900, 0x097F)), (Language.BN, (0x0980, 0x09FF))]
)
def test_indic_titles_extract_letter_for_letter(language: Language, block: tuple[int, int]) -> None:
    """pypdf spells a conjunct's second glyph with its raw code, so only the script's own
    letters are compared, in order."""

    def letters(text: str) -> str:
        return "".join(c for c in text if block[0] <= ord(c) <= block[1])

    deck = written_deck(language)
    reader = pdf(deck)
    for page, section in zip(reader.pages, deck.sections, strict=True):
        assert letters(section.title) in letters(page.extract_text())


def test_uploaded_images_are_drawn_and_other_urls_get_a_placeholder() -> None:
    elsewhere = "https://example.com/elsewhere.png"
    asked, images = recording({UPLOAD: png(640, 480)})
    reader = PdfReader(io.BytesIO(export(image_deck(UPLOAD, elsewhere), Format.PDF, images)))

    assert sorted(asked) == sorted([UPLOAD, elsewhere])
    ours, theirs = reader.pages
    assert len(ours.images) == 1
    assert not theirs.images
    assert f"Alt of {elsewhere}" in squeeze(theirs.extract_text())
    assert "Caption" in ours.extract_text()


def test_missing_fonts_make_the_export_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ExportUnavailable) as raised:
        pdf_writer.render(rich_deck(), no_images, FontLibrary(tmp_path))
    message = str(raised.value)
    assert "fonts-noto-core" in message and "apt-get install fonts-noto-core" in message


def test_a_missing_cjk_package_is_named_for_the_deck_language(tmp_path: Path) -> None:
    """Only fonts-noto-core's fonts: Latin and Arabic decks still export, Japanese do not."""
    (tmp_path / "truetype").symlink_to(DEFAULT_LIBRARY.root / "truetype")
    library = FontLibrary(tmp_path)
    for language in (Language.US, Language.AR):
        assert pdf_writer.render(written_deck(language), no_images, library).startswith(b"%PDF")

    with pytest.raises(ExportUnavailable) as raised:
        pdf_writer.render(written_deck(Language.JA), no_images, library)
    assert "fonts-noto-cjk" in str(raised.value) and "Japanese" in str(raised.value)


def test_concurrent_exports_match_serial_ones() -> None:
    decks = [written_deck(language) for language in (Language.US, Language.JA, Language.AR)] * 3

    def text(deck: Presentation) -> list[str]:
        return [page.extract_text() for page in pdf(deck).pages]

    serial = [text(deck) for deck in decks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(text, decks)) == serial


def positions(reader: PdfReader) -> Iterator[tuple[str, float, float]]:
    """Each piece of text with where it starts on its page."""
    found: list[tuple[str, float, float]] = []
    for page in reader.pages:

        def seen(text: str, cm: list[float], tm: list[float], *_: object) -> None:
            if text.strip():
                found.append((text, tm[4] + cm[4], tm[5] + cm[5]))

        page.extract_text(visitor_text=seen)
    yield from found


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_content_stays_on_its_pages(text: str) -> None:
    reader = pdf(hostile_deck(text))
    assert len(reader.pages) == 2
    for piece, x, y in positions(reader):
        assert 0 <= x <= 960 and 0 <= y <= 540, (piece, x, y)


def test_a_huge_table_and_long_text_are_cut_on_the_page() -> None:
    rows = [TableRow(cells=[f"r{r}c{c}" for c in range(30)]) for r in range(500)]
    deck = Presentation(title="Big")
    deck.sections.add(
        title="Big",
        blocks=[
            ContentBlock(paragraph=Paragraph(text="word " * 3000)),
            ContentBlock(table=Table(header=[f"h{c}" for c in range(30)], rows=rows)),
            ContentBlock(bullet_list=BulletList(items=["item"] * 200)),
        ],
    )
    reader = pdf(deck)
    assert len(reader.pages) == 1
    for piece, x, y in positions(reader):
        if piece != "1":  # all but the page number stay above the footer
            assert 0 <= x <= 960 and 40 <= y <= 540, (piece, x, y)


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
)
def test_any_text_exports(text: str) -> None:
    assert len(pdf(hostile_deck(text)).pages) == 2
