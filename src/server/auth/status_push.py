"""Key-status changes pushed to every process over Redis pub/sub (`CHRONICLE_REDIS_URL`),
so that a cached status need be re-read only as a safety net while the push is up.

Whoever commits a revoke or a rotation (a server, the CLI) publishes the credential id;
every server drops its cached status for that id. While the subscription is down, or
before it is first up, statuses are re-read every `CHRONICLE_KEY_STATUS_TTL` as without
Redis; on every (re)subscription all cached statuses are dropped, since changes
published meanwhile were missed.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import redis

log = logging.getLogger(__name__)

CHANNEL = "chronicle:key-status"


class StatusListener(Protocol):
    def forget(self, credential_id: str) -> None: ...
    def forget_all(self) -> None: ...
    def set_pushed(self, pushed: bool) -> None: ...


class KeyStatusChannel(Protocol):
    def publish(self, credential_id: str) -> None: ...
    def listen(self, listener: StatusListener) -> None: ...
    def stop(self) -> None: ...


class NoChannel:
    """Without Redis: nothing to tell; every process re-reads statuses on its own."""

    def publish(self, credential_id: str) -> None:
        pass

    def listen(self, listener: StatusListener) -> None:
        pass

    def stop(self) -> None:
        pass


class RedisKeyStatus:
    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._timeout = timeout
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, credential_id: str) -> None:
        """After the change has committed. Failing to publish loses nothing that matters
        while Redis is down: every listener has then fallen back to short re-reads."""
        try:
            self._client.publish(CHANNEL, credential_id)
        except redis.RedisError as exc:
            log.warning("could not publish a key-status change (%s)", type(exc).__name__)

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
        # A connection of its own with a health check, so a dead Redis is noticed
        # within about a second even when no message is due.
        client = redis.Redis.from_url(
            self._url,
            socket_connect_timeout=self._timeout,
            socket_timeout=2.0,
            health_check_interval=1,
        )
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(CHANNEL)
            confirmation = pubsub.get_message(timeout=2.0)
            if confirmation is None or confirmation["type"] != "subscribe":
                raise redis.ConnectionError("no subscription confirmation")
            # Subscribed: anything committed from now on will be told. Whatever changed
            # while we were not listening was missed, so every cached status goes.
            listener.forget_all()
            listener.set_pushed(True)
            log.info("key-status changes arrive over Redis pub/sub")
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.1)  # also how soon `stop` is seen
                if message is not None and message["type"] == "message":
                    listener.forget(message["data"].decode("ascii", "replace"))
        finally:
            pubsub.close()
            client.close()
