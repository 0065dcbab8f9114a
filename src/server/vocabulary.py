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
