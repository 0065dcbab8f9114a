"""Clients in another language, built from our protos and run against the real servers, so
that "generated stubs in other languages" is tested, not claimed (clients/, README)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google import api as google_api

from chronicle.config import Settings
from chronicle.v1 import presentation_service_pb2, presentation_service_pb2_grpc
from tests.conftest import Tenant
from tests.harness import EdgeServer, GrpcServerThread

NODE = shutil.which("node")
if NODE is None:
    pytest.skip("node is not installed (CI has it)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
CLIENTS = REPO / "clients"
# The directory holding google/api and google/rpc: googleapis-common-protos' site-packages.
GOOGLEAPIS = Path(next(iter(google_api.__path__))).parents[1]


def node(*args: object) -> Any:
    """Runs a Node script; its last stdout line is the JSON of what it saw."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, *map(str, args)], check=False, capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def typescript_client() -> Iterator[Path]:
    """clients/ts built afresh: TypeScript generated from protos/, compiled by tsc. Inside
    the repository (node finds node_modules/ from there); one directory per run, since the
    two test passes run at once."""
    build = REPO / "build"
    build.mkdir(exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="clients-", dir=build))
    try:
        done = subprocess.run(
            [REPO / "scripts" / "clients.sh", out],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PY": sys.executable},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        yield out / "js" / "client.js"
    finally:
        shutil.rmtree(out, ignore_errors=True)


def assert_served_by_our_server(
    seen: dict[str, Any], tenant: Tenant, settings: Settings, channel: grpc.Channel
) -> None:
    """What a client in another language saw, checked against the server's own state."""
    assert seen["caller"] == {
        "kind": "api_key",
        "workspace_id": tenant.workspace_id,
        "credential_id": tenant.key_id,
        "environment": "live",
        "rate_limit": str(settings.rate_limit),
    }
    created = seen["created"]
    assert created["id"].startswith("pres_")
    assert created["workspace_id"] == tenant.workspace_id
    assert created["sections"] and created["title"]
    assert seen["got"]["id"] == created["id"]
    assert [s["id"] for s in seen["got"]["sections"]] == [s["id"] for s in created["sections"]]
    assert created["id"] in [p["id"] for p in seen["listed"]["presentations"]]
    stub = presentation_service_pb2_grpc.PresentationServiceStub(channel)
    stored = stub.GetPresentation(
        presentation_service_pb2.GetPresentationRequest(id=created["id"]), metadata=tenant.bearer
    )
    assert stored.title == created["title"]


def test_typescript_client_generated_from_the_protos(
    typescript_client: Path,
    grpc_server: GrpcServerThread,
    channel: grpc.Channel,
    tenant: Tenant,
    settings: Settings,
) -> None:
    seen = node(typescript_client, f"127.0.0.1:{grpc_server.port}", tenant.key)
    assert_served_by_our_server(seen, tenant, settings, channel)
    # Connect names codes in PascalCase; the reason is ours, from google.rpc.ErrorInfo.
    assert seen["refused"] == {
        "code": "Unauthenticated",
        "details": [{"reason": "API_KEY_INVALID", "domain": "chronicle"}],
    }


def test_node_client_loading_the_protos_with_proto_loader(
    grpc_server: GrpcServerThread, channel: grpc.Channel, tenant: Tenant, settings: Settings
) -> None:
    seen = node(
        CLIENTS / "node" / "proto_loader_client.js",
        f"127.0.0.1:{grpc_server.port}",
        tenant.key,
        REPO / "protos",
        GOOGLEAPIS,
    )
    assert_served_by_our_server(seen, tenant, settings, channel)
    assert seen["refused"] == {
        "code": "UNAUTHENTICATED",
        "details": [{"reason": "API_KEY_INVALID", "domain": "chronicle"}],
    }


def test_n8n_credential_test_passes_for_a_good_key_and_fails_for_a_bad_one(
    edge: EdgeServer, tenant: Tenant
) -> None:
    seen = node(
        CLIENTS / "node" / "n8n_credential_test.js", edge.url, tenant.key, tenant.key[:-4] + "zzzz"
    )
    assert seen["good"]["status"] == 200
    assert seen["good"]["body"]["workspace_id"] == tenant.workspace_id
    assert seen["bad"]["status"] == 401
    assert seen["bad"]["body"]["error"]["code"] == "API_KEY_INVALID"
    assert seen["bad"]["body"]["error"]["status"] == 401
