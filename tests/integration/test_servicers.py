"""Servicers with grpcio-testing: unpack, call the service, pack; no sockets."""

from __future__ import annotations

import grpc
import grpc_testing
import pytest
from google.protobuf import field_mask_pb2

from chronicle.config import DEFAULT_RATE_LIMIT
from chronicle.v1 import (
    api_key_service_pb2,
    identity_service_pb2,
    presentation_service_pb2,
)
from server.auth import CallerKind, Principal
from server.container import Container
from server.errors import WrongWorkspace
from server.servicers.identity import IdentityServicer
from server.servicers.keys import ApiKeyServicer
from server.servicers.presentations import PresentationServicer
from tests.conftest import Tenant

PRES = presentation_service_pb2.DESCRIPTOR.services_by_name["PresentationService"]
KEYS = api_key_service_pb2.DESCRIPTOR.services_by_name["ApiKeyService"]
IDENTITY = identity_service_pb2.DESCRIPTOR.services_by_name["IdentityService"]


def principal_of(tenant: Tenant) -> Principal:
    return Principal(CallerKind.API_KEY, tenant.key_id, tenant.workspace_id, "live")


@pytest.fixture
def server(container: Container, tenant: Tenant) -> grpc_testing.Server:
    forgotten: list[str] = []
    admin = Principal(CallerKind.SERVICE_TOKEN, "svc_x", "", "", "ops")
    server = grpc_testing.server_from_dictionary(
        {
            PRES: PresentationServicer(
                container.uow, "https://app.test", principal_of=lambda _ctx: principal_of(tenant)
            ),
            KEYS: ApiKeyServicer(
                container.uow,
                container.hasher,
                lambda key_id: forgotten.append(key_id) is None,  # told
                principal_of=lambda _ctx: admin,
            ),
            IDENTITY: IdentityServicer(
                DEFAULT_RATE_LIMIT, principal_of=lambda _ctx: principal_of(tenant)
            ),
        },
        grpc_testing.strict_real_time(),
    )
    server.forgotten = forgotten  # type: ignore[attr-defined]
    return server


def invoke(server: grpc_testing.Server, service: object, name: str, request: object) -> object:
    method = service.methods_by_name[name]  # type: ignore[attr-defined]
    rpc = server.invoke_unary_unary(method, (), request, None)
    response, _, code, details = rpc.termination()
    assert code == grpc.StatusCode.OK, details
    return response


def test_create_then_get_round_trips_the_presentation(server: grpc_testing.Server) -> None:
    templates = invoke(
        server, PRES, "ListTemplates", presentation_service_pb2.ListTemplatesRequest()
    )
    template = templates.templates[0]  # type: ignore[attr-defined]
    created = invoke(
        server,
        PRES,
        "CreatePresentation",
        presentation_service_pb2.CreatePresentationRequest(template_id=template.id),
    )
    assert created.url == f"https://app.test/presentations/{created.id}"  # type: ignore[attr-defined]
    assert len(created.sections) == len(template.sections)  # type: ignore[attr-defined]
    got = invoke(
        server,
        PRES,
        "GetPresentation",
        presentation_service_pb2.GetPresentationRequest(id=created.id),
    )  # type: ignore[attr-defined]
    assert got == created


def test_update_mask_selects_fields_and_empty_sections_clear(
    server: grpc_testing.Server,
) -> None:
    templates = invoke(
        server, PRES, "ListTemplates", presentation_service_pb2.ListTemplatesRequest()
    )
    created = invoke(
        server,
        PRES,
        "CreatePresentation",
        presentation_service_pb2.CreatePresentationRequest(template_id=templates.templates[0].id),
    )  # type: ignore[attr-defined]
    request = presentation_service_pb2.UpdatePresentationRequest(
        id=created.id,
        title="Ignored",
        is_public=True,  # type: ignore[attr-defined]
        update_mask=field_mask_pb2.FieldMask(paths=["is_public", "sections"]),
    )
    updated = invoke(server, PRES, "UpdatePresentation", request)
    assert updated.is_public and updated.title == created.title  # type: ignore[attr-defined]
    assert list(updated.sections) == []  # type: ignore[attr-defined]


def test_unknown_update_mask_path_is_rejected(server: grpc_testing.Server) -> None:
    method = PRES.methods_by_name["UpdatePresentation"]
    request = presentation_service_pb2.UpdatePresentationRequest(
        id="pres_x", update_mask=field_mask_pb2.FieldMask(paths=["owner"])
    )
    rpc = server.invoke_unary_unary(method, (), request, None)
    _, _, code, _ = rpc.termination()
    # Without the interceptor the domain error surfaces as UNKNOWN; mapping is tested e2e.
    assert code == grpc.StatusCode.UNKNOWN


def test_servicer_raises_domain_errors_for_the_interceptor(
    container: Container, other_tenant: Tenant, tenant: Tenant
) -> None:
    servicer = PresentationServicer(
        container.uow, "https://app.test", principal_of=lambda _ctx: principal_of(tenant)
    )
    other = PresentationServicer(
        container.uow, "https://app.test", principal_of=lambda _ctx: principal_of(other_tenant)
    )
    templates = other.ListTemplates(presentation_service_pb2.ListTemplatesRequest(), None)
    theirs = other.CreatePresentation(
        presentation_service_pb2.CreatePresentationRequest(template_id=templates.templates[0].id),
        None,
    )
    with pytest.raises(WrongWorkspace):
        servicer.GetPresentation(
            presentation_service_pb2.GetPresentationRequest(id=theirs.id), None
        )


def test_key_servicer_returns_the_raw_key_once_and_revocation_notifies(
    server: grpc_testing.Server, tenant: Tenant
) -> None:
    created = invoke(
        server,
        KEYS,
        "CreateApiKey",
        api_key_service_pb2.CreateApiKeyRequest(
            workspace_id=tenant.workspace_id, name="web", environment="test"
        ),
    )
    key_id = created.api_key.id  # type: ignore[attr-defined]
    assert created.key.startswith("chr_test_")  # type: ignore[attr-defined]
    assert created.api_key.created_by == "service-token:ops"  # type: ignore[attr-defined]
    got = invoke(server, KEYS, "GetApiKey", api_key_service_pb2.GetApiKeyRequest(id=key_id))
    assert created.key not in str(got)  # type: ignore[attr-defined]
    invoke(server, KEYS, "RevokeApiKey", api_key_service_pb2.RevokeApiKeyRequest(id=key_id))
    assert server.forgotten == [key_id]  # type: ignore[attr-defined]


def test_identity_servicer_describes_the_caller(
    server: grpc_testing.Server, tenant: Tenant
) -> None:
    caller = invoke(server, IDENTITY, "GetCaller", identity_service_pb2.GetCallerRequest())
    assert caller.workspace_id == tenant.workspace_id  # type: ignore[attr-defined]
    assert caller.kind == "api_key"  # type: ignore[attr-defined]
