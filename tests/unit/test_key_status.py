"""The key-status cache: how long a status may be served before it is re-read."""

from __future__ import annotations

import pytest

from chronicle import credentials
from server import key_material
from server.auth.key_status import StatusCache
from server.services import keys as key_service
from server.storage import models
from tests.fakes import FakeClock, FakeUnitOfWork


@pytest.fixture
def uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.workspaces.add(models.Workspace(id="ws_a", name="a"))
    return uow


@pytest.fixture
def hasher() -> key_material.SecretHasher:
    return key_material.SecretHasher(memory_kib=1024, time_cost=1, parallelism=1)


def _parsed(raw: str) -> credentials.ParsedKey:
    parsed = credentials.parse(raw)
    assert parsed is not None
    return parsed


def test_a_status_is_served_from_the_cache_until_its_ttl_and_then_reread(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    clock = FakeClock()
    issued = key_service.create_api_key(
        uow, hasher, workspace_id="ws_a", actor="t", rate_limit="5/minute"
    )
    cache = StatusCache(lambda: uow, ttl=0.5, pushed_ttl=30, clock=clock)
    status = cache.get(_parsed(issued.raw))
    assert status is not None and status.workspace_id == "ws_a" and status.environment == "live"
    assert status.rate_limit is not None and status.rate_limit.count == 5
    opened = uow.opened
    clock.now += 0.49
    assert cache.get(_parsed(issued.raw)) is status
    assert uow.opened == opened
    clock.now += 0.01
    cache.get(_parsed(issued.raw))
    assert uow.opened == opened + 1


def test_while_the_push_is_confirmed_the_ttl_is_the_longer_one(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    clock = FakeClock()
    raw = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t").raw
    cache = StatusCache(lambda: uow, ttl=0.5, pushed_ttl=30, clock=clock)
    cache.set_pushed(True)
    cache.get(_parsed(raw))
    opened = uow.opened
    for _ in range(290):  # confirmed every 0.1 s, as the subscriber's pongs do
        clock.now += 0.1
        cache.set_pushed(True)
        cache.get(_parsed(raw))
    assert uow.opened == opened
    cache.set_pushed(False)
    cache.get(_parsed(raw))
    assert uow.opened == opened + 1


def test_a_push_no_longer_confirmed_lapses_by_itself_within_the_short_ttl(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    """Redis paused: nobody says the push is down; the pongs just stop coming."""
    clock = FakeClock()
    raw = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t").raw
    cache = StatusCache(lambda: uow, ttl=0.5, pushed_ttl=30, clock=clock)
    cache.set_pushed(True)
    cache.get(_parsed(raw))
    opened = uow.opened
    clock.now += 0.49
    cache.get(_parsed(raw))
    assert uow.opened == opened  # still confirmed, still cached
    clock.now += 0.02
    cache.get(_parsed(raw))
    assert uow.opened == opened + 1  # lapsed: re-read as without Redis


def test_a_push_confirmed_again_after_a_lapse_drops_every_cached_status(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    """A change told while the push was down may have been lost."""
    clock = FakeClock()
    raw = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t").raw
    cache = StatusCache(lambda: uow, ttl=0.5, pushed_ttl=30, clock=clock)
    cache.set_pushed(True)
    clock.now += 1.0  # lapsed
    cache.get(_parsed(raw))
    opened = uow.opened
    clock.now += 0.1
    cache.set_pushed(True)
    cache.get(_parsed(raw))
    assert uow.opened == opened + 1


def test_unknown_key_ids_and_forgotten_statuses_are_reread(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    clock = FakeClock()
    raw = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t").raw
    cache = StatusCache(lambda: uow, ttl=0.5, pushed_ttl=None, clock=clock)
    unknown = _parsed(key_material.generate("live").raw)
    assert cache.get(unknown) is None
    assert cache.get(unknown) is None
    assert uow.opened == 2  # nothing cached for an unknown key id
    cache.get(_parsed(raw))
    cache.forget_all()
    cache.get(_parsed(raw))
    assert uow.opened == 4


def test_a_service_tokens_status_has_no_workspace_environment_or_expiry(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    _, raw = key_service.create_service_token(uow, hasher, "ops")
    cache = StatusCache(lambda: uow, ttl=0.5, pushed_ttl=None, clock=FakeClock())
    status = cache.get(_parsed(raw))
    assert status is not None and status.name == "ops"
    assert (status.workspace_id, status.environment, status.expires_at) == ("", "", None)
