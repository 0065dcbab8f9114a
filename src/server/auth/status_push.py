"""Key-status changes pushed to every process over Redis pub/sub (`CHRONICLE_REDIS_URL`),
so that a cached status need be re-read only as a safety net while the push is up.

Whoever commits a revoke or a rotation (a server, the CLI) publishes the credential id;
every server drops its cached status for that id. The subscriber pings Redis over its
own subscription every PING_SECONDS; each pong back within PONG_WITHIN confirms the
push for another CHRONICLE_KEY_STATUS_TTL (the cache's lease, `key_status`). Redis
paused, partitioned or dead stops the pongs, the lease runs out, and statuses are
re-read every CHRONICLE_KEY_STATUS_TTL as without Redis; once confirmed again, all
cached statuses are dropped, since changes published meanwhile may have been missed.
So a revoke is refused within TTL + PONG_WITHIN (0.7 s by default) even when its
message is lost with the Redis that was to carry it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

CHANNEL = "chronicle:key-status"

PING_SECONDS = 0.1
# A pong later than this confirms nothing: a lease counted from a late pong would let a
# change lost just after the ping go unnoticed for longer than the promise allows.
PONG_WITHIN = 0.2
# No timely pong for this long: the connection is presumed dead and made anew.
RECONNECT_AFTER = 3.0
# How long a publisher keeps trying before it says the change was not told.
PUBLISH_WITHIN = 0.3
_PING = "chronicle-ping:"


class StatusListener(Protocol):
    def forget(self, credential_id: str) -> None: ...
    def forget_all(self) -> None: ...
    def set_pushed(self, pushed: bool) -> None: ...


class KeyStatusChannel(Protocol):
    def publish(self, credential_id: str) -> bool: ...
    def listen(self, listener: StatusListener) -> None: ...
    def stop(self) -> None: ...


class NoChannel:
    """Without Redis: nothing to tell; every process re-reads statuses on its own."""

    def publish(self, credential_id: str) -> bool:
        return True  # every process re-reads within the TTL anyway

    def listen(self, listener: StatusListener) -> None:
        pass

    def stop(self) -> None:
        pass


class RedisKeyStatus:
    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._timeout = timeout
        # No retries inside redis-py (its default is 10, with back-off): PUBLISH_WITHIN
        # bounds how long a revoke may wait on Redis.
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, credential_id: str) -> bool:
        """After the change has committed: True once Redis has taken it for every
        subscriber; False (logged) when Redis did not answer within PUBLISH_WITHIN. A
        Redis that answers nobody costs nothing: every server's lease has run out and
        it re-reads statuses within the TTL. Only a server that still reaches Redis
        while this process cannot may serve the old status until its safety-net
        re-read (CHRONICLE_KEY_STATUS_REFRESH): what False warns of."""
        deadline = time.monotonic() + PUBLISH_WITHIN
        while True:
            try:
                self._client.publish(CHANNEL, credential_id)
            except redis.RedisError as exc:
                if time.monotonic() + self._timeout < deadline:
                    continue
                log.warning(
                    "could not publish a key-status change for %s (%s)",
                    credential_id,
                    type(exc).__name__,
                )
                return False
            return True

    def listen(self, listener: StatusListener, *, retry_seconds: float = 0.5) -> None:
        """Starts the subscriber thread; `stop()` ends it."""
        self._thread = threading.Thread(
            target=self._run, args=(listener, retry_seconds), name="key-status", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, listener: StatusListener, retry_seconds: float) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self._subscribed(listener)
            except (redis.RedisError, OSError) as exc:
                if not failing:
                    log.warning(
                        "key-status pub/sub unavailable (%s): statuses are re-read "
                        "every CHRONICLE_KEY_STATUS_TTL",
                        type(exc).__name__,
                    )
                failing = True
            finally:
                listener.set_pushed(False)
            self._stop.wait(retry_seconds)

    def _subscribed(self, listener: StatusListener) -> None:
        # A connection of its own, checked by our own pings (redis-py's health check
        # sends one but waits for nothing, so a paused Redis went unnoticed).
        client = redis.Redis.from_url(
            self._url,
            socket_connect_timeout=self._timeout,
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 0),
        )
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(CHANNEL)
            confirmation = pubsub.get_message(timeout=2.0)
            if confirmation is None or confirmation["type"] != "subscribe":
                raise redis.ConnectionError("no subscription confirmation")
            self._confirm_while_subscribed(pubsub, listener)
        finally:
            pubsub.close()
            client.close()

    def _confirm_while_subscribed(
        self, pubsub: redis.client.PubSub, listener: StatusListener
    ) -> None:
        """Tells the listener of changes and of every timely pong, until `stop` or until
        no pong came for RECONNECT_AFTER (then raises, to reconnect)."""
        confirmed = False
        last_pong = next_ping = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_ping:
                pubsub.ping(f"{_PING}{now!r}")  # the pong carries its ping's time
                next_ping = now + PING_SECONDS
            # Short waits: also how soon `stop` is seen.
            message = pubsub.get_message(timeout=max(0.0, next_ping - now))
            now = time.monotonic()
            kind = None if message is None else message["type"]
            if kind == "message":
                listener.forget(message["data"].decode("ascii", "replace"))
            elif kind == "pong" and now - _sent_at(message["data"]) <= PONG_WITHIN:
                listener.set_pushed(True)
                last_pong = now
                if not confirmed:
                    log.info("key-status changes arrive over Redis pub/sub")
                confirmed = True
            if confirmed and now - last_pong > PING_SECONDS + PONG_WITHIN:
                log.warning(
                    "key-status pub/sub unconfirmed: no pong from Redis within %g s; "
                    "statuses are re-read every CHRONICLE_KEY_STATUS_TTL",
                    PONG_WITHIN,
                )
                confirmed = False
            if now - last_pong > RECONNECT_AFTER:
                raise redis.ConnectionError(f"no pong for {RECONNECT_AFTER:g} s")


def _sent_at(data: bytes) -> float:
    """When our ping left (a pong that is not ours: never, so it confirms nothing)."""
    text = data.decode("ascii", "replace")
    if not text.startswith(_PING):
        return float("-inf")
    try:
        return float(text.removeprefix(_PING))
    except ValueError:
        return float("-inf")
