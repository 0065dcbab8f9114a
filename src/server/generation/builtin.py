"""The built-in writer: offline and deterministic, it follows the document's own structure.

Plan (planning.py): the document's sections, under the storyline roles they name, fitted
to the slide count. Write: each slide's sentences become bullets under the rewrite style
(rewrite.py): one idea a bullet, no heading block that restates the title; the speaker
notes carry what the slide left out or shortened.

`tokens` is an estimate, the words read plus the words written: there is no model and so
no tokenizer. Planning reads nothing a model would, so it counts none.
"""

from __future__ import annotations

from chronicle.v1.presentation_pb2 import BulletList, ContentBlock, Heading, Paragraph, Section
from server.generation import material, rewrite, titles
from server.generation.labels import label
from server.generation.lexicon import PLACEHOLDER_NOTES
from server.generation.planning import Kind, Planner, Shown, SlidePlan
from server.generation.writer import Brief, Plan, PlannedSection, Written
from server.vocabulary import Language, RewriteStyle


class BuiltinWriter:
    def plan(self, brief: Brief) -> Plan:
        return Plan(tuple(Planner(brief).slides()))

    def write(self, brief: Brief, planned: PlannedSection) -> Written:
        slide = planned if isinstance(planned, SlidePlan) else _plain(planned)
        section = Section(title=slide.title, layout=slide.layout)
        notes = list(slide.cut)
        for shown in slide.shown:
            heading = shown.heading and not shown.inline
            if heading and not titles.restates(shown.heading, slide.title):
                section.blocks.append(ContentBlock(heading=Heading(text=shown.heading, level=2)))
            block, shortened = _written(shown, brief.rewrite_style)
            section.blocks.append(block)
            notes += shortened
        section.speaker_notes = _notes(slide, brief.language, notes)
        read = len(material.words(" ".join(planned.source)))
        return Written(section, read + _word_count(section))


def _written(shown: Shown, style: str) -> tuple[ContentBlock, list[str]]:
    """The block showing these sentences, and those the style shortened (for the notes)."""
    if shown.verbatim:
        style = RewriteStyle.PRESERVE
    if shown.prose:
        text = " ".join(rewrite.rewrite(u, style) for u in shown.units)
        return ContentBlock(paragraph=Paragraph(text=text)), []
    items, shortened = [], []
    for unit in shown.units:
        made = rewrite.bullets(unit, style)
        shortened += [unit] if any(b.shortened for b in made) else []
        items += [f"{shown.heading}: {b.text}" if shown.inline else b.text for b in made]
    return ContentBlock(bullet_list=BulletList(items=items)), shortened


def _plain(planned: PlannedSection) -> SlidePlan:
    """A plan made elsewhere: its sentences become the bullets."""
    shown = (Shown(units=planned.source),) if planned.source else ()
    return SlidePlan(
        planned.title, planned.layout, planned.role, planned.source, planned.heading, shown
    )


def _notes(slide: SlidePlan, language: Language, notes: list[str]) -> str:
    if slide.role == Kind.TITLE:
        return " ".join([label(language, "speaker_notes_intro"), *notes])
    if slide.role == Kind.CLOSING:
        return label(language, "speaker_notes_closing")
    if slide.role == Kind.PLACEHOLDER or (slide.role == Kind.TEMPLATE and not slide.source):
        return PLACEHOLDER_NOTES[language]
    said = notes or [u for shown in slide.shown for u in shown.units] or list(slide.source)
    return " ".join(dict.fromkeys(said))


def _word_count(section: Section) -> int:
    texts = [section.title, section.speaker_notes]
    for block in section.blocks:
        texts += [block.heading.text, block.paragraph.text, *block.bullet_list.items]
    return len(material.words(" ".join(texts)))
