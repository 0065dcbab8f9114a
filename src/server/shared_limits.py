"""Per-key rate limits shared by the server processes of one machine (`--processes N`
without Redis): the GCRA of `chronicle.gcra`, its state in a table of shared memory that
the supervising parent makes and every child maps, so a key's limit is exact across them.

A key's slot is found by a 16-byte BLAKE2b digest of its id, in a bucket of WAYS slots. A
slot whose allowance is whole again is as good as empty and is reused; only when every
slot of a bucket holds a key still spending does the one nearest to whole give way (the
in-process limiter's bounded cache forgets keys too). One lock a bucket, a POSIX record
lock: the kernel releases it when its holder dies, a SIGKILLed child included. The clock
is CLOCK_MONOTONIC, one for every process of the machine."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from multiprocessing import reduction
from typing import Protocol

from chronicle.config import RateLimit
from chronicle.gcra import Decision

log = logging.getLogger(__name__)

WAYS = 8
# 524,288 slots in 12 MiB of shared memory, of which only the pages touched are used.
BUCKETS = 1 << 16
_SLOT = struct.Struct("<16sd")  # digest, theoretical arrival time
_BUCKET = struct.Struct("<" + "16sd" * WAYS)


class SharedTable:
    """The table and its locks. Made by the parent (`create`); pickled into a child that
    multiprocessing spawns, it travels as its file descriptor."""

    def __init__(
        self, fd: int, buckets: int = BUCKETS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fd = fd
        self._buckets = buckets
        self._clock = clock
        self._memory = mmap.mmap(fd, buckets * _BUCKET.size)
        # Record locks belong to a process, not a thread: its threads queue here first.
        self._threads = threading.Lock()
        self._warned = False

    @classmethod
    def create(
        cls, buckets: int = BUCKETS, clock: Callable[[], float] = time.monotonic
    ) -> SharedTable:
        fd = os.memfd_create("chronicle-rate-limits")
        os.ftruncate(fd, buckets * _BUCKET.size)
        return cls(fd, buckets, clock)

    def __reduce__(self) -> tuple[Callable[..., SharedTable], tuple[object, ...]]:
        return _attach, (reduction.DupFd(self._fd), self._buckets)

    def hit(self, key: str, rate: RateLimit) -> Decision:
        interval = rate.per_seconds / rate.count
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        bucket = int.from_bytes(digest[:8], "little") % self._buckets
        offset = bucket * _BUCKET.size
        with self._threads:
            fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, bucket)
            try:
                now = self._clock()
                slots = _BUCKET.unpack_from(self._memory, offset)
                way, tat = self._slot(slots, digest, now)
                tat = max(tat, now)
                new_tat = tat + interval
                wait = new_tat - rate.per_seconds - now
                if wait > 1e-9:  # beyond float rounding of `tat + interval - period`
                    return Decision(False, rate.count, 0, tat - now, wait)
                _SLOT.pack_into(self._memory, offset + way * _SLOT.size, digest, new_tat)
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, bucket)
        remaining = int((rate.per_seconds - (new_tat - now)) / interval + 1e-9)
        return Decision(True, rate.count, max(0, remaining), new_tat - now, 0.0)

    def _slot(
        self, slots: tuple[bytes | float, ...], digest: bytes, now: float
    ) -> tuple[int, float]:
        """The key's way in its bucket and its arrival time (`now` for a new key)."""
        tats = slots[1::2]
        for way, stored in enumerate(slots[::2]):
            if stored == digest:
                return way, float(tats[way])
        way = min(range(WAYS), key=tats.__getitem__)  # whole again (or empty) if any is
        if float(tats[way]) > now and not self._warned:
            self._warned = True
            log.warning("rate limits: a full bucket forgot a key still spending its allowance")
        return way, now


class _Passed(Protocol):
    """A descriptor multiprocessing hands to the child it spawns."""

    def detach(self) -> int: ...


def _attach(passed: _Passed, buckets: int) -> SharedTable:
    return SharedTable(passed.detach(), buckets)
