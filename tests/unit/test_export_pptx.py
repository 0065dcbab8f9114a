"""The PPTX exporter, read back with python-pptx: every slide's title, paragraphs, bullets
(with their levels), quotes, table cells and notes as the deck has them; images only from
the image source; Arabic right to left; hostile content exported rather than crashing."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterator

import hypothesis
import pytest
from hypothesis import strategies as st
from PIL import Image as PillowImage
from pptx import Presentation as open_pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.oxml.ns import qn
from pptx.shapes.base import BaseShape
from pptx.text.text import _Paragraph

from chronicle.v1.presentation_pb2 import (
    BulletList,
    ContentBlock,
    Heading,
    Image,
    Paragraph,
    Presentation,
    Quote,
    Table,
    TableRow,
)
from server.export import Format, export
from server.export.content import MAX_TABLE_ROWS
from server.export.pptx_writer import PLACEHOLDER_NAME
from server.generation.builtin import BuiltinWriter
from server.generation.writer import Brief
from server.vocabulary import Language, Layout

UPLOAD = "https://chronicle.test/uploads/chart.png"


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    PillowImage.new("RGB", (width, height), (43, 89, 195)).save(out, "PNG")
    return out.getvalue()


def no_images(url: str) -> bytes | None:
    return None


def rich_deck() -> Presentation:
    """Every kind of block, bullets at two levels, both kinds of list."""
    deck = Presentation(title="Operations review")
    deck.sections.add(
        title="Operations review",
        layout=Layout.TITLE,
        blocks=[
            ContentBlock(heading=Heading(text="Operations review", level=1)),
            ContentBlock(paragraph=Paragraph(text="Zanzibar copper shipments rose in March.")),
        ],
        speaker_notes="Open with the copper numbers.",
    )
    deck.sections.add(
        title="What changed",
        layout=Layout.TITLE_AND_BODY,
        blocks=[
            ContentBlock(heading=Heading(text="Highlights", level=2)),
            ContentBlock(
                bullet_list=BulletList(
                    items=["Quokka onboarding halved tickets", "  Most of it in week one", "Robots"]
                )
            ),
            ContentBlock(
                bullet_list=BulletList(items=["Hire", "Train", "\tShadow a senior"], ordered=True)
            ),
            ContentBlock(paragraph=Paragraph(text="Marigold robots sort parcels overnight.")),
        ],
        speaker_notes="Two lists.\nSecond line of the notes.",
    )
    deck.sections.add(
        title="In their words",
        layout=Layout.QUOTE,
        blocks=[ContentBlock(quote=Quote(text="It just works.", attribution="A customer"))],
    )
    deck.sections.add(
        title="By region",
        layout=Layout.TITLE_AND_BODY,
        blocks=[
            ContentBlock(
                table=Table(
                    header=["Region", "Q1", "Q2"],
                    rows=[TableRow(cells=["North", "10", "12"]), TableRow(cells=["South", "7"])],
                )
            )
        ],
    )
    deck.sections.add(
        title="The chart",
        layout=Layout.IMAGE,
        blocks=[
            ContentBlock(image=Image(url=UPLOAD, alt_text="Sales by month", caption="Figure 1")),
            ContentBlock(paragraph=Paragraph(text="Up and to the right.")),
        ],
    )
    deck.sections.add(title="Thank you", layout=Layout.CLOSING)
    return deck


def reopen(data: bytes) -> object:
    return open_pptx(io.BytesIO(data))


def paragraphs(slide: object) -> Iterator[_Paragraph]:
    """Every paragraph on a slide but the title's, tables included."""
    for shape in slide.shapes:  # type: ignore[attr-defined]
        if shape.is_placeholder:
            continue
        if shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    yield from cell.text_frame.paragraphs
        elif shape.has_text_frame:
            yield from shape.text_frame.paragraphs


def texts(slide: object) -> list[str]:
    return [p.text.replace("\v", "\n") for p in paragraphs(slide)]


def find(slide: object, text: str) -> _Paragraph:
    found = [p for p in paragraphs(slide) if p.text == text]
    assert found, f"{text!r} not on the slide: {texts(slide)}"
    return found[0]


def has_bullet(paragraph: _Paragraph) -> str | None:
    """The bullet a paragraph shows: a:buChar's character, 'auto' for numbering, or None."""
    p_pr = paragraph._p.pPr
    if p_pr is None:
        return None
    if p_pr.find(qn("a:buAutoNum")) is not None:
        return "auto"
    char = p_pr.find(qn("a:buChar"))
    return None if char is None else str(char.get("char"))


def test_every_section_is_a_slide_with_its_title_text_and_notes() -> None:
    deck = rich_deck()
    pptx = reopen(export(deck, Format.PPTX, {UPLOAD: png()}.get))
    slides = list(pptx.slides)  # type: ignore[attr-defined]

    assert len(slides) == len(deck.sections)
    assert pptx.core_properties.title == "Operations review"  # type: ignore[attr-defined]
    for slide, section in zip(slides, deck.sections, strict=True):
        assert slide.shapes.title.text == section.title
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
        assert notes == section.speaker_notes
    cover, body, quote, table, image, _ = slides
    assert "Zanzibar copper shipments rose in March." in texts(cover)
    assert "Operations review" not in texts(cover), "a heading repeating the title is left out"

    expected = [  # text, level, bullet
        ("Quokka onboarding halved tickets", 0, "\u2022"),
        ("Most of it in week one", 1, "\u2022"),
        ("Robots", 0, "\u2022"),
        ("Hire", 0, "auto"),
        ("Train", 0, "auto"),
        ("Shadow a senior", 1, "auto"),
    ]
    for text, level, bullet in expected:
        paragraph = find(body, text)
        assert (paragraph.level, has_bullet(paragraph)) == (level, bullet), text
    heading = find(body, "Highlights")
    assert has_bullet(heading) is None and heading.runs[0].font.bold
    assert has_bullet(find(body, "Marigold robots sort parcels overnight.")) is None

    assert "It just works." in texts(quote)
    assert any("A customer" in t for t in texts(quote))

    grid = next(s for s in table.shapes if s.has_table).table
    cells = [[cell.text for cell in row.cells] for row in grid.rows]
    assert cells == [["Region", "Q1", "Q2"], ["North", "10", "12"], ["South", "7", ""]]

    assert "Up and to the right." in texts(image)


def test_slides_are_widescreen() -> None:
    pptx = reopen(export(rich_deck(), Format.PPTX, no_images))
    assert (pptx.slide_width, pptx.slide_height) == (12192000, 6858000)  # type: ignore[attr-defined]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the exporter tried the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def recording(answers: dict[str, bytes]) -> tuple[list[str], Callable[[str], bytes | None]]:
    asked: list[str] = []

    def images(url: str) -> bytes | None:
        asked.append(url)
        return answers.get(url)

    return asked, images


def image_deck(*urls: str) -> Presentation:
    deck = Presentation(title="Pictures")
    for url in urls:
        block = ContentBlock(image=Image(url=url, alt_text=f"Alt of {url}", caption="Caption"))
        deck.sections.add(title=url, layout=Layout.IMAGE, blocks=[block])
    return deck


@pytest.mark.usefixtures("no_network")
def test_an_uploaded_image_is_embedded_as_a_picture() -> None:
    data = png()
    asked, images = recording({UPLOAD: data})
    pptx = reopen(export(image_deck(UPLOAD), Format.PPTX, images))

    assert asked == [UPLOAD]
    slide = pptx.slides[0]  # type: ignore[attr-defined]
    pictures = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert len(pictures) == 1
    assert pictures[0].image.blob == data
    assert pictures[0]._element.nvPicPr.cNvPr.get("descr") == f"Alt of {UPLOAD}"
    assert "Caption" in texts(slide)


@pytest.mark.usefixtures("no_network")
def test_an_unknown_url_gets_a_captioned_placeholder_from_the_image_source_alone() -> None:
    elsewhere = "https://example.com/not-ours.png"
    asked, images = recording({})
    pptx = reopen(export(image_deck(elsewhere), Format.PPTX, images))

    assert asked == [elsewhere]
    slide = pptx.slides[0]  # type: ignore[attr-defined]
    shapes: list[BaseShape] = list(slide.shapes)
    assert not [s for s in shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    placeholder = next(s for s in shapes if s.name == PLACEHOLDER_NAME)
    assert placeholder.text_frame.text == f"Alt of {elsewhere}"  # type: ignore[attr-defined]
    assert "Caption" in texts(slide)


def test_webp_is_converted_and_what_is_not_a_picture_gets_a_placeholder() -> None:
    webp = io.BytesIO()
    PillowImage.new("RGB", (40, 30), (200, 10, 10)).save(webp, "WEBP")
    answers = {"a.webp": webp.getvalue(), "b.png": b"\x89PNG\r\n\x1a\n not really", "c": b"%PDF"}
    pptx = reopen(export(image_deck(*answers), Format.PPTX, answers.get))

    webp_slide, broken, pdf = pptx.slides  # type: ignore[attr-defined]
    picture = next(s for s in webp_slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE)
    assert picture.image.content_type == "image/png"
    for slide in (broken, pdf):
        assert any(s.name == PLACEHOLDER_NAME for s in slide.shapes)


# Arabic-Indic digits: what ruff's RUF001 takes for Latin letters is the point here.
ARABIC = "نمت الإيرادات بنسبة ١١٪ في مارس."  # noqa: RUF001


def arabic_deck() -> Presentation:
    deck = Presentation(title="المراجعة الفصلية")
    deck.sections.add(
        title="النتائج",
        layout=Layout.TITLE_AND_BODY,
        blocks=[
            ContentBlock(paragraph=Paragraph(text=ARABIC)),
            ContentBlock(bullet_list=BulletList(items=["ارتفعت شحنات النحاس", "English item"])),
        ],
    )
    return deck


def test_arabic_paragraphs_run_right_to_left() -> None:
    slide = reopen(export(arabic_deck(), Format.PPTX, no_images)).slides[0]  # type: ignore[attr-defined]

    for text in (ARABIC, "ارتفعت شحنات النحاس"):
        p_pr = find(slide, text)._p.pPr
        assert p_pr is not None and p_pr.get("rtl") == "1", text
        r_pr = find(slide, text).runs[0]._r.rPr
        assert r_pr is not None and r_pr.find(qn("a:cs")).get("typeface") == "Noto Sans Arabic"
    english = find(slide, "English item")._p.pPr
    assert english is not None and english.get("rtl") is None
    title = slide.shapes.title.text_frame.paragraphs[0]._p.pPr
    assert title is not None and title.get("rtl") == "1"


def test_japanese_runs_name_an_east_asian_typeface_and_language() -> None:
    deck = Presentation(title="四半期レビュー")
    deck.sections.add(title="売上", blocks=[ContentBlock(paragraph=Paragraph(text="売上が増加"))])
    slide = reopen(export(deck, Format.PPTX, no_images)).slides[0]  # type: ignore[attr-defined]

    r_pr = find(slide, "売上が増加").runs[0]._r.rPr
    assert r_pr is not None
    assert r_pr.find(qn("a:ea")).get("typeface") == "Noto Sans CJK JP"
    assert r_pr.get("lang") == "ja-JP"


# Material in each language the API accepts, for the built-in writer to make decks of.
MATERIAL = {
    Language.US: "# Review\nCopper shipments rose eleven percent in March. Support tickets "
    "halved after onboarding changed. Robots now sort parcels overnight.",
    Language.ES: "# Revisión\nLos envíos de cobre subieron un once por ciento en marzo. Los "
    "tickets de soporte se redujeron a la mitad.",
    Language.CN: "# 季度回顾\n三月份铜的出货量增长了百分之十一。新的入职流程使支持工单减少了一半。",
    Language.JA: "# 四半期レビュー\n三月の銅の出荷は十一パーセント増えました。"
    "新しいオンボーディングで問い合わせが半分になりました。",
    Language.KO: "# 분기 검토\n3월 구리 출하량이 11퍼센트 증가했습니다. "
    "지원 요청이 절반으로 줄었습니다.",
    # Arabic letters, not look-alikes of Latin ones (RUF001).
    Language.AR: "# المراجعة الفصلية\nارتفعت شحنات النحاس بنسبة أحد عشر بالمئة في مارس. "  # noqa: RUF001
    "انخفضت تذاكر الدعم إلى النصف.",
    Language.HI: "# तिमाही समीक्षा\nमार्च में तांबे की खेप ग्यारह प्रतिशत बढ़ी। सहायता टिकट आधे हो गए।",
    Language.BN: "# ত্রৈমাসিক পর্যালোচনা\nমার্চে তামার চালান এগারো শতাংশ বেড়েছে। সহায়তা টিকিট অর্ধেক হয়েছে।",
}


def written_deck(language: Language) -> Presentation:
    """A deck the built-in writer makes from material in `language` (English's for the
    languages without material of their own: the labels are still theirs)."""
    text = MATERIAL.get(language, MATERIAL[Language.US])
    brief = Brief(text, text, language=language, section_count=5)
    writer = BuiltinWriter()
    sections = [writer.write(brief, p).section for p in writer.plan(brief).sections]
    return Presentation(title=sections[0].title, sections=sections)


@pytest.mark.parametrize("language", list(Language))
def test_written_decks_in_every_language_come_back_whole(language: Language) -> None:
    deck = written_deck(language)
    pptx = reopen(export(deck, Format.PPTX, no_images))

    slides = list(pptx.slides)  # type: ignore[attr-defined]
    assert [s.shapes.title.text for s in slides] == [s.title for s in deck.sections]
    for slide, section in zip(slides, deck.sections, strict=True):
        for block in section.blocks:
            for item in block.bullet_list.items:
                assert find(slide, item).level == 0


def test_empty_deck_gets_its_title_slide() -> None:
    pptx = reopen(export(Presentation(title="Nothing yet"), Format.PPTX, no_images))
    slides = list(pptx.slides)  # type: ignore[attr-defined]
    assert [s.shapes.title.text for s in slides] == ["Nothing yet"]


def test_a_huge_table_is_cut_to_what_a_slide_holds() -> None:
    rows = [TableRow(cells=[f"r{r}c{c}" for c in range(30)]) for r in range(500)]
    header = [f"h{c}" for c in range(30)]
    deck = Presentation(title="Big")
    deck.sections.add(title="Big", blocks=[ContentBlock(table=Table(header=header, rows=rows))])
    slide = reopen(export(deck, Format.PPTX, no_images)).slides[0]  # type: ignore[attr-defined]

    grid = next(s for s in slide.shapes if s.has_table).table
    assert len(grid.rows) <= MAX_TABLE_ROWS + 2
    assert len(grid.columns) == 12
    assert grid.cell(1, 0).text == "r0c0"
    last = grid.cell(len(grid.rows) - 1, 0).text
    assert last.startswith("\u2026 (+"), last


HOSTILE = [
    "",
    "x" * 5000,
    "Supercalifragilistic" * 40,
    "emoji 😀👩‍👩‍👧‍👦🏳️‍🌈 and ✓",
    "controls \x01\x07\x1b\x7f\x85 and \u2028 separators \ufeff",
    "mixed العربية English हिन्दी 日本語 한국어 বাংলা",
    "\n\n\n",
]


def hostile_deck(text: str) -> Presentation:
    deck = Presentation(title=text)
    deck.sections.add(title=text, layout="no-such-layout")
    deck.sections.add(
        title=text,
        layout=Layout.TWO_COLUMN,
        speaker_notes=text,
        blocks=[
            ContentBlock(heading=Heading(text=text, level=99)),
            ContentBlock(paragraph=Paragraph(text=text)),
            ContentBlock(bullet_list=BulletList(items=[text, "    " * 9 + text, ""])),
            ContentBlock(quote=Quote(text=text, attribution=text)),
            ContentBlock(table=Table(header=[text], rows=[TableRow(cells=[text, text])])),
            ContentBlock(table=Table()),
            ContentBlock(image=Image(url=text, alt_text=text, caption=text)),
            ContentBlock(),
        ],
    )
    return deck


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_content_exports(text: str) -> None:
    pptx = reopen(export(hostile_deck(text), Format.PPTX, no_images))
    assert len(list(pptx.slides)) == 2  # type: ignore[attr-defined]


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
)
def test_any_text_exports(text: str) -> None:
    pptx = reopen(export(hostile_deck(text), Format.PPTX, no_images))
    assert len(list(pptx.slides)) == 2  # type: ignore[attr-defined]
