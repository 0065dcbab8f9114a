"""Sample files for upload tests, made on the fly: txt, md, pdf (fpdf2) and pptx
(python-pptx), each carrying phrases no template or prompt would produce."""

from __future__ import annotations

import io

from fpdf import FPDF
from pptx import Presentation
from pptx.util import Inches

# Each phrase is one whole sentence, so that an extractive writer keeps it intact.
PHRASES = (
    "Zanzibar copper shipments rose eleven percent in March.",
    "The Quokka onboarding programme halved support tickets.",
    "Marigold warehouse robots now sort parcels overnight.",
)


def text_document() -> bytes:
    return ("Operations notes.\n\n" + "\n\n".join(PHRASES) + "\n").encode()


def markdown_document() -> bytes:
    lines = ["# Operations review", ""]
    for index, phrase in enumerate(PHRASES, 1):
        lines += [f"## Finding {index}", "", phrase, ""]
    return "\n".join(lines).encode()


def pdf_document(pages: int = 1, phrases: tuple[str, ...] = PHRASES) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"Operations review, page {page + 1}.", new_x="LMARGIN", new_y="NEXT")
        for phrase in phrases:
            pdf.multi_cell(0, 8, phrase, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def pptx_document(phrases: tuple[str, ...] = PHRASES) -> bytes:
    deck = Presentation()
    for index, phrase in enumerate(phrases):
        slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
        slide.shapes.title.text = f"Finding {index + 1}"
        slide.placeholders[1].text_frame.text = phrase
        slide.notes_slide.notes_text_frame.text = f"Speaker note {index + 1} for the review."
    extra = deck.slides.add_slide(deck.slide_layouts[6])  # blank: a text box and a table
    box = extra.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    box.text_frame.text = "Textbox line about Lisbon ferries."
    table = extra.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(4), Inches(1)).table
    table.cell(0, 0).text = "Region"
    table.cell(1, 0).text = "Patagonia wool exports"
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


DOCUMENTS = {
    "txt": ("notes.txt", "text/plain", text_document),
    "md": ("notes.md", "text/markdown", markdown_document),
    "pdf": ("report.pdf", "application/pdf", pdf_document),
    "pptx": (
        "review.pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        pptx_document,
    ),
}
