"""The server's words for states and kinds, defined once: no literal for one of these
values appears anywhere else."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """A generation job's state, as GenerationStatus.status spells it on the wire."""

    GENERATING = "generating"
    AWAITING_INPUT = "awaiting_input"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED)


class JobPhase(StrEnum):
    """Where a standalone job is, as GenerationStatus.phase spells it on the wire."""

    STORYLINE = "storyline"
    SLIDES = "slides"


class Layout(StrEnum):
    """A slide's layout, as Section.layout spells it on the wire."""

    TITLE = "title"
    TITLE_AND_BODY = "title_and_body"
    TWO_COLUMN = "two_column"
    QUOTE = "quote"
    IMAGE = "image"
    CLOSING = "closing"


class NarrativeType(StrEnum):
    """GeneratePresentationRequest.narrative_type: the storyline a generated deck follows;
    Auto lets the writer pick one from the material."""

    PITCH = "Pitch"
    SHOWCASE = "Showcase"
    SALES = "Sales"
    PROPOSAL = "Proposal"
    RESEARCH = "Research"
    GUIDE = "Guide"
    MEETING = "Meeting"
    PORTFOLIO = "Portfolio"
    AUTO = "Auto"


class RewriteStyle(StrEnum):
    """GeneratePresentationRequest.rewrite_style: how far the writer rewords the user's
    sentences, strongest first."""

    STRONG = "Strong"
    SUBTLE = "Subtle"
    PRESERVE = "Preserve"


class Language(StrEnum):
    """GeneratePresentationRequest.language: the language a deck is written in, by the short
    codes the API has always accepted (a country code for each English, `in` for Indonesian)."""

    US = "us"  # American English
    UK = "uk"  # British English
    ES = "es"  # Spanish
    FR = "fr"  # French
    DE = "de"  # German
    IT = "it"  # Italian
    PT = "pt"  # Portuguese
    CN = "cn"  # Simplified Chinese
    IN = "in"  # Indonesian
    JA = "ja"  # Japanese
    KO = "ko"  # Korean
    AR = "ar"  # Arabic
    HI = "hi"  # Hindi
    BN = "bn"  # Bengali


class IdempotencyState(StrEnum):
    """Where the request that claimed an Idempotency-Key is (decision 027)."""

    RUNNING = "running"  # claimed; its work has not committed
    COMMITTED = "committed"  # its work committed; its answer is not stored yet
    DONE = "done"  # its answer is stored and replayed


class UserRole(StrEnum):
    """What a workspace member may do (issue 14): admins manage keys, members read."""

    ADMIN = "admin"
    MEMBER = "member"
