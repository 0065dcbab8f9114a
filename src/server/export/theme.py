"""The exported decks' look, shared by the PPTX and the PDF: a 16:9 page in points, the
palette of the web pages (edge/web/static/app.css), type sizes and spacing."""

from __future__ import annotations

from typing import Final

RGB = tuple[int, int, int]

# 13.333 in x 7.5 in, PowerPoint's widescreen slide.
PAGE_WIDTH: Final = 960.0
PAGE_HEIGHT: Final = 540.0
MARGIN: Final = 48.0
GUTTER: Final = 32.0  # between columns
GAP: Final = 14.0  # between blocks in a column

TITLE_TOP: Final = 30.0
TITLE_HEIGHT: Final = 76.0
RULE_TOP: Final = TITLE_TOP + TITLE_HEIGHT + 4.0  # the accent rule under a title
RULE_WIDTH: Final = 64.0
RULE_HEIGHT: Final = 4.0
BODY_TOP: Final = RULE_TOP + RULE_HEIGHT + 16.0
BODY_BOTTOM: Final = PAGE_HEIGHT - 50.0
FOOTER_TOP: Final = PAGE_HEIGHT - 36.0
FOOTER_HEIGHT: Final = 20.0

# Cover slides (layouts title and closing): a big centred title, the text under it.
COVER_TITLE_TOP: Final = 150.0
COVER_TITLE_HEIGHT: Final = 130.0
COVER_INSET: Final = 80.0
COVER_RULE_TOP: Final = COVER_TITLE_TOP + COVER_TITLE_HEIGHT + 10.0
COVER_BODY_TOP: Final = COVER_RULE_TOP + RULE_HEIGHT + 22.0

TITLE_SIZE: Final = 32.0
COVER_TITLE_SIZE: Final = 44.0
MIN_TITLE_SIZE: Final = 18.0
BODY_SIZE: Final = 20.0
NUMBER_SIZE: Final = 11.0
MIN_SCALE: Final = 0.5  # body text shrinks to 10 pt, then is cut
LINE_HEIGHT: Final = 1.25  # of the font size
PARAGRAPH_GAP: Final = 0.45  # of the font size, before every paragraph but the first
INDENT: Final = 1.3  # em per bullet level, and for the bullet itself
TABLE_SIZE: Final = 0.8  # of the body size
CAPTION_SIZE: Final = 0.75  # of the body size
CELL_PADDING: Final = 4.0
IMAGE_MIN_HEIGHT: Final = 90.0

INK: Final[RGB] = (0x1C, 0x23, 0x30)
MUTED: Final[RGB] = (0x5A, 0x64, 0x75)
LINE: Final[RGB] = (0xD9, 0xDE, 0xE7)
GROUND: Final[RGB] = (0xF4, 0xF6, 0xF9)
ACCENT: Final[RGB] = (0x2B, 0x59, 0xC3)
PAPER: Final[RGB] = (0xFF, 0xFF, 0xFF)
