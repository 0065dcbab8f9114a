"""Configuration: one typed object, read from the environment, overridden by flags.

Defaults run everything on one machine. Bad values fail fast with a message
that names the setting.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(second|minute|hour)$")
_RATE_SECONDS = {"second": 1, "minute": 60, "hour": 3600}


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


MAX_DURATION_SECONDS = 100 * 365 * 86400


def parse_duration(text: str) -> int:
    """`30s`, `15m`, `12h`, `90d` → seconds (at most a century)."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"invalid duration {text!r}: use a number and a unit, e.g. 30s, 15m, 12h")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise ConfigError(f"duration {text!r} is longer than 100 years")
    return seconds


@dataclass(frozen=True)
class RateLimit:
    count: int
    per_seconds: int

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        match = _RATE.match(text.strip())
        if not match or int(match.group(1)) <= 0:
            raise ConfigError(
                f"invalid rate limit {text!r}: use COUNT/second, COUNT/minute or COUNT/hour"
            )
        return cls(int(match.group(1)), _RATE_SECONDS[match.group(2)])

    def __str__(self) -> str:
        unit = {v: k for k, v in _RATE_SECONDS.items()}[self.per_seconds]
        return f"{self.count}/{unit}"


# Generous: 10 requests a second per key, sustained.
DEFAULT_RATE_LIMIT = RateLimit(600, 60)
# Failed key verifications one client may cause per minute before it is throttled.
DEFAULT_FAILED_VERIFICATIONS = RateLimit(30, 60)
# Failing new keys one edge sends on a second (a key the server accepts gives its place
# back): what a flood of made-up keys may cost the servers, a few % of a core.
DEFAULT_NEW_KEYS = RateLimit(20, 1)


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"invalid boolean {text!r}")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ConfigError(f"invalid port {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ConfigError(f"must be positive, got {text!r}")
    return value


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, a container's cpuset), at least 1."""
    return max(1, len(os.sched_getaffinity(0)))


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ConfigError(f"must be positive, got {text!r}")
    return value


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"invalid log level {text!r}: DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _targets(text: str) -> tuple[str, ...]:
    targets = tuple(t.strip() for t in text.split(",") if t.strip())
    if not targets:
        raise ConfigError("at least one gRPC target (HOST:PORT) is required")
    return targets


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(text: str) -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(t.strip()) for t in text.split(",") if t.strip())
    except ValueError as exc:
        raise ConfigError(f"invalid address or network: {exc}") from None


def _upload_backend(text: str) -> str:
    backend = text.strip().lower()
    if backend not in {"local", "s3"}:
        raise ConfigError(f"invalid upload backend {text!r}: local or s3")
    return backend


T = TypeVar("T")


def _secret(env: str) -> str:
    """A secret from `env`, or from the file `env`_FILE names: read when needed, never
    kept in settings (nor printed with them)."""
    path = os.environ.get(f"{env}_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    return os.environ.get(env, "")


def _setting(env: str, parse: Callable[[str], T], default: T) -> T:
    """A field read from `env` by `parse` (a dataclass field posing as its value)."""
    field_: T = field(default=default, metadata={"env": env, "parse": parse})
    return field_


@dataclass(frozen=True)
class Settings:
    database_url: str = _setting("CHRONICLE_DATABASE_URL", str, "sqlite:///chronicle.db")
    redis_url: str | None = _setting("CHRONICLE_REDIS_URL", str, None)
    redis_timeout_seconds: float = _setting("CHRONICLE_REDIS_TIMEOUT", _positive_float, 0.05)
    # Redis down: allow (open, the default) or refuse with 503 (closed).
    rate_limit_fail_open: bool = _setting("CHRONICLE_RATE_LIMIT_FAIL_OPEN", _bool, True)
    grpc_port: int = _setting("CHRONICLE_GRPC_PORT", _port, 50051)
    http_port: int = _setting("CHRONICLE_HTTP_PORT", _port, 8080)
    bind: str = _setting("CHRONICLE_BIND", str, "127.0.0.1")
    rate_limit: RateLimit = _setting("CHRONICLE_RATE_LIMIT", RateLimit.parse, DEFAULT_RATE_LIMIT)
    # Empty: http://BIND:HTTP_PORT/app, so the default follows the ports in use.
    app_url: str = _setting("CHRONICLE_APP_URL", str, "")
    # Edge
    grpc_targets: tuple[str, ...] = _setting("CHRONICLE_GRPC_TARGETS", _targets, ())
    admin_routes: bool = _setting("CHRONICLE_ADMIN_ROUTES", _bool, False)
    max_body_bytes: int = _setting("CHRONICLE_MAX_BODY_BYTES", _positive_int, 1024 * 1024)
    grpc_timeout_seconds: float = _setting("CHRONICLE_GRPC_TIMEOUT", _positive_float, 30.0)
    # Requests with keys this edge has not seen accepted yet, sent on per second (those
    # the server accepts give their place back); more are told to retry (503).
    new_key_rate: RateLimit = _setting("CHRONICLE_NEW_KEY_RATE", RateLimit.parse, DEFAULT_NEW_KEYS)
    # Slow and idle HTTP clients (src/edge/http_server.py): a request's headers must
    # arrive within HEADER_TIMEOUT of its first byte (or of the connection, for the first);
    # its body at 64 KiB or more per BODY_TIMEOUT; an idle keep-alive connection closes
    # after KEEP_ALIVE_TIMEOUT.
    http_header_timeout_seconds: float = _setting(
        "CHRONICLE_HTTP_HEADER_TIMEOUT", _positive_float, 10.0
    )
    http_body_timeout_seconds: float = _setting(
        "CHRONICLE_HTTP_BODY_TIMEOUT", _positive_float, 30.0
    )
    http_keep_alive_timeout_seconds: float = _setting(
        "CHRONICLE_HTTP_KEEP_ALIVE_TIMEOUT", _positive_float, 5.0
    )
    # Open connections the edge holds, in total (lowered to fit `ulimit -n`) and per
    # client address (behind a proxy, all clients share one: raise it there).
    http_max_connections: int = _setting("CHRONICLE_HTTP_MAX_CONNECTIONS", _positive_int, 10_000)
    http_max_connections_per_client: int = _setting(
        "CHRONICLE_HTTP_MAX_CONNECTIONS_PER_CLIENT", _positive_int, 256
    )
    # The request line and headers together; larger: 431.
    http_max_header_bytes: int = _setting("CHRONICLE_HTTP_MAX_HEADER_BYTES", _positive_int, 16384)
    # Seconds calls (and HTTP requests) in flight get to finish after SIGTERM.
    shutdown_grace_seconds: float = _setting("CHRONICLE_SHUTDOWN_GRACE", _positive_float, 10.0)
    # Server processes of `serve`, `serve-grpc` and `serve-edge`, sharing their ports
    # (SO_REUSEPORT) under one supervising parent; 1: one process, no parent.
    processes: int = _setting("CHRONICLE_PROCESSES", _positive_int, _usable_cpus())
    # gRPC server
    grpc_threads: int = _setting("CHRONICLE_GRPC_THREADS", _positive_int, 10)
    # Child processes making PPTX/PDF exports (started on the first export): CPU-bound
    # Python in the server's own threads would take the GIL from its event loop.
    export_processes: int = _setting("CHRONICLE_EXPORT_PROCESSES", _positive_int, 1)
    # How long MCP's get_generation_status waits for the job to move (Chronicle's: ~50 s).
    mcp_wait_seconds: float = _setting("CHRONICLE_MCP_WAIT", _positive_float, 50.0)
    # How long a SQLite write waits for another writer's lock before answering 503.
    sqlite_busy_timeout_seconds: float = _setting(
        "CHRONICLE_SQLITE_BUSY_TIMEOUT", _positive_float, 5.0
    )
    # Keys: argon2id parameters (OWASP minimum by default) and the caches.
    argon2_memory_kib: int = _setting("CHRONICLE_ARGON2_MEMORY_KIB", _positive_int, 19 * 1024)
    argon2_time_cost: int = _setting("CHRONICLE_ARGON2_TIME_COST", _positive_int, 2)
    argon2_parallelism: int = _setting("CHRONICLE_ARGON2_PARALLELISM", _positive_int, 1)
    key_cache_ttl_seconds: float = _setting("CHRONICLE_KEY_CACHE_TTL", _positive_float, 300.0)
    key_cache_size: int = _setting("CHRONICLE_KEY_CACHE_SIZE", _positive_int, 10_000)
    # How stale a key's revoked/expiry status may be: the 1-second promise needs < 1.
    key_status_ttl_seconds: float = _setting("CHRONICLE_KEY_STATUS_TTL", _positive_float, 0.5)
    # With Redis, changes are pushed over pub/sub; statuses are then re-read this often
    # only as a safety net (and every KEY_STATUS_TTL again whenever pub/sub is down).
    key_status_refresh_seconds: float = _setting(
        "CHRONICLE_KEY_STATUS_REFRESH", _positive_float, 30.0
    )
    # Failed key verifications one client may cause before it gets 429 for a while.
    failed_verifications: RateLimit = _setting(
        "CHRONICLE_FAILED_VERIFICATIONS", RateLimit.parse, DEFAULT_FAILED_VERIFICATIONS
    )
    # Sessions of people signed in (decision 030): ended after this long without a
    # request, and after CHRONICLE_SESSION_MAX whatever the activity.
    session_idle_seconds: int = _setting("CHRONICLE_SESSION_IDLE", parse_duration, 12 * 3600)
    session_max_seconds: int = _setting("CHRONICLE_SESSION_MAX", parse_duration, 7 * 86400)
    # Peers (the edges) whose forwarded client address the gRPC server believes.
    trusted_proxies: tuple[IPNetwork, ...] = _setting(
        "CHRONICLE_TRUSTED_PROXIES", _networks, _networks("127.0.0.0/8,::1")
    )
    last_used_flush_seconds: float = _setting("CHRONICLE_LAST_USED_FLUSH", _positive_float, 5.0)
    # Generation: the built-in writer unless a model server is configured.
    worker_lease_seconds: float = _setting("CHRONICLE_WORKER_LEASE", _positive_float, 30.0)
    job_timeout_seconds: float = _setting("CHRONICLE_JOB_TIMEOUT", _positive_float, 300.0)
    model_base_url: str | None = _setting("CHRONICLE_MODEL_BASE_URL", str, None)
    model_name: str = _setting("CHRONICLE_MODEL_NAME", str, "")
    model_timeout_seconds: float = _setting("CHRONICLE_MODEL_TIMEOUT", _positive_float, 60.0)
    # Uploads: `local` (files under UPLOAD_DIR, served by the edge) or `s3` (any
    # S3-compatible store; credentials from the standard AWS_* variables).
    upload_backend: str = _setting("CHRONICLE_UPLOAD_BACKEND", _upload_backend, "local")
    upload_dir: str = _setting("CHRONICLE_UPLOAD_DIR", str, "chronicle-uploads")
    # The edge's address as clients reach it: the base of local upload and download URLs.
    # Empty: http://BIND:HTTP_PORT.
    public_url: str = _setting("CHRONICLE_PUBLIC_URL", str, "")
    s3_bucket: str = _setting("CHRONICLE_S3_BUCKET", str, "")
    s3_endpoint_url: str | None = _setting("CHRONICLE_S3_ENDPOINT_URL", str, None)
    s3_region: str | None = _setting("CHRONICLE_S3_REGION", str, None)
    log_level: str = _setting("CHRONICLE_LOG_LEVEL", _log_level, "INFO")
    # One line per HTTP request from the edge (uvicorn's access log).
    access_log: bool = _setting("CHRONICLE_ACCESS_LOG", _bool, True)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Environment first, then flags (`overrides`, None meaning 'not given')."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}  # each field's own type, as its parse made it
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = _parse(f.metadata, raw)
        for name, value in overrides.items():
            if value is None:
                continue
            meta = next(f.metadata for f in fields(cls) if f.name == name)
            flag = "--" + name.replace("_", "-")
            values[name] = _parse(meta, value, flag) if isinstance(value, str) else value
        settings = cls(**values)
        if not settings.public_url:
            settings = replace(settings, public_url=f"http://{settings.bind}:{settings.http_port}")
        settings = replace(settings, public_url=settings.public_url.rstrip("/"))
        if not settings.app_url:  # the decks' viewer, served by the edge (edge.web.decks)
            settings = replace(settings, app_url=f"{settings.public_url}/app")
        if settings.upload_backend == "s3" and not settings.s3_bucket:
            raise ConfigError("CHRONICLE_UPLOAD_BACKEND=s3 needs CHRONICLE_S3_BUCKET")
        if settings.key_status_ttl_seconds >= 1.0:
            raise ConfigError(
                "CHRONICLE_KEY_STATUS_TTL must be below 1 second (revocation promise)"
            )
        return settings

    @property
    def model_api_key(self) -> str:
        """From CHRONICLE_MODEL_API_KEY or the file CHRONICLE_MODEL_API_KEY_FILE names."""
        return _secret("CHRONICLE_MODEL_API_KEY")

    @property
    def upload_signing_key(self) -> str:
        """What signs local upload and download URLs: from CHRONICLE_UPLOAD_SIGNING_KEY
        or the file CHRONICLE_UPLOAD_SIGNING_KEY_FILE names. Empty: one is generated and
        kept in UPLOAD_DIR (chronicle.upload_policy.load_signing_key)."""
        return _secret("CHRONICLE_UPLOAD_SIGNING_KEY")


def _parse(meta: Mapping[str, Any], raw: str, source: str | None = None) -> object:
    """The value, or a ConfigError naming where it came from (flag or variable)."""
    source = source or meta["env"]
    try:
        return meta["parse"](raw)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except ValueError:
        raise ConfigError(f"{source}: invalid value {raw!r}") from None
