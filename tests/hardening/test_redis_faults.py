"""Redis hung (SIGSTOP), resumed, or killed, under `chronicle serve-grpc` processes, the
CLI and the rate limiter: revocation still honoured within 1 s, a revoke that Redis did
not take says so, and a paused Redis costs one timeout, not one per request.

Each test runs a redis-server of its own (the `own_redis` fixture: a free port, no
persistence) so it can stop it without touching the shared Redis on 6379.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from chronicle.config import RateLimit, Settings
from chronicle.v1 import api_key_service_pb2
from server.ratelimit import BREAKER_OPEN_SECONDS, RedisLimiter
from tests.conftest import Tenant
from tests.e2e.test_auth import call
from tests.e2e.test_server_processes import get_caller, seconds_until_refused
from tests.fakes import FakeClock
from tests.harness import free_port
from tests.processes import GrpcServerProcess, cli_env, command, grpc_server_process
from tests.waiting import wait_until

OwnRedis = tuple[subprocess.Popen[bytes], str]
StartServers = Callable[[str], list[GrpcServerProcess]]

SUBSCRIBED = "key-status changes arrive over Redis pub/sub"
UNCONFIRMED = "key-status pub/sub unconfirmed"
REVOKE = "/chronicle.v1.ApiKeyService/RevokeApiKey"


@pytest.fixture
def paused(own_redis: OwnRedis) -> Iterator[Callable[[], None]]:
    """Pauses the test's redis-server (SIGSTOP) when called; resumed at the end."""
    process, _ = own_redis
    yield lambda: process.send_signal(signal.SIGSTOP)
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)


@pytest.fixture
def start_servers(tmp_path: Path, settings: Settings) -> Iterator[StartServers]:
    """Two servers on the test's database and Redis, statuses re-read only every 2
    minutes while the push is up: a change honoured within a second was either told
    or re-read because the push was known to be down."""
    started: list[GrpcServerProcess] = []

    def start(redis_url: str) -> list[GrpcServerProcess]:
        env = {
            "CHRONICLE_REDIS_URL": redis_url,
            "CHRONICLE_REDIS_TIMEOUT": "0.1",
            "CHRONICLE_KEY_STATUS_REFRESH": "120",
        }
        servers = [
            grpc_server_process(f"server{n}", tmp_path, settings.database_url, free_port(), **env)
            for n in range(2)
        ]
        started.extend(servers)
        for server in servers:
            server.wait_serving()
            server.wait_for_log(SUBSCRIBED)
        return servers

    yield start
    for server in started:
        server.stop()


def revoke(server: GrpcServerProcess, key_id: str, token: str) -> object:
    """The answer to RevokeApiKey through `server`: the key, or the RpcError."""
    with grpc.insecure_channel(server.target) as channel:
        return call(
            channel,
            REVOKE,
            api_key_service_pb2.RevokeApiKeyRequest(id=key_id, reason="leak"),
            [("authorization", f"Bearer {token}")],
        )


def assert_not_told(answer: object) -> None:
    """The revoke committed, but Redis did not take the news: said so, not success."""
    assert isinstance(answer, grpc.RpcError), answer
    assert answer.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert "revoked, but Redis did not confirm" in answer.details()  # type: ignore[attr-defined]


def test_a_revoke_while_redis_is_paused_is_refused_everywhere_within_1s(
    start_servers: StartServers,
    own_redis: OwnRedis,
    paused: Callable[[], None],
    tenant: Tenant,
    service_token: str,
) -> None:
    first, second = start_servers(own_redis[1])
    for server in (first, second):  # each has the status cached, pushed mode
        assert not isinstance(get_caller(server, tenant.key), grpc.RpcError)
    paused()
    committed = time.monotonic()  # at the latest: the revoke commits during the call
    assert_not_told(revoke(first, tenant.key_id, service_token))
    for server in (first, second):
        seconds_until_refused(server, tenant.key, "API_KEY_REVOKED")
        assert time.monotonic() - committed < 1.0, f"{server.name} served a revoked key"
    second.wait_for_log(UNCONFIRMED, timeout=5)


def test_a_paused_redis_resumed_brings_the_push_back(
    start_servers: StartServers,
    own_redis: OwnRedis,
    paused: Callable[[], None],
    tenant: Tenant,
    settings: Settings,
) -> None:
    process, url = own_redis
    first, second = start_servers(url)
    paused()
    for server in (first, second):
        server.wait_for_log(UNCONFIRMED, timeout=5)
    process.send_signal(signal.SIGCONT)
    for server in (first, second):
        wait_until(
            lambda server=server: server.output().count(SUBSCRIBED) >= 2,  # type: ignore[misc]
            10,
            what=f"{server.name} pushed again",
        )
        assert not isinstance(get_caller(server, tenant.key), grpc.RpcError)
    # Pushed again: a revoke by the CLI is told, and honoured at once.
    done = run_cli_raw("key", "revoke", tenant.key_id, settings=settings, redis_url=url)
    assert done.returncode == 0, done.stderr
    for server in (first, second):
        assert seconds_until_refused(server, tenant.key, "API_KEY_REVOKED") < 1.0


def test_with_redis_killed_servers_keep_serving_and_revocation_still_holds(
    start_servers: StartServers, own_redis: OwnRedis, tenant: Tenant, service_token: str
) -> None:
    """Fail open for rate limits; for key status, back to re-reading every 0.5 s."""
    redis_process, url = own_redis
    first, second = start_servers(url)
    assert not isinstance(get_caller(second, tenant.key), grpc.RpcError)
    redis_process.send_signal(signal.SIGKILL)
    redis_process.wait()
    second.wait_for_log("pub/sub unavailable", timeout=10)
    answers = [get_caller(server, tenant.key) for server in (first, second) for _ in range(5)]
    assert not any(isinstance(a, grpc.RpcError) for a in answers), answers  # open, never a 500
    committed = time.monotonic()
    assert_not_told(revoke(first, tenant.key_id, service_token))
    seconds_until_refused(second, tenant.key, "API_KEY_REVOKED")
    assert time.monotonic() - committed < 1.0


def run_cli_raw(*args: str, settings: Settings, redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("--database-url", settings.database_url, *args),
        env=cli_env(CHRONICLE_REDIS_URL=redis_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_says_when_redis_did_not_take_a_revoke_and_servers_still_refuse_it(
    start_servers: StartServers,
    own_redis: OwnRedis,
    paused: Callable[[], None],
    tenant: Tenant,
    settings: Settings,
) -> None:
    _, url = own_redis
    (server, _) = start_servers(url)
    assert not isinstance(get_caller(server, tenant.key), grpc.RpcError)
    paused()
    done = run_cli_raw("key", "revoke", tenant.key_id, settings=settings, redis_url=url)
    assert done.returncode == 3, (done.returncode, done.stderr)  # committed, not confirmed
    assert f"{tenant.key_id} revoked" in done.stdout
    warning = [line for line in done.stderr.splitlines() if line.startswith("chronicle: ")]
    assert len(warning) == 1 and "Redis did not confirm that the servers were told" in warning[0]
    assert "Run the command again" in warning[0]
    # Counted from the CLI's exit, after its commit: the server's lease has lapsed, so
    # it re-reads the status as without Redis.
    assert seconds_until_refused(server, tenant.key, "API_KEY_REVOKED") < 1.0


def test_the_limiter_with_redis_paused_stops_waiting_once_the_circuit_opens(
    own_redis: OwnRedis, paused: Callable[[], None]
) -> None:
    process, url = own_redis
    clock = FakeClock()
    limiter = RedisLimiter(url, timeout=0.2, clock=clock)
    rate = RateLimit(2, 60)

    async def probe_ended() -> None:
        while limiter.probing:
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        assert [(await limiter.hit("k", rate)).allowed for _ in range(3)] == [True, True, False]
        assert limiter.round_trips == 3
        paused()
        assert (await limiter.hit("k", rate)).allowed  # one timeout, then fail open
        assert limiter.round_trips == 4
        answers = await asyncio.gather(*(limiter.hit("k", rate) for _ in range(200)))
        assert all(a.allowed for a in answers)
        assert limiter.round_trips == 4  # open: not one request waited on Redis
        clock.now += BREAKER_OPEN_SECONDS
        assert (await limiter.hit("k", rate)).allowed  # at once; a probe goes out
        assert limiter.round_trips == 5 and limiter.probing
        await probe_ended()  # still paused: open again
        assert (await limiter.hit("k", rate)).allowed
        assert limiter.round_trips == 5
        process.send_signal(signal.SIGCONT)
        clock.now += BREAKER_OPEN_SECONDS
        assert (await limiter.hit("k", rate)).allowed  # at once; a probe goes out
        await probe_ended()
        # Closed again: real answers (the key's allowance is still spent).
        decision = await limiter.hit("k", rate)
        assert limiter.round_trips == 7
        assert not decision.allowed and decision.retry_after_seconds > 0

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
