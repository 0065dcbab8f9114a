"""Authentication rules with an in-memory store and a controllable clock."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chronicle import contract
from server import keys
from server.auth import Authenticator, UsageRecorder, credential_from_metadata
from server.errors import KeyExpired, KeyInvalid, KeyRevoked, Unauthorized
from server.services import keys as key_service
from server.storage import models
from tests.fakes import FakeUnitOfWork


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hasher() -> keys.SecretHasher:
    return keys.SecretHasher(memory_kib=1024, time_cost=1, parallelism=1)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.workspaces.add(models.Workspace(id="ws_a", name="a"))
    return uow


@pytest.fixture
def clock() -> Clock:
    return Clock()


def authenticator(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock, usage: UsageRecorder | None = None
) -> Authenticator:
    return Authenticator(
        lambda: uow, hasher, cache_ttl=300, cache_size=100, status_ttl=0.5, usage=usage, clock=clock
    )


def issue(uow: FakeUnitOfWork, hasher: keys.SecretHasher, **kwargs: object) -> str:
    return key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t", **kwargs).raw  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ([], "Missing API key"),
        ([("authorization", "Bearer")], "Malformed Authorization"),
        ([("authorization", "Token abc")], "Malformed Authorization"),
        ([("x-api-key", "")], "Empty x-api-key"),
        ([("authorization", "Bearer a"), ("x-api-key", "b")], "Two different"),
        ([("x-api-key", "a"), ("x-api-key", "b")], "Two different"),
        ([("authorization", "Bearer a"), ("authorization", "Bearer b")], "Two different"),
    ],
)
def test_header_rules(metadata: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        credential_from_metadata(metadata)


def test_equal_keys_in_both_headers_and_any_bearer_case_are_fine() -> None:
    assert credential_from_metadata([("authorization", "bearer k"), ("x-api-key", "k")]) == "k"
    assert credential_from_metadata([("x-api-key", "k"), ("x-api-key", "k")]) == "k"


def test_valid_key_gives_a_principal_of_its_workspace(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    raw = issue(uow, hasher, environment="test")
    principal = authenticator(uow, hasher, clock).authenticate([("x-api-key", raw)])
    assert principal.workspace_id == "ws_a" and principal.kind == contract.API_KEY
    assert principal.environment == "test"


def test_argon2_runs_once_per_key_per_cache_ttl(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    raw = issue(uow, hasher)
    auth = authenticator(uow, hasher, clock)
    before = hasher.verifications
    for _ in range(50):
        auth.authenticate([("x-api-key", raw)])
        clock.now += 1
    assert hasher.verifications - before == 1
    clock.now += 300
    auth.authenticate([("x-api-key", raw)])
    assert hasher.verifications - before == 2


def test_concurrent_first_requests_share_one_verification(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    raw = issue(uow, hasher)
    auth = authenticator(uow, hasher, clock)
    before = hasher.verifications
    barrier = threading.Barrier(8)

    def go() -> None:
        barrier.wait()
        auth.authenticate([("x-api-key", raw)])

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert hasher.verifications - before == 1


def test_status_is_reread_after_its_ttl_so_revocation_wins_over_the_cache(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    auth = authenticator(uow, hasher, clock)
    auth.authenticate([("x-api-key", issued.raw)])
    uow.api_keys.rows[issued.record.id].revoked_at = models.utcnow()  # another process
    auth.authenticate([("x-api-key", issued.raw)])  # within the status TTL: still cached
    clock.now += 0.5
    with pytest.raises(KeyRevoked):
        auth.authenticate([("x-api-key", issued.raw)])


def test_forget_makes_a_local_revocation_immediate(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    auth = authenticator(uow, hasher, clock)
    auth.authenticate([("x-api-key", issued.raw)])
    key_service.revoke_api_key(uow, issued.record.id, "leak", "t")
    auth.forget(issued.record.id)
    with pytest.raises(KeyRevoked):
        auth.authenticate([("x-api-key", issued.raw)])


def test_expired_key_is_refused(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    issued = key_service.create_api_key(
        uow, hasher, workspace_id="ws_a", actor="t", expires_in=timedelta(hours=1)
    )
    uow.api_keys.rows[issued.record.id].expires_at = models.utcnow() - timedelta(seconds=1)
    with pytest.raises(KeyExpired):
        authenticator(uow, hasher, clock).authenticate([("x-api-key", issued.raw)])


def test_wrong_secret_of_a_revoked_key_says_invalid_not_revoked(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    key_service.revoke_api_key(uow, issued.record.id, "", "t")
    handle = issued.record.id.removeprefix("key_")
    body = f"chr_live_{handle}_{'Z' * keys.SECRET_LENGTH}"
    with pytest.raises(KeyInvalid):
        authenticator(uow, hasher, clock).authenticate([("x-api-key", body + keys.checksum(body))])


def test_malformed_keys_touch_neither_store_nor_argon2(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    auth = authenticator(uow, hasher, clock)
    raw = keys.generate("live").raw
    for bad in ("garbage", raw[:-1] + ("x" if raw[-1] != "x" else "y"), raw[:-2]):
        with pytest.raises(KeyInvalid):
            auth.authenticate([("x-api-key", bad)])
    assert uow.opened == 0 and hasher.verifications == 0


def test_unknown_key_still_costs_one_argon2_run(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    with pytest.raises(KeyInvalid):
        authenticator(uow, hasher, clock).authenticate([("x-api-key", keys.generate("live").raw)])
    assert hasher.verifications == 1


def test_last_use_is_recorded_in_one_batch(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    usage = UsageRecorder(lambda: uow, interval=60)
    raws = [issue(uow, hasher) for _ in range(3)]
    auth = authenticator(uow, hasher, clock, usage)
    commits = uow.commits
    for raw in raws * 10:
        auth.authenticate([("x-api-key", raw)])
    assert uow.commits == commits  # nothing written per request
    assert usage.flush() == 3
    assert uow.commits == commits + 1
    assert all(k.last_used_at is not None for k in uow.api_keys.rows.values())


def _wrong_secret(key_id: str) -> str:
    body = f"chr_live_{key_id.removeprefix('key_')}_{'Q' * keys.SECRET_LENGTH}"
    return body + keys.checksum(body)


def test_repeated_wrong_secrets_for_one_key_id_stop_reaching_argon2(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    from server.auth import FAILURES_PER_KEY

    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    auth = authenticator(uow, hasher, clock)
    auth.authenticate([("x-api-key", issued.raw)])  # the holder's key is cached
    before = hasher.verifications
    for _ in range(FAILURES_PER_KEY.count + 20):
        with pytest.raises(KeyInvalid):
            auth.authenticate([("x-api-key", _wrong_secret(issued.record.id))])
    assert hasher.verifications - before == FAILURES_PER_KEY.count + 1
    assert auth.authenticate([("x-api-key", issued.raw)]).credential_id == issued.record.id
    events = [e for e in uow.key_events.rows.values() if e.event == "verification_failures"]
    assert len(events) == 1 and issued.raw not in events[0].detail
    clock.now += FAILURES_PER_KEY.per_seconds
    with pytest.raises(KeyInvalid):
        auth.authenticate([("x-api-key", _wrong_secret(issued.record.id))])
    assert hasher.verifications - before == FAILURES_PER_KEY.count + 2  # argon2 again


def test_a_flood_of_unknown_keys_costs_at_most_the_decoy_budget(
    uow: FakeUnitOfWork, hasher: keys.SecretHasher, clock: Clock
) -> None:
    from server.auth import DECOYS

    auth = authenticator(uow, hasher, clock)
    for _ in range(200):
        with pytest.raises(KeyInvalid):
            auth.authenticate([("x-api-key", keys.generate("live").raw)])
    assert hasher.verifications == DECOYS.count
