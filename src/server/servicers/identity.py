"""IdentityService: who the caller is."""

from __future__ import annotations

from chronicle.config import RateLimit
from chronicle.v1 import identity_service_pb2, identity_service_pb2_grpc, session_service_pb2
from server import errors
from server.auth import CallerKind, current_principal
from server.servicers import PrincipalOf, UowFactory
from server.services import workspaces


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        default_rate: RateLimit,
        uow: UowFactory | None = None,
        principal_of: PrincipalOf = current_principal,
    ) -> None:
        """`default_rate`: the limit of a key without its own (the interceptor's). `uow`:
        for ListWorkspaces, the one RPC here that reads storage beyond authentication."""
        self._principal_of = principal_of
        self._default_rate = default_rate
        self._uow = uow

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

    def ListWorkspaces(
        self, request: identity_service_pb2.ListWorkspacesRequest, context: object
    ) -> identity_service_pb2.ListWorkspacesResponse:
        assert self._uow is not None, "IdentityServicer needs a unit of work for this"
        with self._uow() as uow:
            rows = workspaces.workspaces_of(uow, self._principal_of(context))
            return identity_service_pb2.ListWorkspacesResponse(
                workspaces=[
                    identity_service_pb2.Workspace(id=w.id, name=w.name, mcp_enabled=w.mcp_enabled)
                    for w in rows
                ]
            )
