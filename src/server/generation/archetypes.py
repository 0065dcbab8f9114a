"""The nine narrative types: the storyline each gives a deck, as label keys.

A storyline is a sequence of section roles; the words shown for each role live in
`labels.py`, in every supported language. Auto picks one type from the material.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NARRATIVE_TYPES = (
    "Pitch",
    "Showcase",
    "Sales",
    "Proposal",
    "Research",
    "Guide",
    "Meeting",
    "Portfolio",
    "Auto",
)


@dataclass(frozen=True)
class Archetype:
    name: str
    # Body roles in order, between the title slide and the closing slide. The most
    # important come first: a short deck keeps a prefix of them.
    roles: tuple[str, ...]
    closing: str


ARCHETYPES: dict[str, Archetype] = {
    "Pitch": Archetype(
        "Pitch",
        (
            "problem",
            "solution",
            "market",
            "business_model",
            "traction",
            "competition",
            "team",
            "financials",
            "ask",
        ),
        "closing_pitch",
    ),
    "Showcase": Archetype(
        "Showcase",
        ("overview", "highlights", "how_it_works", "features", "results", "whats_next"),
        "closing_thanks",
    ),
    "Sales": Archetype(
        "Sales",
        (
            "customer_challenge",
            "cost_of_inaction",
            "our_solution",
            "benefits",
            "proof",
            "pricing",
            "next_steps",
        ),
        "closing_contact",
    ),
    "Proposal": Archetype(
        "Proposal",
        ("background", "objectives", "approach", "timeline", "budget", "risks", "decision_needed"),
        "closing_questions",
    ),
    "Research": Archetype(
        "Research",
        (
            "research_question",
            "background",
            "methodology",
            "findings",
            "analysis",
            "limitations",
            "conclusions",
        ),
        "closing_questions",
    ),
    "Guide": Archetype(
        "Guide",
        ("what_you_will_learn", "before_you_start", "steps", "tips", "common_mistakes", "summary"),
        "closing_questions",
    ),
    "Meeting": Archetype(
        "Meeting",
        ("agenda", "updates", "discussion", "decisions", "action_items"),
        "closing_next_meeting",
    ),
    "Portfolio": Archetype(
        "Portfolio",
        ("about", "selected_work", "approach", "outcomes", "testimonials", "services"),
        "closing_contact",
    ),
}

# Words that point to a narrative type when the caller asks for Auto.
_SIGNALS: dict[str, tuple[str, ...]] = {
    "Pitch": (
        "investor",
        "investors",
        "funding",
        "raise",
        "seed",
        "series",
        "startup",
        "valuation",
        "runway",
    ),
    "Sales": ("customer", "customers", "pricing", "prospect", "deal", "buyer", "roi", "sales"),
    "Proposal": ("proposal", "propose", "budget", "approve", "approval", "scope", "initiative"),
    "Research": (
        "research",
        "study",
        "hypothesis",
        "experiment",
        "data",
        "findings",
        "survey",
        "paper",
        "method",
    ),
    "Guide": (
        "how",
        "steps",
        "guide",
        "tutorial",
        "learn",
        "setup",
        "install",
        "onboarding",
        "training",
    ),
    "Meeting": ("meeting", "agenda", "standup", "sync", "minutes", "retro", "weekly", "quarterly"),
    "Portfolio": (
        "portfolio",
        "projects",
        "clients",
        "designer",
        "photographer",
        "freelance",
        "case",
    ),
    "Showcase": ("launch", "product", "feature", "release", "demo", "showcase", "new"),
}
_WORD = re.compile(r"[a-z]+")


def choose(narrative_type: str, material: str) -> Archetype:
    """The archetype asked for, or for Auto the one the material points to most."""
    if narrative_type != "Auto":
        return ARCHETYPES[narrative_type]
    words = _WORD.findall(material.lower())
    counts = {name: sum(words.count(w) for w in signals) for name, signals in _SIGNALS.items()}
    best = max(counts, key=lambda name: (counts[name], name == "Showcase"))
    return ARCHETYPES[best if counts[best] else "Showcase"]


def all_label_keys() -> tuple[str, ...]:
    """Every label a storyline can show, for the translation tables."""
    keys: list[str] = ["title", "agenda"]
    for archetype in ARCHETYPES.values():
        keys += [*archetype.roles, archetype.closing]
    return tuple(dict.fromkeys(keys))
