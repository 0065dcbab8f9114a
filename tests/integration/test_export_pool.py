"""The export processes (services.exports.ExportPool): a crashed child is replaced, the
queue is bounded, and the same file asked again comes from the cache."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from chronicle.v1 import presentation_pb2
from server import export
from server.services.exports import ExportPool, ExportsBusy


def deck(title: str = "Pool") -> presentation_pb2.Presentation:
    section = presentation_pb2.Section(title=title, layout="title")
    return presentation_pb2.Presentation(title=title, sections=[section])


@pytest.fixture
def pool() -> ExportPool:
    started = ExportPool(1)
    yield started  # type: ignore[misc]
    started.shutdown()


def test_a_child_that_died_is_replaced_and_exports_go_on(pool: ExportPool) -> None:
    assert pool.render(deck("one"), export.Format.PDF, {}).startswith(b"%PDF-")
    children = list(pool._started()._processes.values())
    for child in children:
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=10)
    assert pool.render(deck("two"), export.Format.PDF, {}).startswith(b"%PDF-")


def test_the_same_file_asked_again_is_not_made_again(
    pool: ExportPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pool.render(deck(), export.Format.PPTX, {})
    monkeypatch.setattr(pool, "_render", lambda *_: pytest.fail("rendered twice"))
    assert pool.render(deck(), export.Format.PPTX, {}) == first


def test_exports_beyond_the_queue_are_refused_at_once(
    pool: ExportPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    def slow(*_: object) -> bytes:
        entered.release()
        release.wait(timeout=30)
        return b"%PDF-"

    monkeypatch.setattr(pool, "_render", slow)
    queued = pool.QUEUED_PER_PROCESS
    threads = [
        threading.Thread(target=pool.render, args=(deck(f"d{n}"), export.Format.PDF, {}))
        for n in range(queued)
    ]
    for thread in threads:
        thread.start()
    for _ in range(queued):
        assert entered.acquire(timeout=10)
    with pytest.raises(ExportsBusy):
        pool.render(deck("one too many"), export.Format.PDF, {})
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert pool.render(deck("after"), export.Format.PDF, {}) == b"%PDF-"
