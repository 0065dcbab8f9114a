"""IdentityService: who the caller is."""

from __future__ import annotations

from chronicle.config import RateLimit
from chronicle.v1 import identity_service_pb2, identity_service_pb2_grpc, session_service_pb2
from server import errors
from server.auth import CallerKind, current_principal
from server.servicers import PrincipalOf


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):  # type: ignore[misc]
    def __init__(
        self, default_rate: RateLimit, principal_of: PrincipalOf = current_principal
    ) -> None:
        """`default_rate`: the limit of a key without its own (the interceptor's)."""
        self._principal_of = principal_of
        self._default_rate = default_rate

    def GetCaller(
        self, request: identity_service_pb2.GetCallerRequest, context: object
    ) -> identity_service_pb2.Caller:
        principal = self._principal_of(context)
        limited = principal.kind == CallerKind.API_KEY
        return identity_service_pb2.Caller(
            kind=principal.kind.wire_name,
            workspace_id=principal.workspace_id,
            credential_id=principal.credential_id,
            environment=principal.environment,
            rate_limit=str(principal.rate_limit or self._default_rate) if limited else "",
        )

    def GetSignedInUser(
        self, request: identity_service_pb2.GetSignedInUserRequest, context: object
    ) -> session_service_pb2.SignedInUser:
        principal = self._principal_of(context)
        if principal.kind != CallerKind.USER_SESSION:
            raise errors.CallerNotAllowed("Only a person's session has a signed-in user")
        return session_service_pb2.SignedInUser(
            id=principal.user_id,
            email=principal.name,
            role=principal.role,
            workspace_id=principal.workspace_id,
        )
