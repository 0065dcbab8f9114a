"""Test tiers, decided by the folder a test lives in, so a test cannot forget its tier."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

TESTS_ROOT = Path(__file__).resolve().parent


class Tier(StrEnum):
    UNIT = "unit"
    INTEGRATION = "integration"
    E2E = "e2e"
    # Cases from outside testing (bad input, slow clients, faults) kept so they keep holding.
    HARDENING = "hardening"
    # Chronicle's own pages driven in a real (headless) Chromium through the real servers.
    BROWSER = "browser"


# The marker of tests whose outcome depends on CHRONICLE_TEST_POSTGRES / _REDIS: those that
# use the `postgres` fixture, directly or through database_url → settings → container.
BACKENDS = "backends"


def tier_of(path: Path) -> Tier | None:
    """The tier of a test file: the first folder under tests/ (None outside a tier)."""
    try:
        folder = path.resolve().relative_to(TESTS_ROOT).parts[0]
    except (ValueError, IndexError):
        return None
    return next((tier for tier in Tier if tier.value == folder), None)
