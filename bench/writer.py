"""Writer benchmark: does a generated deck follow the document, and how fast is the writer.

Run from the repository root:

    .venv/bin/python bench/writer.py [--runs 5] [--show NAME.VARIANT]

The evaluation set is bench/writer_eval/: 20 documents of our own (pitch memos,
quarterly reviews, research summaries, proposals, how-to guides, meeting notes; in
English, Spanish, German and Japanese), each written in two or three structure styles
(`<name>.<style>.txt`: markdown, setext, numbered, step, leadin, colon, leadline, caps,
bold, and plain = no headings at all) and described by a sidecar `<name>.toml`: the
generation parameters and, for each section, its heading, the storyline roles it may
take, its title words, and its 2-3 key facts (verbatim substrings of the document).

Every variant becomes a deck with the built-in writer, and with the model writer too
when CHRONICLE_MODEL_URL (or the server's own CHRONICLE_MODEL_BASE_URL) is set, with
CHRONICLE_MODEL_NAME and CHRONICLE_MODEL_API_KEY, so an operator can compare.

Measures, per variant and overall (overall = counts summed over all variants, not
averaged per document):

- text of a slide: its title, and the text of its heading, paragraph, bullet, quote and
  table blocks (not the speaker notes), NFKC-normalised, case-folded, spaces collapsed.
  A fact is on a slide when its normalised text is a substring of the slide's text.
- a fact's home: the first content slide (layout neither title nor closing) it is on;
  else the first title or closing slide it is on; else it is lost.
- facts kept: facts with a home / all facts. Target >= 0.95.
- sections kept together: sections all of whose facts have one and the same home /
  all sections. Target >= 0.9.
- slides on one topic: content slides that are home to facts of exactly one section /
  content slides that are home to any fact. Target >= 0.9.
- titles that fit: sections whose main slide (the home of most of its facts, the
  earlier on a tie) has a title that contains the section's heading, or the deck
  language's label of one of the section's roles, or, for plain variants (no headings
  written), one of the section's title words / all sections. Target >= 0.85.
- junk (target 0), the sum of: bullets or paragraphs that are a bare section heading
  (trailing punctuation ignored); slides whose title repeats an earlier slide's; bullets
  that repeat an earlier bullet of the deck; heading blocks that restate their slide's
  title (heading and title have the same non-stop words, or one's are a subset of the
  other's; for Chinese and Japanese, one contains the other).
- writer time: plan plus every slide, median of --runs per variant; and the 2,000-word
  document -> 10 slides case (bench/generation.py's prompt, and 2,000 words of this
  set's English documents), median of 30 (target <= 200 ms).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generation import prompt_of
from report import verdict

from chronicle.v1.presentation_pb2 import Section
from server import data
from server.generation.builtin import BuiltinWriter
from server.generation.labels import label
from server.generation.model import ModelError, ModelSettings, ModelWriter
from server.generation.writer import Brief, Writer

EVAL_DIR = Path(__file__).parent / "writer_eval"
TARGETS = {"facts": 0.95, "together": 0.9, "one_topic": 0.9, "titles": 0.85}
TIMING_TARGET_MS = 200.0
_CONTENT = {"title", "closing"}  # layouts that are not content slides
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_STOPWORDS = data.load_words("stopwords.txt")


@dataclass(frozen=True)
class EvalSection:
    heading: str
    roles: tuple[str, ...]
    title_words: tuple[str, ...]
    facts: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    name: str
    variant: str
    text: str
    brief: Brief
    sections: tuple[EvalSection, ...]


@dataclass
class Score:
    """Counts behind each measure; ratios come from sums, so they add up across decks."""

    facts: list[int] = field(default_factory=lambda: [0, 0])
    together: list[int] = field(default_factory=lambda: [0, 0])
    one_topic: list[int] = field(default_factory=lambda: [0, 0])
    titles: list[int] = field(default_factory=lambda: [0, 0])
    junk: int = 0
    slides: int = 0
    ms: float = 0.0

    def add(self, other: Score) -> None:
        for name in TARGETS:
            mine, theirs = getattr(self, name), getattr(other, name)
            mine[0] += theirs[0]
            mine[1] += theirs[1]
        self.junk += other.junk
        self.slides += other.slides

    def ratio(self, name: str) -> float:
        hit, total = getattr(self, name)
        return hit / total if total else 0.0

    def shown(self, name: str) -> str:
        return f"{self.ratio(name):.2f}" if getattr(self, name)[1] else "-"


def load(directory: Path = EVAL_DIR) -> list[Document]:
    documents = []
    for sidecar in sorted(directory.glob("*.toml")):
        spec = tomllib.loads(sidecar.read_text(encoding="utf-8"))
        sections = tuple(
            EvalSection(s["heading"], tuple(s["roles"]), tuple(s["title_words"]), tuple(s["facts"]))
            for s in spec["sections"]
        )
        for variant in spec["variants"]:
            text = (directory / f"{sidecar.stem}.{variant}.txt").read_text(encoding="utf-8")
            brief = Brief(
                prompt=text,
                material=text,
                narrative_type=spec["narrative_type"],
                rewrite_style=spec["rewrite_style"],
                section_count=spec["section_count"] or None,
                language=spec["language"],
            )
            documents.append(Document(sidecar.stem, variant, text, brief, sections))
    return documents


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def slide_text(section: Section) -> str:
    parts = [section.title]
    for block in section.blocks:
        parts += [block.heading.text, block.paragraph.text, block.quote.text]
        parts += list(block.bullet_list.items)
        parts += [cell for row in block.table.rows for cell in row.cells]
        parts += list(block.table.header)
    return norm(" ".join(parts))


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", norm(text)) if w not in _STOPWORDS}


def restates(heading: str, title: str) -> bool:
    a, b = norm(heading), norm(title)
    if _CJK.search(a + b):
        return a in b or b in a
    wa, wb = _content_words(a), _content_words(b)
    return wa == wb or (bool(wa) and bool(wb) and (wa <= wb or wb <= wa))


def junk(deck: Sequence[Section], headings: Sequence[str]) -> int:
    bare = {norm(h).rstrip(".:\uff1a") for h in headings}
    count = 0
    titles: set[str] = set()
    bullets: set[str] = set()
    for section in deck:
        title = norm(section.title)
        count += title in titles
        titles.add(title)
        for block in section.blocks:
            texts = [block.paragraph.text, *block.bullet_list.items]
            count += sum(1 for t in texts if t and norm(t).rstrip(".:\uff1a") in bare)
            for item in block.bullet_list.items:
                count += norm(item) in bullets
                bullets.add(norm(item))
            if block.heading.text and restates(block.heading.text, section.title):
                count += 1
    return count


def _title_fits(title: str, section: EvalSection, language: str, plain: bool) -> bool:
    shown = norm(title)
    names = [section.heading, *(label(language, r) for r in section.roles)]
    names += list(section.title_words) if plain else []
    return any(norm(n) in shown for n in names)


def score(document: Document, deck: Sequence[Section]) -> Score:
    texts = [slide_text(s) for s in deck]
    content = [i for i, s in enumerate(deck) if s.layout not in _CONTENT]
    result = Score(slides=len(deck))
    homes_by_slide: dict[int, set[int]] = {}
    for number, section in enumerate(document.sections):
        homes = []
        for fact in section.facts:
            found = [i for i, t in enumerate(texts) if norm(fact) in t]
            home = next((i for i in found if i in content), found[0] if found else None)
            homes.append(home)
            if home is not None and home in content:
                homes_by_slide.setdefault(home, set()).add(number)
        kept = [h for h in homes if h is not None]
        result.facts[0] += len(kept)
        result.facts[1] += len(homes)
        result.together[0] += len(kept) == len(homes) and len(set(kept)) == 1
        result.together[1] += 1
        main = Counter(kept).most_common(1)[0][0] if kept else None
        plain = document.variant == "plain"
        fits = main is not None and _title_fits(
            deck[main].title, section, document.brief.language, plain
        )
        result.titles[0] += fits
        result.titles[1] += 1
    result.one_topic[0] = sum(1 for owners in homes_by_slide.values() if len(owners) == 1)
    result.one_topic[1] = len(homes_by_slide)
    result.junk = junk(deck, [s.heading for s in document.sections])
    return result


def generate(writer: Writer, brief: Brief) -> list[Section]:
    return [writer.write(brief, planned).section for planned in writer.plan(brief).sections]


def timed(writer: Writer, brief: Brief, runs: int) -> tuple[list[Section], float]:
    timings, deck = [], []
    for _ in range(runs):
        started = time.perf_counter()
        deck = generate(writer, brief)
        timings.append((time.perf_counter() - started) * 1000)
    return deck, statistics.median(timings)


def _row(name: str, s: Score) -> str:
    cells = [s.shown(n) for n in TARGETS]
    return f"| {name} | {s.slides} | {' | '.join(cells)} | {s.junk} | {s.ms:.1f} |"


def evaluate(writer: Writer, documents: Sequence[Document], runs: int) -> Score:
    print(
        "| document.variant | slides | facts kept | together | one topic | titles fit | junk |",
        end="",
    )
    print(" ms |")
    print("|---|---|---|---|---|---|---|---|")
    overall = Score()
    timings = []
    for document in documents:
        name = f"{document.name}.{document.variant}"
        try:
            deck, ms = timed(writer, document.brief, runs)
        except ModelError as error:  # its facts count as lost
            overall.add(score(document, []))
            print(f"| {name} | failed: {error} | | | | | | |")
            continue
        result = score(document, deck)
        result.ms = ms
        timings.append(ms)
        overall.add(result)
        print(_row(name, result))
    overall.ms = statistics.median(timings) if timings else 0.0
    print(_row("**overall**", overall))
    for name, target in TARGETS.items():
        ratio = overall.ratio(name)
        print(f"{name}: {ratio:.3f} (target >= {target}) {verdict(ratio >= target)}")
    print(f"junk: {overall.junk} (target 0) {verdict(overall.junk == 0)}")
    return overall


def long_english(documents: Sequence[Document], words: int = 2000) -> str:
    """About `words` words of this set's English documents, markdown variants first."""
    picked, count = [], 0
    for document in sorted(documents, key=lambda d: d.variant != "markdown"):
        if document.brief.language == "us" and count < words:
            picked.append(document.text)
            count += len(document.text.split())
    return "\n\n".join(picked)


def time_ten_slides(writer: Writer, prompt: str, runs: int = 30) -> float:
    brief = Brief(prompt, prompt, "Auto", "Subtle", 10, "us")
    return timed(writer, brief, runs)[1]


def show(writer: Writer, documents: Sequence[Document], which: str) -> None:
    for document in documents:
        if f"{document.name}.{document.variant}" == which:
            for section in generate(writer, document.brief):
                print(f"[{section.layout}] {section.title}")
                for block in section.blocks:
                    for text in (block.heading.text, block.paragraph.text):
                        if text:
                            print(f"    {text}")
                    for item in block.bullet_list.items:
                        print(f"    - {item}")
            return
    raise SystemExit(f"no document {which!r} in {EVAL_DIR}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per deck")
    parser.add_argument("--show", help="print one deck (NAME.VARIANT) and stop")
    opts = parser.parse_args()
    documents = load()
    writers: list[tuple[str, Writer]] = [("built-in", BuiltinWriter())]
    if url := os.environ.get("CHRONICLE_MODEL_URL") or os.environ.get("CHRONICLE_MODEL_BASE_URL"):
        settings = ModelSettings(
            base_url=url,
            model=os.environ.get("CHRONICLE_MODEL_NAME", ""),
            api_key=os.environ.get("CHRONICLE_MODEL_API_KEY", ""),
        )
        writers.append((f"model ({url})", ModelWriter(settings)))
    if opts.show:
        show(writers[-1][1], documents, opts.show)
        return 0
    print(f"command: .venv/bin/python bench/writer.py --runs {opts.runs}")
    print(f"{len({d.name for d in documents})} documents, {len(documents)} variants\n")
    missed = False
    for name, writer in writers:
        print(f"## {name} writer\n")
        overall = evaluate(writer, documents, 1 if name != "built-in" else opts.runs)
        missed |= any(overall.ratio(n) < t for n, t in TARGETS.items()) or overall.junk > 0
        print()
    builtin = writers[0][1]
    for case, prompt in (
        ("bench/generation.py's prompt", prompt_of(2000)),
        ("this set's English documents", long_english(documents)),
    ):
        ms = time_ten_slides(builtin, prompt)
        words = len(prompt.split())
        print(
            f"built-in writer, {words:,} words ({case}) -> 10 slides: median {ms:.1f} ms "
            f"(target <= {TIMING_TARGET_MS:.0f} ms) {verdict(ms <= TIMING_TARGET_MS)}"
        )
        missed |= ms > TIMING_TARGET_MS
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
