"""One deck per narrative type through the API (REST edge → gRPC → job → worker with the
built-in writer): slides follow the document's sections under titles that fit them, no
heading is left as text, and the closing states the call to action or sums the deck up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from server.container import Container
from server.generation.builtin import BuiltinWriter
from server.generation.worker import Worker
from tests.conftest import Tenant
from tests.e2e.test_generation import generate, wait_for


@dataclass(frozen=True)
class Case:
    text: str
    titles: list[str]  # every slide's, in order
    closing: str  # the closing slide's line
    facts: tuple[str, ...]


CASES = {
    "Pitch": Case(
        "Acme Robotics — seed memo\n\n"
        "Problem. Small warehouses lose 8 percent of their stock each year to miscounts.\n\n"
        "Solution. Our robot scans every shelf overnight and flags gaps by 7 am.\n\n"
        "Traction. Nine of twelve pilot sites now pay 1,400 euros a month.\n\n"
        "Team. Ana ran a logistics firm for nine years; Ben built drones at Kiva.\n\n"
        "Ask. We are raising 1.5 million euros in a seed round. It funds 18 months of sales.\n",
        [
            "Acme Robotics — seed memo",
            "The problem",
            "The solution",
            "Traction",
            "The team",
            "The ask",
            "Let's build this together",
        ],
        "We are raising 1.5 million euros in a seed round.",
        ("8 percent", "by 7 am", "1,400 euros a month", "Kiva", "18 months"),
    ),
    "Showcase": Case(
        "# Chronicle 2.0\n\n**Overview**\n"
        "Chronicle 2.0 turns any document into a deck in about 2 seconds.\n\n**Features**\n"
        "- Slides follow your own headings\n- Speaker notes keep what the slide leaves out\n\n"
        "**Results**\nBeta teams built 3,200 decks in March. Editing time fell by 40 percent."
        "\n\n**What's next**\nImage layouts arrive in June.\n",
        ["Chronicle 2.0", "Overview", "Features", "Results", "What's next", "Thank you"],
        "Chronicle 2.0 turns any document into a deck in about 2 seconds.",
        ("about 2 seconds", "own headings", "3,200 decks", "40 percent", "June"),
    ),
    "Sales": Case(
        "Proposal for Northwind Logistics\n\nYOUR CHALLENGE\n"
        "Your drivers wait 25 minutes on average at each depot gate.\n\nOUR SOLUTION\n"
        "GateFlow books every truck a ten-minute slot and opens the gate by number plate.\n\n"
        "PRICING\nGateFlow costs 900 euros per gate per month, installation included.\n\n"
        "NEXT STEPS\nWe run a free four-week pilot at the Leipzig depot from 1 June.\n",
        [
            "Proposal for Northwind Logistics",
            "Your challenge",
            "Our solution",
            "Pricing",
            "Next steps",
            "Let's talk",
        ],
        "We run a free four-week pilot at the Leipzig depot from 1 June.",
        ("25 minutes", "ten-minute slot", "900 euros per gate"),
    ),
    "Proposal": Case(
        "One wiki instead of four\n\n1. Background\n"
        "Each department runs its own wiki, and 1 in 5 searches ends in a Slack question.\n\n"
        "2. Objectives\nOne place for every policy by the end of Q4.\n\n3. Budget\n"
        "Licences cost 18,000 dollars a year; we save 11,000 dollars on the old tools.\n\n"
        "4. Decision needed\nWe ask the leadership team to approve the plan at the August "
        "meeting.\n",
        [
            "One wiki instead of four",
            "Background",
            "Objectives",
            "Budget",
            "Decision needed",
            "Questions?",
        ],
        "We ask the leadership team to approve the plan at the August meeting.",
        ("1 in 5 searches", "end of Q4", "18,000 dollars", "11,000 dollars"),
    ),
    "Research": Case(
        "Buddy study\n\n"
        "Question: Does a buddy shorten the time to a new hire's first shipped change?\n\n"
        "Method: We followed 64 new hires across 9 teams for 6 months.\n\n"
        "Findings: Hires with a buddy shipped in 6 days instead of 11.\n\n"
        "Limitations: Team leads chose who got a buddy.\n",
        ["Buddy study", "Question", "Methodology", "Key findings", "Limitations", "Questions?"],
        "Question · Methodology · Key findings · Limitations",
        ("first shipped change", "64 new hires", "6 days instead of 11", "Team leads chose"),
    ),
    "Guide": Case(
        "Getting started with the CLI\n\nStep 1: Before you start\n"
        "You need Python 3.11 and an API key.\n\nStep 2: Install the tools\n"
        "Run pip install chronicle-cli; it takes about 40 seconds.\n\n"
        "Step 3: Generate a first deck\nRun chronicle generate with a prompt of at least 8 "
        "words.\n",
        [
            "Getting started with the CLI",
            "Step 1: Before you start",
            "Step 2: Install the tools",
            "Step 3: Generate a first deck",
            "Questions?",
        ],
        "Step 1: Before you start · Step 2: Install the tools · Step 3: Generate a first deck",
        ("Python 3.11", "40 seconds", "at least 8 words"),
    ),
    "Meeting": Case(
        "Platform weekly sync\n====================\n\nUpdates\n-------\n"
        "The database migration finished with 14 minutes of downtime.\n\nDecisions\n---------\n"
        "- Staging moves to eu-west-2 in April\n- Feature freeze starts 20 March\n\n"
        "Action items\n------------\n- Priya writes the runbook by Friday\n"
        "- Tom asks finance about reserved instances\n",
        ["Platform weekly sync", "Updates", "Decisions", "Action items", "Until next time"],
        "Priya writes the runbook by Friday; Tom asks finance about reserved instances.",
        ("14 minutes of downtime", "eu-west-2 in April", "20 March"),
    ),
    "Portfolio": Case(
        "# Mara Lind — product designer\n\n## About me\n"
        "I design tools for warehouse staff, and I have shipped 14 of them since 2016.\n\n"
        "## Selected work\nGateFlow's driver app cut check-in time from 25 to 6 minutes.\n\n"
        '## Testimonials\n"Mara made our day easier," says the Northwind operations lead.\n\n'
        "## Services\nDesign sprints of two weeks, from research to a tested prototype.\n",
        [
            "Mara Lind — product designer",
            "About",
            "Selected work",
            "Testimonials",
            "Services",
            "Let's talk",
        ],
        "About · Selected work · Testimonials · Services",
        ("14 of them since 2016", "25 to 6 minutes", "two weeks"),
    ),
}


@pytest.fixture
def worker(container: Container) -> Iterator[None]:
    running = Worker(container.uow, BuiltinWriter())
    stop = threading.Event()
    thread = threading.Thread(target=running.serve, args=(stop, 0.02), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def _texts(section: dict[str, Any]) -> list[str]:
    """What a slide shows besides its title: paragraphs and bullets."""
    found = []
    for block in section.get("blocks", []):
        found += [block.get("paragraph", {}).get("text", "")]
        found += block.get("bullet_list", {}).get("items", [])
    return [t for t in found if t]


@pytest.mark.parametrize("narrative_type", sorted(CASES))
def test_a_deck_of_each_narrative_type_follows_its_document(
    http: httpx.Client, tenant: Tenant, worker: None, narrative_type: str
) -> None:
    case = CASES[narrative_type]
    gid = generate(
        http, tenant, prompt=case.text, non_interactive=True, narrative_type=narrative_type
    ).json()["generation_id"]
    done = wait_for(http, tenant, gid, "completed", "failed")
    assert done["status"] == "completed", done
    sections = done["presentation"]["sections"]
    assert [s["title"] for s in sections] == case.titles
    assert sections[0]["layout"] == "title" and sections[-1]["layout"] == "closing"
    assert _texts(sections[-1]) == [case.closing]
    body = " ".join(t for s in sections[1:-1] for t in [s["title"], *_texts(s)])
    assert all(fact in body for fact in case.facts)
    for section in sections:
        headings = [b["heading"]["text"] for b in section.get("blocks", []) if "heading" in b]
        assert all(h.lower() not in section["title"].lower() for h in headings)
        # No bare heading of the document is left as a bullet or a paragraph.
        assert not {t.rstrip(".:").lower() for t in _texts(section)} & {
            t.lower() for t in case.titles
        }
    bullets = [b for s in sections for b in _texts(s) if s["layout"] != "closing"]
    assert len(bullets) == len(set(bullets))
