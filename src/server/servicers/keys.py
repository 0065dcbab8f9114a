"""ApiKeyService: keys and their audit trail, for service tokens and for people signed in
to the key's workspace (members read; admins also create, rotate and revoke)."""

from __future__ import annotations

from collections.abc import Callable

from chronicle.v1 import api_key_pb2, api_key_service_pb2_grpc
from chronicle.v1 import api_key_service_pb2 as keys_pb
from server import convert, errors, key_material
from server.auth import CallerKind, Principal, current_principal
from server.servicers import PrincipalOf, UowFactory
from server.services import keys as key_service
from server.vocabulary import UserRole

# A revoke is committed before servers are told; when Redis does not take the news, the
# caller hears so (and a retry, harmless, tells them again). See decision 023.
NOT_TOLD = (
    "The key is revoked, but Redis did not confirm that every server was told: one that "
    "still reaches Redis may accept the key for up to CHRONICLE_KEY_STATUS_REFRESH. "
    "Revoking again is safe and tells them again"
)


class ApiKeyServicer(api_key_service_pb2_grpc.ApiKeyServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        uow: UowFactory,
        hasher: key_material.SecretHasher,
        on_change: Callable[[str], bool],
        principal_of: PrincipalOf = current_principal,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        # Tells every server to re-read a key's status; False: Redis did not take it.
        self._on_change = on_change
        self._principal_of = principal_of

    def _allowed(self, context: object, workspace_id: str, *, change: bool = False) -> Principal:
        """The caller, when it may read (or `change`) the keys of `workspace_id`: a
        service token any workspace's, a session only its own, and changes an admin's."""
        principal = self._principal_of(context)
        if principal.kind == CallerKind.USER_SESSION:
            if change and principal.role != UserRole.ADMIN:
                raise errors.AdminOnly()
            if workspace_id != principal.workspace_id:
                raise errors.WrongWorkspace()
        return principal

    def CreateApiKey(
        self, request: keys_pb.CreateApiKeyRequest, context: object
    ) -> keys_pb.CreateApiKeyResponse:
        actor = self._allowed(context, request.workspace_id, change=True).actor
        with self._uow() as uow:
            issued = key_service.create_api_key(
                uow,
                self._hasher,
                workspace_id=request.workspace_id,
                name=request.name,
                environment=request.environment,
                expires_in=convert.duration(request.expires_in),
                rate_limit=request.rate_limit if request.HasField("rate_limit") else None,
                actor=actor,
            )
            return keys_pb.CreateApiKeyResponse(
                api_key=convert.api_key(issued.record), key=issued.raw
            )

    def GetApiKey(self, request: keys_pb.GetApiKeyRequest, context: object) -> api_key_pb2.ApiKey:
        with self._uow() as uow:
            key = key_service.get_api_key(uow, request.id)
            self._allowed(context, key.workspace_id)
            return convert.api_key(key)

    def ListApiKeys(
        self, request: keys_pb.ListApiKeysRequest, context: object
    ) -> keys_pb.ListApiKeysResponse:
        self._allowed(context, request.workspace_id)
        with self._uow() as uow:
            rows, next_token = key_service.list_api_keys(
                uow, request.workspace_id, request.page_size, request.page_token
            )
            return keys_pb.ListApiKeysResponse(
                api_keys=[convert.api_key(r) for r in rows], next_page_token=next_token
            )

    def RevokeApiKey(
        self, request: keys_pb.RevokeApiKeyRequest, context: object
    ) -> api_key_pb2.ApiKey:
        with self._uow() as uow:
            key = key_service.get_api_key(uow, request.id)
            actor = self._allowed(context, key.workspace_id, change=True).actor
            row = key_service.revoke_api_key(uow, request.id, request.reason, actor)
            if not self._on_change(row.id):
                raise errors.Unavailable(NOT_TOLD)
            return convert.api_key(row)

    def RotateApiKey(
        self, request: keys_pb.RotateApiKeyRequest, context: object
    ) -> keys_pb.RotateApiKeyResponse:
        grace = request.grace_period.ToTimedelta() if request.HasField("grace_period") else None
        with self._uow() as uow:
            key = key_service.get_api_key(uow, request.id)
            actor = self._allowed(context, key.workspace_id, change=True).actor
            issued, old = key_service.rotate_api_key(
                uow, self._hasher, request.id, grace=grace, actor=actor
            )
            self._on_change(old.id)  # not told: logged; the new key must still reach its owner
            return keys_pb.RotateApiKeyResponse(
                api_key=convert.api_key(issued.record),
                key=issued.raw,
                previous=convert.api_key(old),
            )

    def ListApiKeyEvents(
        self, request: keys_pb.ListApiKeyEventsRequest, context: object
    ) -> keys_pb.ListApiKeyEventsResponse:
        self._allowed(context, request.workspace_id)
        with self._uow() as uow:
            rows, next_token = key_service.list_key_events(
                uow, request.workspace_id, request.page_size, request.page_token
            )
            return keys_pb.ListApiKeyEventsResponse(
                events=[convert.key_event(r) for r in rows], next_page_token=next_token
            )
