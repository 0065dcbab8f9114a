"""The built-in writer: offline and deterministic, it plans and writes from the material.

Storyline: the narrative type's roles (see archetypes.py) frame the deck; the
material's outline (headings, lists, paragraphs) is spread across them in order.
Slides: bullets are the most central sentences of each part (extractive, see
material.rank), rewritten per style; speaker notes come from the source sentences
the bullets left out. Labels the product writes are in the requested language; the
user's text stays as written.

`tokens` is an estimate, the words read plus the words written: there is no model
and so no tokenizer. Planning reads nothing a model would, so it counts none.
"""

from __future__ import annotations

import itertools
import re

from chronicle.v1.presentation_pb2 import BulletList, ContentBlock, Heading, Paragraph, Section
from server.generation import archetypes, material
from server.generation.labels import label
from server.generation.writer import Brief, Plan, PlannedSection, Written
from server.vocabulary import Language, Layout, RewriteStyle

BULLETS_PER_SLIDE = 4
MIN_AUTO_SECTIONS, MAX_AUTO_SECTIONS = 4, 12
_FILLER = re.compile(
    r"\b(?:basically|actually|really|very|just|quite|literally|simply|of course)\b\s*",
    re.IGNORECASE,
)
# Semicolon, colon, em and en dashes, a spaced hyphen, a parenthesis, a subordinate clause.
_CLAUSE_BREAK = re.compile(r"\s*(?:;|:|\u2014|\u2013| - |\(|, which |, because |, so that )")


def rewrite(sentence: str, style: str) -> str:
    """Preserve keeps the sentence verbatim; Subtle trims filler; Strong condenses."""
    if style == RewriteStyle.PRESERVE:
        return sentence
    text = re.sub(r"\s+", " ", _FILLER.sub("", sentence)).strip()
    if style == RewriteStyle.STRONG:
        words = _CLAUSE_BREAK.split(text, maxsplit=1)[0].split()
        # A main clause of up to 16 words stays whole; a longer one is cut to 12.
        text = " ".join(words) if len(words) <= 16 else " ".join(words[:12]) + "…"
        text = text.rstrip(",.;:")
    return text[:1].upper() + text[1:] if text else sentence


def deck_title(brief: Brief, chunks: list[material.Chunk]) -> str:
    for chunk in chunks:
        if chunk.heading:
            return chunk.heading
    first = material.sentences(brief.prompt) or [brief.prompt.strip()]
    words = first[0].rstrip(".!?").split()
    title = " ".join(words[:10]).rstrip(":;,")
    return title + ("…" if len(words) > 10 else "")


def auto_count(chunks: list[material.Chunk], text: str) -> int:
    """Title and closing, plus one slide per part of the material (or per ~3 sentences)."""
    parts = sum(1 for c in chunks if not c.empty)
    by_sentences = len(material.sentences(text)) // 3
    return max(MIN_AUTO_SECTIONS, min(MAX_AUTO_SECTIONS, 2 + max(parts, by_sentences)))


def _spread(chunks: list[material.Chunk], slots: int) -> list[tuple[str, tuple[str, ...]]]:
    """(own heading, sentences) for each of `slots` body slides, the material in order:
    whole parts when there are enough of them, else the sentences shared out evenly."""
    parts = [c for c in chunks if not c.empty]
    if len(parts) >= slots:
        groups = [
            parts[i * len(parts) // slots : (i + 1) * len(parts) // slots] for i in range(slots)
        ]
        return [(g[0].heading, tuple(s for c in g for s in c.sentences)) for g in groups]
    every = [s for c in parts for s in c.sentences]
    bounds = [i * len(every) // slots for i in range(slots + 1)]
    return [("", tuple(every[bounds[i] : bounds[i + 1]])) for i in range(slots)]


# Phrases in the user's own headings that point to a role, besides the role's English
# label: "Results so far" reads as traction in a pitch, "What we need" as the ask.
_ROLE_PHRASES: dict[str, tuple[str, ...]] = {
    "problem": ("problem", "why", "pain", "challenge"),
    "solution": ("solution", "what we do", "how it works", "our product"),
    "market": ("market", "opportunity"),
    "business_model": ("business model", "revenue model", "pricing", "monetisation"),
    "traction": ("traction", "results", "so far", "growth", "metrics", "progress"),
    "competition": ("competition", "competitors", "alternatives"),
    "team": ("team", "founders", "who we are"),
    "financials": ("financials", "forecast", "numbers"),
    "ask": ("ask", "what we need", "funding", "investment", "raise"),
    "results": ("results", "outcomes", "impact", "so far"),
    "whats_next": ("next", "roadmap", "future"),
    "pricing": ("pricing", "price", "plans"),
    "next_steps": ("next steps", "timeline"),
    "budget": ("budget", "cost", "what we need"),
    "timeline": ("timeline", "schedule", "milestones"),
    "risks": ("risk", "risks", "concerns"),
    "findings": ("findings", "results", "evidence"),
    "methodology": ("method", "methods", "methodology"),
    "action_items": ("action items", "actions", "owners"),
    "customer_challenge": ("challenge", "problem", "why", "pain"),
    "our_solution": ("solution", "what we do", "how it works", "our product"),
    "proof": ("proof", "results", "so far", "case study", "customers"),
    "how_it_works": ("how it works", "what we do", "how"),
    "approach": ("approach", "what we do", "how"),
    "background": ("background", "context", "why"),
    "objectives": ("objectives", "goals", "aims"),
    "decision_needed": ("decision", "approval", "what we need"),
    "research_question": ("question", "why"),
    "outcomes": ("outcomes", "results", "so far", "impact"),
    "highlights": ("highlights", "key points"),
}


def _mentions(heading: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", heading) is not None


def assign_roles(roles: tuple[str, ...], headings: list[str]) -> list[str]:
    """A role per body slide, slides in the material's order: a slide whose own heading
    names an unused role takes it; the others take the unused roles in storyline order
    (cycling when the deck is longer than the storyline)."""
    phrases = {
        role: (label(Language.US, role).lower().removeprefix("the "), *_ROLE_PHRASES.get(role, ()))
        for role in roles
    }
    chosen: list[str | None] = []
    used: set[str] = set()
    for heading in (h.lower() for h in headings):
        scores = {
            role: sum(len(p.split()) for p in phrases[role] if _mentions(heading, p))
            for role in roles
            if role not in used
        }
        best = max(scores, key=lambda r: scores[r], default=None)
        if best is not None and scores[best] > 0:
            used.add(best)
        chosen.append(best if best is not None and scores[best] > 0 else None)
    spare = itertools.cycle([r for r in roles if r not in used] or roles)
    return [role if role is not None else next(spare) for role in chosen]


class BuiltinWriter:
    def plan(self, brief: Brief) -> Plan:
        return Plan(tuple(self._storyline(brief)))

    def _storyline(self, brief: Brief) -> list[PlannedSection]:
        chunks = material.outline(brief.material)
        everything = tuple(s for c in chunks for s in c.sentences)
        if brief.template_sections:
            sources = _spread(chunks, len(brief.template_sections))
            return [
                PlannedSection(
                    s.title, s.layout or Layout.TITLE_AND_BODY, "template", text, heading
                )
                for s, (heading, text) in zip(brief.template_sections, sources, strict=True)
            ]
        archetype = archetypes.choose(brief.narrative_type, brief.material)
        total = brief.section_count or auto_count(chunks, brief.material)
        title = PlannedSection(deck_title(brief, chunks), Layout.TITLE, "title", everything)
        if total == 1:
            return [title]
        parts = _spread(chunks, total - 2)
        roles = assign_roles(archetype.roles, [heading for heading, _ in parts])
        planned = [title]
        for role, (heading, text) in zip(roles, parts, strict=True):
            planned.append(
                PlannedSection(
                    label(brief.language, role), Layout.TITLE_AND_BODY, role, text, heading
                )
            )
        planned.append(
            PlannedSection(
                label(brief.language, archetype.closing), Layout.CLOSING, "closing", everything
            )
        )
        return planned

    def write(self, brief: Brief, planned: PlannedSection) -> Written:
        source = list(planned.source)
        section = Section(title=planned.title, layout=planned.layout)
        if planned.role == "title":
            section.blocks.append(ContentBlock(heading=Heading(text=planned.title, level=1)))
            # The subtitle reads best as a whole sentence of prose, not a list item.
            prose = [s for s in source if s.endswith((".", "!", "?"))] or source
            summary = material.rank(prose, 1, brief.material)
            if summary:
                section.blocks.append(
                    ContentBlock(paragraph=Paragraph(text=rewrite(summary[0], brief.rewrite_style)))
                )
            section.speaker_notes = label(brief.language, "speaker_notes_intro")
        elif planned.role == "closing":
            section.blocks.append(ContentBlock(heading=Heading(text=planned.title, level=1)))
            takeaway = material.rank(source, 1, brief.material)
            if takeaway:
                text = rewrite(takeaway[0], brief.rewrite_style)
                section.blocks.append(ContentBlock(paragraph=Paragraph(text=text)))
            section.speaker_notes = label(brief.language, "speaker_notes_closing")
        else:
            if planned.heading:
                section.blocks.append(ContentBlock(heading=Heading(text=planned.heading, level=2)))
            chosen = material.rank(source, BULLETS_PER_SLIDE, brief.material)
            if chosen:
                items = [rewrite(s, brief.rewrite_style) for s in chosen]
                section.blocks.append(ContentBlock(bullet_list=BulletList(items=items)))
            notes = [s for s in source if s not in chosen][:3]
            section.speaker_notes = " ".join(notes) or " ".join(chosen[:1])
        read = len(material.words(" ".join(planned.source)))
        return Written(section, read + _word_count(section))


def _word_count(section: Section) -> int:
    texts = [section.title, section.speaker_notes]
    for block in section.blocks:
        texts += [block.heading.text, block.paragraph.text, *block.bullet_list.items]
    return len(material.words(" ".join(texts)))
