"""IdentityService: who the caller is."""

from __future__ import annotations

from chronicle.v1 import identity_service_pb2, identity_service_pb2_grpc
from server.auth import current_principal
from server.servicers import PrincipalOf


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):  # type: ignore[misc]
    def __init__(self, principal_of: PrincipalOf = current_principal) -> None:
        self._principal_of = principal_of

    def GetCaller(
        self, request: identity_service_pb2.GetCallerRequest, context: object
    ) -> identity_service_pb2.Caller:
        principal = self._principal_of(context)
        return identity_service_pb2.Caller(
            kind=principal.kind.wire_name,
            workspace_id=principal.workspace_id,
            credential_id=principal.credential_id,
            environment=principal.environment,
        )
