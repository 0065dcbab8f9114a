"""Running out of file descriptors, logged once per interval rather than once per failed
accept()."""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

# How often "out of file descriptors" may be logged.
FD_LOG_INTERVAL_SECONDS = 10.0


class FdExhaustionLog:
    """A loop exception handler: accept() failing for want of descriptors is logged once
    per interval with a count, not once per attempt; everything else as before."""

    def __init__(self, interval: float = FD_LOG_INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._last = -interval
        self._suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, ValueError) and "_start_serving" in repr(context.get("handle")):
            # Python before the fix of gh-151615 schedules an accept retry per failed
            # accept(); those still due when the server closes fail on its closed socket.
            log.debug("an accept retry found the server closed")
            return
        if not (isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)):
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self._last < self._interval:
            self._suppressed += 1
            return
        log.error(
            "out of file descriptors: new connections wait or are refused (%d more like this "
            "in the last %.0f s); raise `ulimit -n` or lower CHRONICLE_HTTP_MAX_CONNECTIONS",
            self._suppressed,
            self._interval,
        )
        self._last, self._suppressed = now, 0
