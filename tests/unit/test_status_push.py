"""The key-status subscriber's health check and the publisher's bound, with a fake
pub/sub: a pong confirms the push, a paused Redis (pings unanswered) stops confirming
it and is reconnected, and a publish Redis does not take says so."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis

from server.auth import status_push
from server.auth.status_push import RedisKeyStatus
from tests.waiting import wait_until


class Listener:
    def __init__(self) -> None:
        self.confirmations = 0
        self.forgotten: list[str] = []

    def forget(self, credential_id: str) -> None:
        self.forgotten.append(credential_id)

    def forget_all(self) -> None:
        pass

    def set_pushed(self, pushed: bool) -> None:
        if pushed:
            self.confirmations += 1


class FakePubSub:
    """Answers each ping with its pong while `answering`; `tell` queues a message."""

    def __init__(self) -> None:
        self.answering = True
        self.pings = 0
        self._queue: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def ping(self, message: str) -> None:
        with self._lock:
            self.pings += 1
            if self.answering:
                self._queue.append({"type": "pong", "data": message.encode()})

    def tell(self, credential_id: str) -> None:
        with self._lock:
            self._queue.append({"type": "message", "data": credential_id.encode()})

    def get_message(self, timeout: float) -> dict[str, Any] | None:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
        threading.Event().wait(min(timeout, 0.01))
        return None


@pytest.fixture
def channel() -> RedisKeyStatus:
    return RedisKeyStatus("redis://127.0.0.1:1/0", timeout=0.05)


def run_subscriber(
    channel: RedisKeyStatus, pubsub: FakePubSub, listener: Listener
) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            channel._confirm_while_subscribed(pubsub, listener)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, raised


def test_pongs_confirm_the_push_and_messages_are_told(channel: RedisKeyStatus) -> None:
    pubsub, listener = FakePubSub(), Listener()
    thread, raised = run_subscriber(channel, pubsub, listener)
    wait_until(lambda: listener.confirmations >= 3, what="three confirmations")
    pubsub.tell("key_abc")
    wait_until(lambda: listener.forgotten == ["key_abc"], what="the change told")
    channel.stop()
    thread.join(5)
    assert not raised


def test_unanswered_pings_stop_confirming_and_end_in_a_reconnect(
    channel: RedisKeyStatus, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(status_push, "RECONNECT_AFTER", 0.5)
    pubsub, listener = FakePubSub(), Listener()
    thread, raised = run_subscriber(channel, pubsub, listener)
    wait_until(lambda: listener.confirmations >= 1, what="confirmed")
    pubsub.answering = False  # Redis paused: the pings go out, nothing comes back
    confirmed = listener.confirmations
    thread.join(5)
    assert listener.confirmations <= confirmed + 1  # at most a pong already on its way
    assert pubsub.pings > 3  # it kept asking
    assert len(raised) == 1 and isinstance(raised[0], redis.ConnectionError)
    assert "key-status pub/sub unconfirmed" in caplog.text


def test_a_late_pong_confirms_nothing() -> None:
    sent = status_push._PING + "100.0"
    assert status_push._sent_at(sent.encode()) == 100.0
    assert status_push._sent_at(b"redis-py-health-check") == float("-inf")
    assert status_push._sent_at(b"chronicle-ping:not-a-time") == float("-inf")


def test_a_publish_redis_does_not_take_returns_false_within_its_bound(
    channel: RedisKeyStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    def publish(_channel: str, credential_id: str) -> int:
        attempts.append(credential_id)
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(channel._client, "publish", publish)
    monkeypatch.setattr(status_push, "PUBLISH_WITHIN", 0.0)
    assert channel.publish("key_abc") is False
    assert attempts == ["key_abc"]  # no time left for a second try


def test_a_publish_redis_takes_returns_true(
    channel: RedisKeyStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel._client, "publish", lambda _channel, _id: 2)
    assert channel.publish("key_abc") is True
