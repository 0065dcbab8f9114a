"""The edge's admission: what it refuses itself, and for how long (a fake clock)."""

from __future__ import annotations

import pytest

from chronicle.config import RateLimit
from edge.admission import Admission
from edge.errors import HttpError, Refused
from server import keys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key() -> list[tuple[str, str]]:
    return [("x-api-key", keys.generate("live").raw)]


def refusal(admission: Admission, metadata: list[tuple[str, str]], client: str) -> HttpError:
    with pytest.raises(Refused) as refused:
        admission.admit(metadata, client)
    return refused.value.error


def test_new_keys_pass_at_the_rate_and_recover_when_the_budget_refills() -> None:
    clock = Clock()
    admission = Admission(RateLimit(3, 1), clock)
    for _ in range(3):
        admission.admit(key(), "10.0.0.1")
    busy = refusal(admission, key(), "10.0.0.2")
    assert (busy.status, busy.code, busy.headers["retry-after"]) == (503, "UNAVAILABLE", "1")
    clock.now += 1 / 3
    admission.admit(key(), "10.0.0.3")
    assert refusal(admission, key(), "10.0.0.3").status == 503


def test_an_accepted_key_skips_the_budget_until_a_server_refuses_it() -> None:
    admission = Admission(RateLimit(1, 60), Clock())
    accepted = key()
    digest = admission.admit(accepted, "10.0.0.1")
    admission.settle(digest, "10.0.0.1", None)
    assert refusal(admission, key(), "10.0.0.1").status == 503
    for _ in range(5):
        assert admission.admit(accepted, "10.0.0.1") == digest
    # Rate limited is still accepted; revoked (401) is not.
    admission.settle(digest, "10.0.0.1", HttpError.of(429, code="API_KEY_RATE_LIMITED"))
    assert admission.admit(accepted, "10.0.0.1") == digest
    admission.settle(digest, "10.0.0.1", HttpError.of(401, code="API_KEY_REVOKED"))
    assert refusal(admission, accepted, "10.0.0.1").status == 503


def test_a_client_refused_by_a_server_is_refused_here_until_its_delay_is_over() -> None:
    clock = Clock()
    admission = Admission(RateLimit(100, 1), clock)
    accepted = key()
    admission.settle(admission.admit(accepted, "10.0.0.1"), "10.0.0.1", None)
    throttled = HttpError.of(429, "Too many failures from this client", "API_KEY_RATE_LIMITED")
    admission.settle(admission.admit(key(), "10.0.0.1"), "10.0.0.1",
                     throttled.retry_after(2.5, client_refused_for=2.5))  # fmt: skip
    clock.now += 1.0
    error = refusal(admission, key(), "10.0.0.1")
    assert (error.status, error.code, error.message) == (429, throttled.code, throttled.message)
    assert error.headers["retry-after"] == "2"  # 1.5 s left, in whole seconds rounded up
    admission.admit(accepted, "10.0.0.1")  # accepted before: the server would serve it
    admission.admit(key(), "10.0.0.2")  # another client
    clock.now += 1.5
    admission.admit(key(), "10.0.0.1")


def test_a_request_without_one_well_formed_key_is_refused_before_any_budget() -> None:
    admission = Admission(RateLimit(1, 60), Clock())
    raw = keys.generate("live").raw
    cases = {
        "no key": ([], "UNAUTHORIZED"),
        "two keys": (
            [("x-api-key", raw), ("authorization", "Bearer " + raw[:-1] + "x")],
            "UNAUTHORIZED",
        ),
        "bad checksum": (
            [("x-api-key", raw[:-1] + ("A" if raw[-1] != "A" else "B"))],
            "API_KEY_INVALID",
        ),
    }
    for name, (metadata, code) in cases.items():
        error = refusal(admission, metadata, "10.0.0.1")
        assert (error.status, error.code) == (401, code), name
    admission.admit([("authorization", "Bearer " + raw)], "10.0.0.1")  # budget untouched
