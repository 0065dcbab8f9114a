"""The pieces every entry point shares, built lazily from settings: a CLI command builds
only what it uses, so it imports neither gRPC nor Redis, boto3 or argon2 until needed."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chronicle.config import Settings
from server.storage import db
from server.storage.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from server.auth import Authenticator, UsageRecorder
    from server.auth.status_push import KeyStatusChannel
    from server.files.store import FileStore
    from server.key_material import SecretHasher
    from server.ratelimit import Limiter
    from server.services.exports import ExportPool
    from server.shared_limits import SharedTable


class Container:
    def __init__(self, settings: Settings, *, shared_limits: SharedTable | None = None) -> None:
        """`shared_limits`: the rate-limit table this machine's server processes share
        (`--processes N` without Redis), else limits are this process's own."""
        self.settings = settings
        self._shared_limits = shared_limits

    @cached_property
    def engine(self) -> Engine:
        # One connection per RPC thread, plus the last-used flusher and the CLI's own; the
        # pool may overflow as far again (WatchGeneration's reads on the loop's executor).
        s = self.settings
        return db.make_engine(s.database_url, s.grpc_threads + 2, s.sqlite_busy_timeout_seconds)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.session_factory(self.engine)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, self.engine)

    @cached_property
    def hasher(self) -> SecretHasher:
        from server.key_material import SecretHasher

        s = self.settings
        return SecretHasher(s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism)

    @cached_property
    def password_hasher(self) -> SecretHasher:
        """argon2id for people's passwords: the keys' hasher when its settings meet OWASP's
        minimum, else one with them raised to it (tests lower the keys' settings)."""
        from server.key_material import SecretHasher
        from server.passwords import hashing_parameters

        s = self.settings
        configured = (s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism)
        parameters = hashing_parameters(*configured)
        return self.hasher if parameters == configured else SecretHasher(*parameters)

    @cached_property
    def limiter(self) -> Limiter:
        s = self.settings
        if s.redis_url:
            from server.ratelimit import RedisLimiter

            return RedisLimiter(
                s.redis_url, timeout=s.redis_timeout_seconds, fail_open=s.rate_limit_fail_open
            )
        from server.ratelimit import LocalLimiter

        return LocalLimiter(self._shared_limits)

    @cached_property
    def key_status(self) -> KeyStatusChannel:
        from server.auth.status_push import NoChannel, RedisKeyStatus

        s = self.settings
        if s.redis_url:
            return RedisKeyStatus(s.redis_url, timeout=s.redis_timeout_seconds)
        return NoChannel()

    def key_changed(self, credential_id: str) -> bool:
        """After a committed revoke or rotation: this process re-reads the status at
        once, and every other process is told (with Redis). False: Redis did not take
        the change (see `status_push.RedisKeyStatus.publish`)."""
        if "authenticator" in self.__dict__:
            self.authenticator.forget(credential_id)
        return self.key_status.publish(credential_id)

    @cached_property
    def store(self) -> FileStore:
        from server.files.store import make_store

        return make_store(self.settings)

    @cached_property
    def exports(self) -> ExportPool:
        from server.services.exports import ExportPool

        return ExportPool(self.settings.export_processes)

    @cached_property
    def usage(self) -> UsageRecorder:
        from server.auth import UsageRecorder

        return UsageRecorder(self.uow, self.settings.last_used_flush_seconds)

    @cached_property
    def authenticator(self) -> Authenticator:
        from server.auth import Authenticator

        s = self.settings
        return Authenticator(
            self.uow,
            self.hasher,
            cache_ttl=s.key_cache_ttl_seconds,
            cache_size=s.key_cache_size,
            status_ttl=s.key_status_ttl_seconds,
            pushed_status_ttl=s.key_status_refresh_seconds,
            failures_per_client=s.failed_verifications,
            usage=self.usage,
            inline_lookups=s.database_url.startswith("sqlite"),
        )
