"""Upload targets, and the attachments that may name them.

An attachment is honoured only when its url is exactly a download URL this service
issued, to the caller's workspace, and not expired; the file is then read from our own
store by its key. Anything else is refused before a job exists: 400, or 403 for a file of
another workspace.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chronicle import upload_policy
from server.auth import Principal
from server.errors import FileUploadError, InvalidArgument, WrongWorkspace
from server.files.store import FileStore, UploadTarget
from server.ids import new_id
from server.storage import models
from server.storage.uow import UnitOfWork

MAX_FILE_NAME = 255
MAX_ATTACHMENTS = 10


def _check_file_name(file_name: str) -> str:
    name = file_name.strip()
    if not name:
        raise InvalidArgument("file_name: is required")
    if len(name) > MAX_FILE_NAME:
        raise InvalidArgument(f"file_name: at most {MAX_FILE_NAME} characters")
    if not name.isprintable():
        raise InvalidArgument("file_name: must not contain control characters")
    return name


def create_target(
    uow: UnitOfWork,
    principal: Principal,
    store: FileStore,
    *,
    file_name: str,
    content_type: str,
    declared_size: int,
) -> tuple[models.Upload, UploadTarget]:
    name = _check_file_name(file_name)
    if not content_type.strip():
        raise InvalidArgument("content_type: is required")
    kind = upload_policy.normalized_type(content_type)
    if kind is None:
        raise FileUploadError(
            "content_type: not allowed; use one of " + ", ".join(upload_policy.CONTENT_TYPES)
        )
    if declared_size <= 0:
        raise FileUploadError("declared_file_size: must be at least 1 byte")
    if declared_size > upload_policy.MAX_FILE_BYTES:
        raise FileUploadError(
            f"declared_file_size: at most {upload_policy.MAX_FILE_BYTES} bytes (50 MB)"
        )
    upload_id = new_id("att")
    key = f"{principal.workspace_id}/{upload_id}/{upload_policy.object_name(name, kind)}"
    now = datetime.now(UTC).replace(microsecond=0)
    target = store.target(key, kind, declared_size, principal.workspace_id, int(now.timestamp()))
    row = models.Upload(
        id=upload_id,
        workspace_id=principal.workspace_id,
        backend=store.backend,
        storage_key=key,
        file_name=name,
        content_type=kind,
        declared_size=declared_size,
        download_url_sha256=upload_policy.url_digest(target.download_url),
        created_at=now,
        expires_at=datetime.fromtimestamp(
            int(now.timestamp()) + upload_policy.DOWNLOAD_SECONDS, UTC
        ),
    )
    uow.uploads.add(row)
    uow.commit()
    return row, target


def attached_files(
    uow: UnitOfWork,
    principal: Principal,
    store: FileStore | None,
    attachments: list[dict[str, str]],
) -> list[dict[str, str]]:
    """Each attachment checked and resolved to the stored object a worker will read."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidArgument(f"attachments: at most {MAX_ATTACHMENTS}")
    resolved = []
    for index, attachment in enumerate(attachments):
        where = f"attachments[{index}]"
        for name in ("id", "url", "file_name", "type"):
            if not attachment.get(name, "").strip():
                raise InvalidArgument(f"{where}.{name}: is required")
        row = uow.uploads.by_download_url(upload_policy.url_digest(attachment["url"].strip()))
        if row is None or store is None or row.backend != store.backend:
            raise InvalidArgument(f"{where}.url: is not a file this service issued")
        if row.workspace_id != principal.workspace_id:
            raise WrongWorkspace(f"{where}.url: the file belongs to another workspace")
        if row.expires_at <= models.utcnow():
            raise InvalidArgument(f"{where}.url: has expired; upload the file again")
        if upload_policy.normalized_type(attachment["type"]) != row.content_type:
            raise InvalidArgument(f"{where}.type: the file was uploaded as {row.content_type}")
        stored = store.stat(row.storage_key)
        if stored is None:
            raise FileUploadError(f"{where}: the file has not been uploaded yet")
        # The local backend refuses these at upload; an S3-compatible store that does not
        # enforce the presigned policy's conditions is caught here.
        if stored.size == 0:
            raise FileUploadError(f"{where}: the file is empty")
        if stored.size > row.declared_size:
            raise FileUploadError(
                f"{where}: the file is larger than its declared size ({row.declared_size} bytes)"
            )
        if stored.content_type is not None and stored.content_type != row.content_type:
            raise FileUploadError(
                f"{where}: the file was stored as {stored.content_type}, not {row.content_type}"
            )
        resolved.append(
            {
                "id": attachment["id"].strip(),
                "file_name": attachment["file_name"].strip(),
                "type": row.content_type,
                "upload_id": row.id,
                "key": row.storage_key,
            }
        )
    return resolved


MAX_IMAGE_BYTES = 20 * 1024 * 1024  # what a deck may embed of one stored image


def stored_image(
    uow: UnitOfWork, store: FileStore | None, workspace_id: str, url: str
) -> tuple[bytes, str] | None:
    """The bytes and type of an image a deck of `workspace_id` shows, when `url` is a
    download URL this service issued for one of that workspace's uploads and the file
    is there; else None. Never a fetch: any other URL is only a URL. The signed URL's
    expiry does not matter here: it limits who may download, not what a deck shows."""
    if store is None or not url.strip():
        return None
    row = uow.uploads.by_download_url(upload_policy.url_digest(url.strip()))
    if row is None or row.backend != store.backend or row.workspace_id != workspace_id:
        return None
    if not row.content_type.startswith("image/"):
        return None
    stored = store.stat(row.storage_key)
    if stored is None or stored.size == 0 or stored.size > MAX_IMAGE_BYTES:
        return None
    with store.open(row.storage_key) as stream:
        data = stream.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES or not upload_policy.looks_like(row.content_type, data[:16]):
        return None
    return data, row.content_type
