"""Schemathesis against a live edge and server, driven by the OpenAPI document the edge
serves, on a short budget: valid and invalid (negative) requests for every operation,
once with a valid key and once with none. Any 5xx, any response outside the document and
any error that is not Chronicle's envelope fails the test, with every case listed."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from chronicle.config import RateLimit, Settings
from tests.conftest import Tenant
from tests.harness import EdgeServer

# Examples per operation and generation mode: ~500 requests in all, well under a minute.
EXAMPLES = 12
# Failures shown per operation; the rest are counted.
SHOWN = 30


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A key allowance the fuzz cannot spend: 429s would hide what it is looking for."""
    return replace(settings, rate_limit=RateLimit.parse("100000/second"))


def in_envelope(_ctx: Any, response: schemathesis.Response, _case: schemathesis.Case[Any]) -> bool:
    """Every error is Chronicle's envelope: {"error": {code, message, status}}, as JSON."""
    if response.status_code < 400:
        return True
    kind = response.headers.get("content-type", [""])[0]
    assert kind.startswith("application/json"), f"error as {kind!r}: {response.text[:200]!r}"
    body = json.loads(response.text)
    assert isinstance(body, dict) and set(body) == {"error"}, response.text[:200]
    error = body["error"]
    assert set(error) == {"code", "message", "status"}, response.text[:200]
    assert error["status"] == response.status_code, response.text[:200]
    assert isinstance(error["code"], str) and error["code"].isupper(), response.text[:200]
    return True


# Refusals that depend on stored state, which the document cannot state.
ON_STATE = (
    "is not a token this service issued",
    "is not a file this service issued",
    "is not a section of the template",
)
# The document's own string format (edge.request_rules.PRINTABLE).
schemathesis.openapi.format("printable", st.text().filter(str.isprintable))


def valid_data_is_accepted(
    _ctx: Any, response: schemathesis.Response, _case: schemathesis.Case[Any]
) -> bool:
    """Data the document calls valid is not refused as invalid: the document states every
    rule the server checks (those on stored state aside: unknown ids, tokens, files)."""
    if response.status_code == 400:
        message = json.loads(response.text)["error"]["message"]
        assert any(state in message for state in ON_STATE), message
    return True


CHECKS = [not_a_server_error, response_schema_conformance, in_envelope]


def fuzz(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    base: str,
    headers: dict[str, str],
) -> list[str]:
    """The failures found on one operation, one line each."""
    found: list[str] = []

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every run: a failure is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base, headers=headers, timeout=10)
        try:
            checks = (
                [*CHECKS, valid_data_is_accepted]
                if mode == GenerationMode.POSITIVE and headers
                else CHECKS
            )
            case.validate_response(response, checks=checks)
        except (AssertionError, BaseExceptionGroup) as exc:
            sent = response.request
            found.append(
                f"{operation.label} [{mode.value}] {sent.method} {sent.url} "
                f"body={str(sent.body)[:120]!r} -> {response.status_code} "
                f"{response.text[:160]!r}: {str(exc).splitlines()[0][:200]}"
            )

    run()
    return found


@pytest.mark.parametrize("with_key", [True, False], ids=["valid-key", "no-key"])
def test_fuzz_finds_no_5xx_no_schema_violation_and_no_bare_error(
    edge: EdgeServer, tenant: Tenant, with_key: bool
) -> None:
    schema = schemathesis.openapi.from_url(f"{edge.url}/api/v1/openapi.json")
    headers = tenant.headers if with_key else {}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert operations
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            found = fuzz(operation, mode, edge.url, headers)
            failures += found[:SHOWN] + (
                [f"… and {len(found) - SHOWN} more"] if len(found) > SHOWN else []
            )
    assert not failures, "\n".join(failures)
