"""The scaled-out topology (tests/topology.py) serving: what one edge or server does, the
other sees. Its fault tests (killed worker, SIGTERM under load) are in tests/hardening."""

from __future__ import annotations

import time

import grpc

from chronicle.v1 import api_key_service_pb2
from tests.e2e.test_auth import call
from tests.topology import Topology


def test_created_through_one_edge_is_read_through_the_other(topology: Topology) -> None:
    templates = topology.rest(0, "GET", "/api/v1/templates", topology.key).json()["templates"]
    created = topology.rest(
        0, "POST", "/api/v1/presentations", topology.key, json={"template_id": templates[0]["id"]}
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/presentations/{created.json()['id']}"
    for _ in range(4):  # each edge balances over both servers
        read = topology.rest(1, "GET", path, topology.key)
        assert read.status_code == 200 and read.json() == created.json()


def test_the_rate_limit_holds_across_both_edges(topology: Topology) -> None:
    key, _ = topology.new_key("10/minute")
    codes = [topology.rest(n % 2, "GET", "/api/v1/templates", key).status_code for n in range(24)]
    assert codes.count(200) == 10, codes
    assert set(codes) == {200, 429}


def test_a_revoke_through_one_server_is_refused_through_both_edges_within_1s(
    topology: Topology,
) -> None:
    key, key_id = topology.new_key()
    for edge in (0, 1):
        for _ in range(2):  # both servers have the status cached
            assert topology.rest(edge, "GET", "/api/v1/templates", key).status_code == 200
    with grpc.insecure_channel(topology.servers[0].target) as channel:
        revoked = call(
            channel,
            "/chronicle.v1.ApiKeyService/RevokeApiKey",
            api_key_service_pb2.RevokeApiKeyRequest(id=key_id),
            [("authorization", f"Bearer {topology.service_token}")],
        )
    assert not isinstance(revoked, grpc.RpcError), revoked
    started = time.monotonic()
    pending = {(edge, attempt) for edge in (0, 1) for attempt in (0, 1)}
    while pending and time.monotonic() - started < 3:
        for edge, attempt in sorted(pending):
            answer = topology.rest(edge, "GET", "/api/v1/templates", key)
            if answer.status_code == 401:
                assert answer.json()["error"]["code"] == "API_KEY_REVOKED"
                pending.discard((edge, attempt))
    assert not pending and time.monotonic() - started < 1.0
