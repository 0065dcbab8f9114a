"""SessionService: signing in and out, for Chronicle's own pages (decision 030)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import grpc

from chronicle import contract
from chronicle.config import IPNetwork, RateLimit
from chronicle.v1 import session_service_pb2, session_service_pb2_grpc
from server import key_material
from server.auth.budgets import FloodBudgets
from server.client_address import client_address
from server.servicers import UowFactory
from server.services import sessions as session_service

SignInRequest = session_service_pb2.SignInRequest


class SessionServicer(session_service_pb2_grpc.SessionServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        uow: UowFactory,
        hasher: key_material.SecretHasher,
        on_change: Callable[[str], bool],
        *,
        idle: timedelta,
        lifetime: timedelta,
        failures_per_client: RateLimit,
        trusted_proxies: tuple[IPNetwork, ...],
    ) -> None:
        """`hasher`: the passwords' argon2id. `on_change` tells every server that a
        session ended (False: Redis did not take it; logged, and the session's state is
        re-read within CHRONICLE_KEY_STATUS_REFRESH anyway)."""
        self._uow = uow
        self._hasher = hasher
        self._dummy = session_service.DummyHash(hasher)
        self._on_change = on_change
        self._idle = idle
        self._lifetime = lifetime
        self._trusted = trusted_proxies
        # Budgets of their own, the keys' machinery: per email, per client address.
        self._budgets = FloodBudgets(failures_per_client, time.monotonic)

    def SignIn(
        self, request: SignInRequest, context: grpc.ServicerContext
    ) -> session_service_pb2.SignInResponse:
        metadata = context.invocation_metadata() or ()
        with self._uow() as uow:
            signed_in = session_service.sign_in(
                uow,
                self._hasher,
                self._dummy,
                self._budgets,
                email=request.email,
                password=request.password,
                workspace_id=request.workspace_id,
                client=client_address(context.peer(), metadata, self._trusted),
                idle=self._idle,
                lifetime=self._lifetime,
            )
        response = session_service_pb2.SignInResponse(
            session_token=signed_in.token,
            user=session_service_pb2.SignedInUser(
                id=signed_in.user.id,
                email=signed_in.user.email,
                role=signed_in.user.role,
                workspace_id=signed_in.user.workspace_id,
            ),
        )
        response.expires_at.FromDatetime(signed_in.session.expires_at)
        return response

    def SignOut(
        self, request: session_service_pb2.SignOutRequest, context: grpc.ServicerContext
    ) -> session_service_pb2.SignOutResponse:
        token = next(
            (
                str(value)
                for name, value in context.invocation_metadata() or ()
                if name == contract.SESSION_METADATA
            ),
            None,
        )
        if token is not None:
            with self._uow() as uow:
                ended = session_service.sign_out(uow, token.strip())
            if ended is not None:
                self._on_change(ended)
        return session_service_pb2.SignOutResponse()
