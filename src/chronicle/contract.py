"""What the protos say beyond messages: services, callers, http rules, where RPCs run.

Server and edge both read the contract from here, so neither hard-codes a route,
a success code, who may call what, or an error's domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor

from chronicle.v1 import (
    api_key_service_pb2,
    identity_service_pb2,
    options_pb2,
    presentation_service_pb2,
    session_service_pb2,
    viewer_service_pb2,
)

_SERVICE_MODULES = (
    presentation_service_pb2,
    api_key_service_pb2,
    identity_service_pb2,
    session_service_pb2,
    viewer_service_pb2,
)

SERVICES: tuple[descriptor.ServiceDescriptor, ...] = tuple(
    service
    for module in _SERVICE_MODULES
    for service in module.DESCRIPTOR.services_by_name.values()
)

API_KEY = options_pb2.CALLER_KIND_API_KEY
SERVICE_TOKEN = options_pb2.CALLER_KIND_SERVICE_TOKEN
USER_SESSION = options_pb2.CALLER_KIND_USER_SESSION
ANONYMOUS = options_pb2.CALLER_KIND_ANONYMOUS


def full_method_name(method: descriptor.MethodDescriptor) -> str:
    """The gRPC path of a method: `/package.Service/Method`."""
    return f"/{method.containing_service.full_name}/{method.name}"


def allowed_callers(service: descriptor.ServiceDescriptor) -> frozenset[int]:
    """The caller kinds a service accepts; empty means nobody."""
    options = service.GetOptions()
    return frozenset(options.Extensions[options_pb2.allowed_callers])  # type: ignore[index]


def is_cheap_read(method: descriptor.MethodDescriptor) -> bool:
    """Declared `EXECUTION_CHEAP_READ`: may run on the event loop on the embedded database."""
    execution: int = method.GetOptions().Extensions[options_pb2.execution]  # type: ignore[index]
    return bool(execution == options_pb2.EXECUTION_CHEAP_READ)


def cheap_reads(
    services: tuple[descriptor.ServiceDescriptor, ...] = SERVICES,
) -> frozenset[str]:
    """The full method names of every RPC declared a cheap read."""
    return frozenset(
        full_method_name(method)
        for service in services
        for method in service.methods
        if is_cheap_read(method)
    )


# A reply of this type is raw bytes with a content type, served over REST as they are
# (as grpc-gateway does): generically, for any RPC that returns it.
HTTP_BODY = "google.api.HttpBody"


def returns_http_body(method: descriptor.MethodDescriptor) -> bool:
    return bool(method.output_type.full_name == HTTP_BODY)


def http_body_types(method: descriptor.MethodDescriptor) -> tuple[str, ...]:
    """The content types an HttpBody reply may have (the `http_body_types` option)."""
    types: list[str] = method.GetOptions().Extensions[options_pb2.http_body_types]  # type: ignore[index]
    return tuple(types)


def is_admin_only(service: descriptor.ServiceDescriptor) -> bool:
    """Services that API keys cannot call are served over REST only on request."""
    return API_KEY not in allowed_callers(service)


@dataclass(frozen=True)
class HttpBinding:
    """One REST route of an RPC, straight from its `google.api.http` rule."""

    method: descriptor.MethodDescriptor
    verb: str
    path: str
    body: str
    response_body: str
    success_code: int

    @property
    def full_method(self) -> str:
        return full_method_name(self.method)


def _verb_and_path(rule: http_pb2.HttpRule) -> tuple[str, str]:
    pattern = rule.WhichOneof("pattern")
    if pattern is None:
        raise ValueError("http rule without a pattern")
    if pattern == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    return pattern.upper(), getattr(rule, pattern)


def http_bindings(
    services: tuple[descriptor.ServiceDescriptor, ...] = SERVICES,
) -> list[HttpBinding]:
    """Every http binding of every method, additional bindings included."""
    bindings = []
    for service in services:
        for method in service.methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            rule = options.Extensions[annotations_pb2.http]
            code: int = options.Extensions[options_pb2.http_success_code]  # type: ignore[index]
            success = code or 200
            for one in (rule, *rule.additional_bindings):
                verb, path = _verb_and_path(one)
                bindings.append(
                    HttpBinding(method, verb, path, one.body, one.response_body, success)
                )
    return bindings


# Metadata an edge adds: the address of the HTTP client it serves. A server believes it
# only from a peer in CHRONICLE_TRUSTED_PROXIES.
CLIENT_ADDRESS_METADATA = "chronicle-client-address"

# Metadata carrying a signed-in person's session token (`chr_ses_…`), apart from the
# API-key headers: the REST edge forwards only those, so /api/v1 never takes a session.
SESSION_METADATA = "chronicle-session"

# ErrorInfo.domain of our server's errors; reasons are the protos' ErrorReason names.
DOMAIN = "chronicle"

# Trailing metadata our server adds to every reply, error or not, once it has
# authenticated the caller's credential (value "1"; never the credential itself). An
# edge learns from it that a key is good: an answer without it proves nothing.
AUTHENTICATED_METADATA = "chronicle-authenticated"

# The Idempotency-Key a client may send on any POST (metadata `idempotency-key` on the
# matching RPC): printable ASCII without spaces (a UUID, a ULID, base64…), as gRPC
# metadata carries it. The server enforces it; the OpenAPI document states it.
IDEMPOTENCY_KEY_METADATA = "idempotency-key"
IDEMPOTENCY_KEY_PATTERN = r"[\x21-\x7e]{1,255}"
