"""The edge's admission: what it refuses itself, and for how long (a fake clock)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from chronicle import contract
from chronicle.config import RateLimit
from chronicle.v1.error_reason_pb2 import ErrorReason
from edge.admission import REFUSED_SECONDS, Admission, authenticated
from edge.errors import HttpError, Refused
from server import key_material
from tests.fakes import FakeClock

Metadata = list[tuple[str, str]]


@dataclass(frozen=True)
class Answer:
    """A server's answer as the edge reads it: the error (None: served), and whether
    the reply carried the trailer saying the server authenticated the key."""

    error: HttpError | None
    authenticated: bool


SERVED = Answer(None, authenticated=True)


def unproven(error: HttpError) -> Answer:
    """`error` without the authenticated trailer: nothing said about the key."""
    return Answer(error, authenticated=False)


def past_authentication(error: HttpError) -> Answer:
    """`error` from our server after it authenticated the key (the trailer is set)."""
    return Answer(error, authenticated=True)


def key() -> Metadata:
    return [("x-api-key", key_material.generate("live").raw)]


def call(
    admission: Admission, metadata: Metadata, client: str, answer: Answer = SERVED
) -> HttpError | None:
    """One request through admission; the server answers `answer`. The edge's own
    refusal, or None once the request reached the server."""

    async def request() -> HttpError | None:
        try:
            async with await admission.admit(metadata, client) as ticket:
                ticket.settle(answer.error, authenticated=answer.authenticated)
        except Refused as refused:
            return refused.error
        return None

    return asyncio.run(request())


def test_new_keys_pass_at_the_rate_and_recover_when_the_budget_refills() -> None:
    clock = FakeClock()
    admission = Admission(RateLimit(3, 1), clock)
    for n in range(3):
        assert call(admission, key(), f"10.0.0.{n}", unproven(HttpError.of(401))) is None
    busy = call(admission, key(), "10.0.0.9")
    assert busy is not None
    assert (busy.status, busy.code, busy.headers["retry-after"]) == (503, "UNAVAILABLE", "1")
    clock.now += 1 / 3
    assert call(admission, key(), "10.0.0.9", unproven(HttpError.of(401))) is None
    assert call(admission, key(), "10.0.0.9") is not None


def test_new_keys_a_server_accepts_give_their_place_back() -> None:
    admission = Admission(RateLimit(2, 60), FakeClock())
    for _ in range(10):
        assert call(admission, key(), "10.0.0.1", SERVED) is None
    for n in range(2):
        assert call(admission, key(), f"10.0.1.{n}", unproven(HttpError.of(401))) is None
    assert call(admission, key(), "10.0.0.1") is not None  # spent by the keys that failed


def test_an_accepted_key_skips_the_budget_until_a_server_refuses_it() -> None:
    admission = Admission(RateLimit(1, 60), FakeClock())
    accepted = key()
    assert call(admission, accepted, "10.0.0.1") is None
    assert call(admission, key(), "10.0.0.1", unproven(HttpError.of(401))) is None
    assert call(admission, key(), "10.0.0.1") is not None  # the budget is spent
    for _ in range(5):
        assert call(admission, accepted, "10.0.0.1") is None
    # Rate limited is still accepted; revoked (401) is not.
    limited = past_authentication(HttpError.of(429, reason=ErrorReason.API_KEY_RATE_LIMITED))
    assert call(admission, accepted, "10.0.0.1", limited) is None
    revoked = unproven(HttpError.of(401, reason=ErrorReason.API_KEY_REVOKED))
    assert call(admission, accepted, "10.0.0.1", revoked) is None
    refused = call(admission, accepted, "10.0.0.1")  # the server's answer, from memory
    assert refused is not None and (refused.status, refused.code) == (401, "API_KEY_REVOKED")


def test_a_client_refused_by_a_server_is_refused_here_until_its_delay_is_over() -> None:
    clock = FakeClock()
    admission = Admission(RateLimit(100, 1), clock)
    accepted = key()
    assert call(admission, accepted, "10.0.0.1") is None
    throttled = HttpError.of(
        429, "Too many failures from this client", ErrorReason.API_KEY_RATE_LIMITED
    )
    call(
        admission,
        key(),
        "10.0.0.1",
        unproven(throttled.retry_after(2.5, client_refused_for=2.5)),
    )
    clock.now += 1.0
    error = call(admission, key(), "10.0.0.1")
    assert error is not None
    assert (error.status, error.code, error.message) == (429, throttled.code, throttled.message)
    assert error.headers["retry-after"] == "2"  # 1.5 s left, in whole seconds rounded up
    assert call(admission, accepted, "10.0.0.1") is None  # the server would serve it
    assert call(admission, key(), "10.0.0.2") is None  # another client
    clock.now += 1.5
    assert call(admission, key(), "10.0.0.1") is None


def test_a_request_without_one_well_formed_key_is_refused_before_any_budget() -> None:
    admission = Admission(RateLimit(1, 60), FakeClock())
    raw = key_material.generate("live").raw
    cases = {
        "no key": ([], "UNAUTHORIZED"),
        "two keys": ([("x-api-key", raw), ("authorization", "Bearer x" + raw[1:])], "UNAUTHORIZED"),
        "bad checksum": (
            [("x-api-key", raw[:-1] + ("A" if raw[-1] != "A" else "B"))],
            "API_KEY_INVALID",
        ),
    }
    for name, (metadata, code) in cases.items():
        error = call(admission, metadata, "10.0.0.1")
        assert error is not None
        assert (error.status, error.code) == (401, code), name
    assert call(admission, [("authorization", "Bearer " + raw)], "10.0.0.1") is None


def first_call_and_followers(
    admission: Admission,
    metadata: Metadata,
    answer: Answer,
    followers: int,
    client: str = "10.0.0.1",
) -> list[HttpError | None]:
    """A new key's first call, answered only once `followers` more requests bringing the
    same key have arrived; what each follower got."""

    async def scenario() -> list[HttpError | None]:
        async def follower() -> HttpError | None:
            try:
                async with await admission.admit(metadata, "10.0.0.2") as ticket:
                    ticket.settle(answer.error, authenticated=answer.authenticated)
            except Refused as refused:
                return refused.error
            return None

        async with await admission.admit(metadata, client) as first:
            waiting = [asyncio.create_task(follower()) for _ in range(followers)]
            await asyncio.sleep(0.01)
            assert not any(task.done() for task in waiting)  # they wait for the first
            first.settle(answer.error, authenticated=answer.authenticated)
        return list(await asyncio.gather(*waiting))

    return asyncio.run(scenario())


def test_requests_with_a_new_key_in_flight_share_its_first_answer_and_spend_no_budget() -> None:
    admission = Admission(RateLimit(2, 60), FakeClock())
    invalid = HttpError.of(401, "The API key is invalid", ErrorReason.API_KEY_INVALID)
    assert first_call_and_followers(admission, key(), unproven(invalid), 20) == [invalid] * 20
    assert first_call_and_followers(admission, key(), SERVED, 20, "10.0.0.4") == [None] * 20
    assert (
        call(admission, key(), "10.0.0.3", unproven(invalid)) is None
    )  # one left: 1 failed, 1 given back
    assert call(admission, key(), "10.0.0.3") is not None


def test_followers_ask_again_when_the_first_call_ends_without_an_answer() -> None:
    admission = Admission(RateLimit(100, 1), FakeClock())
    metadata = key()

    async def scenario() -> HttpError | None:
        async def follower() -> HttpError | None:
            async with await admission.admit(metadata, "10.0.0.2") as ticket:
                ticket.settle(SERVED.error, authenticated=SERVED.authenticated)
            return None

        with pytest.raises(Refused):
            async with await admission.admit(metadata, "10.0.0.1"):
                waiting = asyncio.create_task(follower())
                await asyncio.sleep(0.01)
                raise Refused(HttpError.of(400))  # e.g. a bad body, before any call
        return await waiting

    assert asyncio.run(scenario()) is None


def test_an_answer_without_the_authenticated_trailer_proves_nothing_about_a_new_key() -> None:
    # A server's 5xx before authentication, or a status grpc made itself: no trailer.
    for answer in (
        unproven(HttpError.of(504)),
        unproven(HttpError.of(429)),
    ):
        admission = Admission(RateLimit(1, 60), FakeClock())
        made_up = key()
        assert call(admission, made_up, "10.0.0.1", answer) is None
        refused = call(admission, made_up, "10.0.0.1")  # still new; its place not back
        assert refused is not None and refused.status == 503


def test_a_served_request_accepts_its_key_even_from_a_server_without_the_trailer() -> None:
    # A server that predates the trailer (a rolling upgrade, edges first) still serves.
    admission = Admission(RateLimit(1, 60), FakeClock())
    older_server = key()
    assert call(admission, older_server, "10.0.0.1", Answer(None, authenticated=False)) is None
    for _ in range(5):  # accepted: past the budget of one new key
        assert call(admission, older_server, "10.0.0.1") is None
    assert call(admission, key(), "10.0.0.1", unproven(HttpError.of(401))) is None


def test_followers_of_a_first_call_answered_about_its_request_make_their_own() -> None:
    admission = Admission(RateLimit(1, 60), FakeClock())
    not_found = past_authentication(
        HttpError.of(404, "Presentation not found", ErrorReason.DOCUMENT_NOT_FOUND)
    )
    # The key is accepted by the 404: the followers' own calls reach the server.
    assert first_call_and_followers(admission, key(), not_found, 5) == [None] * 5


def test_only_the_servers_trailer_says_a_key_was_authenticated() -> None:
    assert authenticated([(contract.AUTHENTICATED_METADATA, "1"), ("ratelimit-limit", "10")])
    assert not authenticated([("ratelimit-limit", "10"), ("grpc-status-details-bin", b"")])
    assert not authenticated([])


def test_a_key_the_server_refused_is_answered_from_memory_without_spending_budget() -> None:
    clock = FakeClock()
    admission = Admission(RateLimit(2, 60), clock)
    revoked_key = key()
    revoked = HttpError.of(401, "The API key has been revoked", ErrorReason.API_KEY_REVOKED)
    assert call(admission, revoked_key, "10.0.0.1", unproven(revoked)) is None
    for _ in range(100):  # one client looping with it
        assert call(admission, revoked_key, "10.0.0.1") == revoked
    # The budget spent once, by its first answer: a brand-new valid key still gets through.
    assert call(admission, key(), "10.0.0.2", SERVED) is None
    clock.now += REFUSED_SECONDS
    assert call(admission, revoked_key, "10.0.0.1", unproven(revoked)) is None  # asked again


def test_one_client_sending_bad_keys_spends_only_its_share_of_the_budget() -> None:
    admission = Admission(RateLimit(4, 60), FakeClock())
    invalid = unproven(HttpError.of(401, reason=ErrorReason.API_KEY_INVALID))
    answers = [call(admission, key(), "10.0.0.1", invalid) for _ in range(4)]
    assert answers[:2] == [None, None]  # half of the edge's budget
    assert [(a.status, a.code) for a in answers[2:] if a is not None] == [
        (429, "API_KEY_RATE_LIMITED")
    ] * 2
    # Its throttle is its own: another client's new keys still reach the server.
    assert call(admission, key(), "10.0.0.2", SERVED) is None
    assert call(admission, key(), "10.0.0.3", invalid) is None


def test_clients_sending_bad_keys_spend_their_own_budget_not_the_clean_clients() -> None:
    """Two clients, each spending its whole share, would once have spent the edge's
    budget: now only a client's first bad key is the clean clients' budget, so a client
    whose keys never failed still brings a new key in (after an edge restart every
    long-used key is new to it)."""
    admission = Admission(RateLimit(4, 60), FakeClock())
    invalid = unproven(HttpError.of(401, reason=ErrorReason.API_KEY_INVALID))
    for client in ("10.0.0.1", "10.0.0.2"):
        assert call(admission, key(), client, invalid) is None  # clean: 1 of 4, then 2
        assert call(admission, key(), client, invalid) is None  # failing: 1 of 4, then 2
        spent = call(admission, key(), client, invalid)
        assert spent is not None and spent.status == 429  # its share (2) is spent
    for n in range(10):  # valid keys give their places back
        assert call(admission, key(), f"10.0.1.{n}", SERVED) is None


def test_an_ipv6_client_is_its_64_block() -> None:
    admission = Admission(RateLimit(4, 60), FakeClock())
    invalid = unproven(HttpError.of(401, reason=ErrorReason.API_KEY_INVALID))
    hosts = [f"2001:db8:1:2::{n:x}" for n in range(1, 5)]  # one /64: one client
    answers = [call(admission, key(), host, invalid) for host in hosts]
    assert answers[:2] == [None, None]
    assert [a.status for a in answers[2:] if a is not None] == [429, 429]
    assert call(admission, key(), "2001:db8:1:3::1", SERVED) is None  # another /64
