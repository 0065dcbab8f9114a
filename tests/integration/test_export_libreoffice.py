"""The exported PPTX opened by another reader: LibreOffice (`soffice`, Debian's
libreoffice-impress) converts it to PDF headless, one 16:9 page per slide with the titles on
them. Skipped only where soffice is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from chronicle.v1.presentation_pb2 import Presentation
from server.export import Format, export
from server.vocabulary import Language
from tests.unit.test_export_pptx import UPLOAD, png, rich_deck, written_deck

SOFFICE = shutil.which("soffice")

pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def convert(deck: Presentation, work: Path) -> PdfReader:
    source = work / "deck.pptx"
    source.write_bytes(export(deck, Format.PPTX, {UPLOAD: png()}.get))
    assert SOFFICE is not None
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={(work / 'profile').as_uri()}",  # its own profile
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return PdfReader(work / "deck.pdf")


@pytest.mark.parametrize("language", [Language.US, Language.AR, Language.JA])
def test_libreoffice_converts_every_slide(tmp_path: Path, language: Language) -> None:
    deck = rich_deck() if language == Language.US else written_deck(language)
    reader = convert(deck, tmp_path)

    assert len(reader.pages) == len(deck.sections)
    for page, section in zip(reader.pages, deck.sections, strict=True):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width / height - 16 / 9) < 0.01
        if language == Language.US:
            assert section.title in " ".join(page.extract_text().split())
