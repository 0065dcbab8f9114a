"""Two places to keep uploads, behind one interface: a local directory that the edge
serves with signed URLs, or an S3-compatible bucket with presigned POST and GET.

The service reads an attached file only from here, by its key: never by fetching a URL
(no SSRF), whatever the attachment names.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote, urlencode

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from chronicle import upload_policy
from chronicle.config import Settings

# An S3 object is read into memory up to this size, beyond it into a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


class ObjectMissing(LookupError):
    """No object under that key (never uploaded, or removed)."""


@dataclass(frozen=True)
class UploadTarget:
    url: str
    fields: list[tuple[str, str]]  # in the order the client must post them
    download_url: str


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str | None  # as the store recorded it (S3); None: enforced at upload


class FileStore(Protocol):
    backend: str

    def target(
        self, key: str, content_type: str, max_bytes: int, workspace_id: str, now: int
    ) -> UploadTarget:
        """A form-POST target for one object, and its signed download URL."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """What is stored under `key`, or None when nothing was uploaded there."""
        ...

    def open(self, key: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        """The object's bytes, seekable; ObjectMissing when there is none."""
        ...


class LocalStore:
    backend = "local"

    def __init__(
        self, root: str | os.PathLike[str], public_url: str, configured_secret: str = ""
    ) -> None:
        self.root = Path(root).resolve()
        self._public_url = public_url.rstrip("/")
        self._configured_secret = configured_secret

    @functools.cached_property
    def _secret(self) -> bytes:
        # Read (or made) on first use: a process that never issues a target never writes.
        return upload_policy.load_signing_key(self._configured_secret, self.root)

    def target(
        self, key: str, content_type: str, max_bytes: int, workspace_id: str, now: int
    ) -> UploadTarget:
        policy = upload_policy.Policy(
            key, content_type, max_bytes, workspace_id, now + upload_policy.UPLOAD_WINDOW_SECONDS
        )
        encoded, signature = upload_policy.sign_policy(self._secret, policy)
        fields = [
            ("key", key),
            ("Content-Type", content_type),
            ("policy", encoded),
            (upload_policy.SIGNATURE_FIELD, signature),
        ]
        return UploadTarget(
            f"{self._public_url}{upload_policy.LOCAL_UPLOAD_PATH}",
            fields,
            self.download_url(key, now),
        )

    def download_url(self, key: str, now: int) -> str:
        expires = now + upload_policy.DOWNLOAD_SECONDS
        query = urlencode(
            {
                "expires": expires,
                "signature": upload_policy.sign_download(self._secret, key, expires),
            }
        )
        return f"{self._public_url}{upload_policy.LOCAL_UPLOAD_PATH}/{quote(key)}?{query}"

    def stat(self, key: str) -> StoredObject | None:
        try:
            return StoredObject(upload_policy.local_path(self.root, key).stat().st_size, None)
        except (FileNotFoundError, ValueError):
            return None

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        try:
            f = upload_policy.local_path(self.root, key).open("rb")
        except (FileNotFoundError, ValueError):
            raise ObjectMissing(key) from None
        with f:
            yield f


class S3Store:
    """Any S3-compatible store (AWS, MinIO, moto…) through boto3. Credentials come from
    boto3's usual chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, a role."""

    backend = "s3"

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,  # a boto3 S3 client (boto3 ships no type hints)
    ) -> None:
        self.bucket = bucket
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3}),
        )

    def target(
        self, key: str, content_type: str, max_bytes: int, workspace_id: str, now: int
    ) -> UploadTarget:
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=upload_policy.UPLOAD_WINDOW_SECONDS,
        )
        download = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=upload_policy.DOWNLOAD_SECONDS,
        )
        return UploadTarget(post["url"], list(post["fields"].items()), download)

    def stat(self, key: str) -> StoredObject | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return StoredObject(int(head["ContentLength"]), head.get("ContentType"))

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            try:
                self.client.download_fileobj(self.bucket, key, spool)
            except ClientError as exc:
                if _is_missing(exc):
                    raise ObjectMissing(key) from None
                raise
            spool.seek(0)
            yield spool


def _is_missing(exc: ClientError) -> bool:
    """S3's "no such object", as HEAD (404) and GET (NoSuchKey) report it."""
    return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


def make_store(settings: Settings) -> FileStore:
    """The backend the settings name (CHRONICLE_UPLOAD_BACKEND)."""
    if settings.upload_backend == "s3":
        return S3Store(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region)
    return LocalStore(settings.upload_dir, settings.public_url, settings.upload_signing_key)
