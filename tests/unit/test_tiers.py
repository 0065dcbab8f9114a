"""The tier of a test comes from its folder; anything outside the tier folders has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiers import TESTS_ROOT, Tier, tier_of


@pytest.mark.parametrize("tier", list(Tier))
def test_a_test_file_takes_the_tier_of_its_folder(tier: Tier) -> None:
    assert tier_of(TESTS_ROOT / tier.value / "test_anything.py") is tier


@pytest.mark.parametrize(
    "path",
    [TESTS_ROOT / "conftest.py", TESTS_ROOT / "fixtures" / "test_page.py", TESTS_ROOT.parent],
)
def test_a_file_outside_the_tier_folders_has_no_tier(path: Path) -> None:
    assert tier_of(path) is None


def test_this_test_carries_exactly_its_own_tier(request: pytest.FixtureRequest) -> None:
    tiers = [mark.name for mark in request.node.iter_markers() if mark.name in set(Tier)]
    assert tiers == [Tier.UNIT]
