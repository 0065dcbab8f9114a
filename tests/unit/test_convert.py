"""Rows → messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from server import convert


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 4, 30, tzinfo=UTC),
        datetime(2026, 11, 27, 0, 7, 10, 999999, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 8, 1, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, 0, 500000, tzinfo=timezone(timedelta(hours=-7))),
    ],
)
def test_timestamps_match_protobufs_own_conversion(value: datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)
    assert convert.timestamp(value) == expected
    assert convert.timestamp(None) is None
