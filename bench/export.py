"""Export benchmark: decks of 10 and 50 slides to PPTX and PDF, in this process.

Run from the repository root:

    .venv/bin/python bench/export.py [--rounds 20] [--languages us,ja,ar]

Decks: the built-in writer's, from material in each language (fixed), with a table on every
fourth slide and an uploaded image on every fifth. Each export runs once to warm up (the PDF's
fonts are parsed once per process, as in the server), then --rounds times. Prints the median
and p99 in ms, the median per slide, and the ratio of the 50-slide median to the 10-slide one
(5.0 is linear; fixed costs make it less). Targets for 10 slides: PPTX median <= 300 ms, PDF
median <= 1,500 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from PIL import Image as PillowImage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from chronicle.v1.presentation_pb2 import ContentBlock, Image, Presentation, Table, TableRow
from server.export import Format, export
from server.generation.builtin import BuiltinWriter
from server.generation.writer import Brief
from server.vocabulary import Language

TARGET_MS = {Format.PPTX: 300.0, Format.PDF: 1500.0}
UPLOAD = "https://chronicle.test/uploads/bench.png"
# A few sentences per language; numbered copies make as much material as a deck needs.
SENTENCES = {
    Language.US: (
        "Copper shipments rose eleven percent in March",
        "Support tickets halved after onboarding changed",
        "Warehouse robots now sort parcels overnight",
        "The pilot region doubled its weekly orders",
    ),
    Language.JA: (
        "三月の銅の出荷は十一パーセント増えました",
        "新しいオンボーディングで問い合わせが半分になりました",
        "倉庫のロボットは夜間に荷物を仕分けます",
        "試験地域では週間注文が二倍になりました",
    ),
    Language.AR: (
        "ارتفعت شحنات النحاس بنسبة أحد عشر بالمئة في مارس",
        "انخفضت تذاكر الدعم إلى النصف بعد تغيير الإعداد",
        "تفرز روبوتات المستودع الطرود ليلاً",
        "تضاعفت الطلبات الأسبوعية في المنطقة التجريبية",
    ),
}
_STOP = {Language.JA: "。"}


def material(language: Language, parts: int) -> str:
    pool = SENTENCES.get(language, SENTENCES[Language.US])
    stop = _STOP.get(language, ". ")
    lines = []
    for part in range(parts):
        lines.append(f"## {pool[part % len(pool)][:24]} {part + 1}")
        lines.append(stop.join(f"{s} {part * 3 + n + 1}" for n, s in enumerate(pool)) + stop)
    return "\n\n".join(lines)


def deck_of(language: Language, slides: int) -> Presentation:
    text = material(language, slides)
    brief = Brief(text, text, language=language, section_count=slides)
    writer = BuiltinWriter()
    sections = [writer.write(brief, p).section for p in writer.plan(brief).sections]
    for index, section in enumerate(sections):
        if index % 4 == 3:
            rows = [TableRow(cells=[f"Region {r}", str(10 * r), str(12 * r)]) for r in range(5)]
            table = Table(header=["Region", "Q1", "Q2"], rows=rows)
            section.blocks.append(ContentBlock(table=table))
        if index % 5 == 4:
            image = Image(url=UPLOAD, alt_text="Orders by week", caption="Orders by week")
            section.blocks.append(ContentBlock(image=image))
    return Presentation(title=sections[0].title, sections=sections)


def png() -> bytes:
    out = io.BytesIO()
    PillowImage.new("RGB", (800, 450), (43, 89, 195)).save(out, "PNG")
    return out.getvalue()


def timings(deck: Presentation, fmt: Format, rounds: int, image: bytes) -> list[float]:
    images = {UPLOAD: image}.get
    export(deck, fmt, images)  # warm-up: fonts parsed, template built
    measured = []
    for _ in range(rounds):
        started = time.perf_counter()
        export(deck, fmt, images)
        measured.append((time.perf_counter() - started) * 1000)
    return sorted(measured)


def p99(values: list[float]) -> float:
    return values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--languages", default="us,ja,ar")
    opts = parser.parse_args()
    languages = [Language(code) for code in opts.languages.split(",")]
    cpus = len(os.sched_getaffinity(0))
    print(f"machine: nproc={cpus}, {platform.machine()}, Python {platform.python_version()}")
    print(f"command: .venv/bin/python bench/export.py --rounds {opts.rounds} ")
    print(f"         --languages {opts.languages}; one export at a time, after a warm-up\n")
    header = (
        f"{'':16}{'slides':>7}{'median ms':>11}{'p99 ms':>9}{'ms/slide':>10}{'50/10':>8}  target"
    )
    print(header)
    print("-" * len(header))
    image, missed = png(), 0
    for fmt in Format:
        for language in languages:
            medians = {}
            for slides in (10, 50):
                measured = timings(deck_of(language, slides), fmt, opts.rounds, image)
                medians[slides] = statistics.median(measured)
                ratio = f"{medians[50] / medians[10]:8.2f}" if slides == 50 else f"{'':8}"
                target = ""
                if slides == 10:
                    ok = medians[10] <= TARGET_MS[fmt]
                    missed += not ok
                    target = f"<= {TARGET_MS[fmt]:,.0f} ms {'PASS' if ok else 'MISS'}"
                print(
                    f"{fmt.value.upper() + ' ' + language.value:16}{slides:>7}"
                    f"{medians[slides]:>11.1f}{p99(measured):>9.1f}"
                    f"{medians[slides] / slides:>10.2f}{ratio}  {target}"
                )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
