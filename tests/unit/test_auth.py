"""Authentication rules with an in-memory store and a controllable clock."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from typing import Any

import pytest

from chronicle import contract, credentials
from chronicle.config import DEFAULT_FAILED_VERIFICATIONS, RateLimit
from server import key_material
from server.auth import Authenticator, CallerKind, UsageRecorder, credential_from_metadata
from server.errors import KeyExpired, KeyInvalid, KeyRevoked, RateLimited, Unauthorized, Unavailable
from server.services import keys as key_service
from server.storage import models
from tests.fakes import FakeClock, FakeUnitOfWork


@pytest.fixture
def hasher() -> key_material.SecretHasher:
    return key_material.SecretHasher(memory_kib=1024, time_cost=1, parallelism=1)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.workspaces.add(models.Workspace(id="ws_a", name="a"))
    return uow


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def authenticator(
    uow: FakeUnitOfWork,
    hasher: key_material.SecretHasher,
    clock: FakeClock,
    usage: UsageRecorder | None = None,
    **options: Any,
) -> Authenticator:
    return Authenticator(
        lambda: uow,
        hasher,
        cache_ttl=300,
        cache_size=100,
        status_ttl=0.5,
        usage=usage,
        clock=clock,
        **options,
    )


def issue(uow: FakeUnitOfWork, hasher: key_material.SecretHasher, **kwargs: object) -> str:
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
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    raw = issue(uow, hasher, environment="test")
    principal = authenticator(uow, hasher, clock).authenticate([("x-api-key", raw)])
    assert principal.workspace_id == "ws_a" and principal.kind == contract.API_KEY
    assert principal.environment == "test"


def test_argon2_runs_once_per_key_per_cache_ttl(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
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
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
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
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
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
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    auth = authenticator(uow, hasher, clock)
    auth.authenticate([("x-api-key", issued.raw)])
    key_service.revoke_api_key(uow, issued.record.id, "leak", "t")
    auth.forget(issued.record.id)
    with pytest.raises(KeyRevoked):
        auth.authenticate([("x-api-key", issued.raw)])


def test_expired_key_is_refused(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    issued = key_service.create_api_key(
        uow, hasher, workspace_id="ws_a", actor="t", expires_in=timedelta(hours=1)
    )
    uow.api_keys.rows[issued.record.id].expires_at = models.utcnow() - timedelta(seconds=1)
    with pytest.raises(KeyExpired):
        authenticator(uow, hasher, clock).authenticate([("x-api-key", issued.raw)])


def test_wrong_secret_of_a_revoked_key_says_invalid_not_revoked(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    key_service.revoke_api_key(uow, issued.record.id, "", "t")
    handle = issued.record.id.removeprefix("key_")
    body = f"chr_live_{handle}_{'Z' * credentials.SECRET_LENGTH}"
    with pytest.raises(KeyInvalid):
        authenticator(uow, hasher, clock).authenticate(
            [("x-api-key", body + credentials.checksum(body))]
        )


def test_malformed_keys_touch_neither_store_nor_argon2(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    auth = authenticator(uow, hasher, clock)
    raw = key_material.generate("live").raw
    for bad in ("garbage", raw[:-1] + ("x" if raw[-1] != "x" else "y"), raw[:-2]):
        with pytest.raises(KeyInvalid):
            auth.authenticate([("x-api-key", bad)])
    assert uow.opened == 0 and hasher.verifications == 0


def test_last_use_is_recorded_in_one_batch(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
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
    body = f"chr_live_{key_id.removeprefix('key_')}_{'Q' * credentials.SECRET_LENGTH}"
    return body + credentials.checksum(body)


def test_repeated_wrong_secrets_for_one_key_id_stop_reaching_argon2(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    from server.auth import FAILURES_PER_KEY, SUSPECT_SECONDS

    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    auth = authenticator(uow, hasher, clock)
    auth.authenticate([("x-api-key", issued.raw)])  # the holder's key is cached
    before = hasher.verifications
    answers = []
    for _ in range(FAILURES_PER_KEY.count + 20):
        with pytest.raises((KeyInvalid, Unavailable)) as refused:
            auth.authenticate([("x-api-key", _wrong_secret(issued.record.id))])
        answers.append(type(refused.value).__name__)
    # The first wrong secret costs argon2 and makes the key id a suspect; the second
    # spends the suspects' shared budget (1 a second; the clock stands still), so the
    # next are told to retry, each a failure of the key id, until its budget is spent
    # too and it is refused outright.
    assert hasher.verifications - before == 2
    assert answers[:2] == ["KeyInvalid"] * 2 and answers[2] == "Unavailable"
    assert set(answers[FAILURES_PER_KEY.count + 1 :]) == {"KeyInvalid"}  # blocked: no argon2
    assert auth.authenticate([("x-api-key", issued.raw)]).credential_id == issued.record.id
    events = [e for e in uow.key_events.rows.values() if e.event == "verification_failures"]
    assert len(events) == 1 and issued.raw not in events[0].detail
    clock.now += max(FAILURES_PER_KEY.per_seconds, SUSPECT_SECONDS)
    with pytest.raises(KeyInvalid):
        auth.authenticate([("x-api-key", _wrong_secret(issued.record.id))])
    assert hasher.verifications - before == 3  # argon2 again


def test_a_suspect_key_is_verified_again_once_the_suspects_budget_has_room(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    from server.auth import SUSPECT_VERIFICATIONS

    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    auth = authenticator(uow, hasher, clock)
    for _ in range(2):  # someone guessed (the key id is now a suspect), and again
        with pytest.raises(KeyInvalid):
            auth.authenticate([("x-api-key", _wrong_secret(issued.record.id))])
    with pytest.raises(Unavailable):  # the holder, in the same second: retry
        auth.authenticate([("x-api-key", issued.raw)])
    clock.now += SUSPECT_VERIFICATIONS.per_seconds
    assert auth.authenticate([("x-api-key", issued.raw)]).credential_id == issued.record.id


def test_unknown_key_ids_never_reach_argon2_but_answer_as_late_as_a_wrong_secret(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    from server.auth import UnknownKeyId

    auth = authenticator(uow, hasher, clock)
    for n in range(200):  # from many addresses, so no one client's budget is spent
        with pytest.raises(UnknownKeyId) as refused:
            auth.authenticate(
                [("x-api-key", key_material.generate("live").raw)], client=f"10.0.0.{n}"
            )
        assert refused.value.reason == "API_KEY_INVALID"  # the same answer as a wrong secret
        assert refused.value.answer_after == hasher.typical_seconds > 0
    assert hasher.verifications == 0


def test_a_client_with_too_many_failures_gets_429_without_argon2(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    budget = DEFAULT_FAILED_VERIFICATIONS
    cached, fresh = issue(uow, hasher), issue(uow, hasher)
    other_ids = [
        key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t").record.id
        for _ in range(budget.count + 1)
    ]
    auth = authenticator(uow, hasher, clock)
    auth.authenticate([("x-api-key", cached)], client="10.0.0.1")
    # One wrong secret per key id, so no key id's own budget is spent: the client's
    # budget allows `count` failures; the one beyond it starts the throttle.
    for key_id in other_ids:
        with pytest.raises(KeyInvalid):
            auth.authenticate([("x-api-key", _wrong_secret(key_id))], client="10.0.0.1")
    before = hasher.verifications
    with pytest.raises(RateLimited) as refused:
        auth.authenticate([("x-api-key", _wrong_secret(other_ids[0]))], client="10.0.0.1")
    assert 0 < refused.value.retry_after_seconds <= budget.per_seconds
    assert "this client" in refused.value.message
    with pytest.raises(RateLimited):  # a valid key not yet verified waits too
        auth.authenticate([("x-api-key", fresh)], client="10.0.0.1")
    assert hasher.verifications == before  # refused before argon2
    # A key already verified is unaffected; so is every other client.
    assert auth.authenticate([("x-api-key", cached)], client="10.0.0.1").workspace_id == "ws_a"
    assert auth.authenticate([("x-api-key", fresh)], client="10.0.0.2").workspace_id == "ws_a"
    clock.now += refused.value.retry_after_seconds
    assert auth.authenticate([("x-api-key", issue(uow, hasher))], client="10.0.0.1")


def test_an_expired_key_presented_is_audited_once(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    issued = key_service.create_api_key(
        uow, hasher, workspace_id="ws_a", actor="t", expires_in=timedelta(hours=1)
    )
    uow.api_keys.rows[issued.record.id].expires_at = models.utcnow() - timedelta(seconds=1)
    usage = UsageRecorder(lambda: uow, interval=60)
    auth = authenticator(uow, hasher, clock, usage)
    for _ in range(5):
        with pytest.raises(KeyExpired):
            auth.authenticate([("x-api-key", issued.raw)])
    assert not _events(uow, "expired")  # batched, not written on the request path
    usage.flush()
    (event,) = _events(uow, "expired")
    assert event.key_id == issued.record.id and event.workspace_id == "ws_a"
    assert "expiry" in event.detail and issued.raw not in event.detail


def test_a_rate_limited_burst_is_audited_once_per_burst(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    from server.auth import BURST_GAP_SECONDS, Principal

    usage = UsageRecorder(lambda: uow, interval=60)
    auth = authenticator(uow, hasher, clock, usage)
    principal = Principal(CallerKind.API_KEY, "key_a", "ws_a", "live")
    for _ in range(10):
        auth.tell_rate_limited(principal, RateLimit(5, 60))
        clock.now += 1
    usage.flush()
    (event,) = _events(uow, "rate_limited")
    assert event.key_id == "key_a" and "5/minute" in event.detail
    clock.now += BURST_GAP_SECONDS
    auth.tell_rate_limited(principal, RateLimit(5, 60))  # a new burst
    usage.flush()
    assert len(_events(uow, "rate_limited")) == 2


def test_with_pushed_changes_the_status_is_reread_only_as_a_safety_net(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    auth = authenticator(uow, hasher, clock, pushed_status_ttl=30)
    auth.set_pushed(True)
    auth.authenticate([("x-api-key", issued.raw)])
    opened = uow.opened
    for _ in range(100):  # the push confirmed every 0.1 s (the subscriber's pongs)
        clock.now += 0.1
        auth.set_pushed(True)
    auth.authenticate([("x-api-key", issued.raw)])
    assert uow.opened == opened  # no re-read: a change would have been pushed
    uow.api_keys.rows[issued.record.id].revoked_at = models.utcnow()
    auth.set_pushed(False)  # the subscription dropped: back to short re-reads
    clock.now += 0.5
    with pytest.raises(KeyRevoked):
        auth.authenticate([("x-api-key", issued.raw)])


def test_a_status_read_while_a_change_is_told_is_not_kept(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher, clock: FakeClock
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    key_id = issued.record.id
    auth = authenticator(uow, hasher, clock, pushed_status_ttl=30)
    auth.set_pushed(True)
    real_get = uow.api_keys.snapshot

    def read_then_revoke_elsewhere(row_id: str) -> object:
        row = copy.copy(real_get(row_id))  # read before the revoke commits…
        uow.api_keys.rows[key_id].revoked_at = models.utcnow()
        auth.forget(key_id)  # …and the change is told before the read is cached
        return row

    uow.api_keys.snapshot = read_then_revoke_elsewhere  # type: ignore[method-assign]
    auth.authenticate([("x-api-key", issued.raw)])  # the stale read answers this request
    uow.api_keys.snapshot = real_get  # type: ignore[method-assign]
    with pytest.raises(KeyRevoked):  # but was not kept for the next 30 s
        auth.authenticate([("x-api-key", issued.raw)])


def _events(uow: FakeUnitOfWork, kind: str) -> list[models.KeyEvent]:
    return [e for e in uow.key_events.rows.values() if e.event == kind]


def test_only_a_trusted_peer_may_forward_the_client_address() -> None:
    """A gRPC caller outside CHRONICLE_TRUSTED_PROXIES cannot pick its own address."""
    from chronicle.config import Settings
    from server.client_address import client_address

    trusted = Settings.load({}).trusted_proxies  # loopback by default
    forwarded = [("chronicle-client-address", "10.9.9.9")]
    assert client_address("ipv4:127.0.0.1:5000", forwarded, trusted) == "10.9.9.9"
    assert client_address("ipv4:192.0.2.7:5000", forwarded, trusted) == "192.0.2.7"
    assert client_address("ipv6:[::1]:5000", forwarded, trusted) == "10.9.9.9"
    assert client_address("ipv6:[2001:db8::1]:5000", forwarded, trusted) == "2001:db8::1"
    bogus = [("chronicle-client-address", "not an address")]
    assert client_address("ipv4:127.0.0.1:5000", bogus, trusted) == "127.0.0.1"
