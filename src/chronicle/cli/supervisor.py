"""The parent of `--processes N`: it starts the children (spawned: fresh interpreters that
share nothing with it but the ports and what it hands them), restarts one that exits
unexpectedly after a backoff, forwards SIGTERM and Ctrl-C to all of them and waits for
their graceful shutdown, and exits non-zero when they cannot start."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType

log = logging.getLogger("chronicle")

# A child that exits is started again after BACKOFF_FIRST seconds, doubling up to
# BACKOFF_MAX while it keeps exiting; one that had served STABLE_SECONDS starts over.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
STABLE_SECONDS = 30.0
# A child that exits before it is ready: at the first start, the command fails at once
# (a port taken, a bad setting); later, after this many times in a row.
START_ATTEMPTS = 5
# How often a child checks that its parent is still there.
PARENT_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Child:
    """What a child gets from its parent: where to say it serves, and whom to outlive not."""

    parent: int
    _ready: Connection

    def ready(self) -> None:
        self._ready.send(os.getpid())
        self._ready.close()

    def watch_parent(self, stop: Callable[[], object]) -> None:
        """Calls `stop` (from a thread of its own) once the parent is gone, however it
        ended: no child serves on without the parent that would stop it."""

        def watch() -> None:
            while os.getppid() == self.parent:
                time.sleep(PARENT_POLL_SECONDS)
            log.warning("the supervising process is gone: stopping")
            stop()

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@dataclass(frozen=True)
class Role:
    """One child to keep running: `main(*args, child)` in a spawned process (so `main`
    is a module-level function, `args` picklable)."""

    name: str
    main: Callable[..., None]
    args: tuple[object, ...] = ()


def _child_main(main: Callable[..., None], args: tuple[object, ...], child: Child) -> None:
    # A process group of its own: a terminal's Ctrl-C reaches the parent only, which
    # stops every child the same graceful way.
    os.setpgid(0, 0)
    main(*args, child)


def reserve_port(host: str, port: int, what: str) -> tuple[socket.socket, int]:
    """The parent's hold on a port its children share, and the port (port 0: a free one).
    Bound with SO_REUSEPORT like the children's listeners but never listening itself, so
    the kernel gives it no connection. A port another process holds, another Chronicle
    included, is refused here, before any child starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(f"cannot listen for {what} on {host}:{port}: {exc.strerror}") from None
        port = probe.getsockname()[1]
    hold = socket.socket(family, socket.SOCK_STREAM)
    hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    hold.bind((host, port))
    return hold, port


@dataclass
class _Slot:
    role: Role
    process: BaseProcess | None = None
    ready: Connection | None = None  # until the child says it serves
    served_since: float | None = None
    ever_served: bool = False
    failed_starts: int = 0  # exits in a row before ready
    crashes: int = 0  # exits in a row, for the backoff
    restart_at: float | None = None


class Supervisor:
    def __init__(self, roles: Sequence[Role], *, stop_seconds: float) -> None:
        """`stop_seconds`: how long the children get to stop after SIGTERM before they
        are killed."""
        self._slots = [_Slot(role) for role in roles]
        self._stop_seconds = stop_seconds
        self._spawn = multiprocessing.get_context("spawn")
        self._signals = 0
        self._interrupts = 0  # SIGINTs: a second one while draining kills (as uvicorn does)
        # Signals wake the waits below through this pipe (their handlers write to it).
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    def run(self) -> int:
        """Until SIGTERM or SIGINT (then 0 once every child stopped gracefully), or until
        children cannot start (1)."""
        handled = (signal.SIGTERM, signal.SIGINT)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in handled}
        started = False
        try:
            try:
                started = self._supervise()
            finally:
                status = self._drain()
            return status if started else 1
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        self._interrupts += signum == signal.SIGINT
        with contextlib.suppress(BlockingIOError):  # full of wake-ups already
            os.write(self._wake_write, b"\0")

    def _supervise(self) -> bool:
        """Keeps the children running until a signal (True), or until some cannot start
        (False)."""
        for slot in self._slots:
            self._start(slot)
        serving = False
        while not self._signals:
            if serving != all(slot.served_since for slot in self._slots):
                serving = not serving
                if serving:
                    names = ", ".join(slot.role.name for slot in self._slots)
                    log.info("%d processes serving: %s", len(self._slots), names)
            ready = self._wait(self._waited(), self._until_restart())
            now = time.monotonic()
            for slot in self._slots:
                if slot.ready is not None and slot.ready in ready:
                    self._readied(slot, now)
                exited = slot.process is not None and slot.process.sentinel in ready
                if exited and not self._exited(slot, now):
                    return False
                if slot.restart_at is not None and slot.restart_at <= now:
                    self._start(slot)
        return True

    def _wait(self, waited: list[Connection | int], timeout: float | None) -> Sequence[object]:
        ready = wait(waited, timeout)
        if self._wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 512)
        return ready

    def _waited(self) -> list[Connection | int]:
        waited: list[Connection | int] = [self._wake_read]
        for slot in self._slots:
            if slot.ready is not None:
                waited.append(slot.ready)
            if slot.process is not None:
                waited.append(slot.process.sentinel)
        return waited

    def _until_restart(self) -> float | None:
        due = [slot.restart_at for slot in self._slots if slot.restart_at is not None]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _start(self, slot: _Slot) -> None:
        receive, send = self._spawn.Pipe(duplex=False)
        child = Child(os.getpid(), send)
        process = self._spawn.Process(
            target=_child_main, args=(slot.role.main, slot.role.args, child), name=slot.role.name
        )
        process.start()
        send.close()  # the child's end: closed here, so its death reads as EOF
        slot.process, slot.ready, slot.restart_at = process, receive, None
        log.info("%s started (pid %d)", slot.role.name, process.pid)

    def _readied(self, slot: _Slot, now: float) -> None:
        assert slot.ready is not None
        try:
            slot.ready.recv()
        except EOFError:
            pass  # it died before it served: its sentinel says so
        else:
            slot.served_since, slot.ever_served, slot.failed_starts = now, True, 0
        slot.ready.close()
        slot.ready = None

    def _exited(self, slot: _Slot, now: float) -> bool:
        """Schedules the restart of a child that exited; False when it cannot start."""
        assert slot.process is not None
        slot.process.join()  # its sentinel may tell before its exit status can be read
        how = _exit_text(slot.process.exitcode)
        slot.process.close()
        slot.process = None
        if slot.ready is not None:
            slot.ready.close()
            slot.ready = None
        if slot.served_since is None:
            slot.failed_starts += 1
            if not slot.ever_served or slot.failed_starts >= START_ATTEMPTS:
                log.error("%s could not start (%s)", slot.role.name, how)
                return False
        stable = slot.served_since is not None and now - slot.served_since >= STABLE_SECONDS
        slot.crashes = 1 if stable else slot.crashes + 1
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (slot.crashes - 1))
        log.warning("%s %s; starting it again in %.1f s", slot.role.name, how, delay)
        slot.served_since, slot.restart_at = None, now + delay
        return True

    def _drain(self) -> int:
        """SIGTERM to every child, then their graceful shutdown within `stop_seconds` (a
        Ctrl-C meanwhile, or the time running out, kills what is left; another SIGTERM
        changes nothing): 0 when all of them stopped by themselves."""
        running = [slot.process for slot in self._slots if slot.process is not None]
        for process in running:
            process.terminate()
        interrupts = self._interrupts
        deadline = time.monotonic() + self._stop_seconds
        while any(p.is_alive() for p in running):
            left = deadline - time.monotonic()
            if left <= 0 or self._interrupts > interrupts:
                log.error("killing the processes still running")
                for process in running:
                    if process.is_alive():
                        process.kill()
                for process in running:
                    process.join()
                break
            self._wait([self._wake_read, *(p.sentinel for p in running if p.is_alive())], left)
        for process in running:
            process.join()
        clean = {0, -signal.SIGTERM}  # SIGTERM before a child set its handlers: it had nothing
        return 0 if all(p.exitcode in clean for p in running) else 1


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"
