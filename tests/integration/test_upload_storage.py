"""Upload storage on real backends (a directory; S3 on a moto server) and the upload rules
on a real database: targets recorded, attachments resolved only to what was issued."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from chronicle import upload_policy
from server.auth import CallerKind, Principal
from server.container import Container
from server.errors import FileUploadError, InvalidArgument, WrongWorkspace
from server.files.store import FileStore, LocalStore, ObjectMissing, S3Store
from server.generation.builtin import BuiltinWriter
from server.generation.worker import Worker
from server.services import jobs
from server.services import uploads as upload_service
from server.storage import models
from tests.conftest import S3Bucket, Tenant
from tests.documents import PHRASES, text_document

KEY = "ws_test/att_test/notes.txt"


def principal(tenant: Tenant) -> Principal:
    return Principal(CallerKind.API_KEY, tenant.key_id, tenant.workspace_id, "live")


def post(target_url: str, fields: list[tuple[str, str]], content: bytes) -> httpx.Response:
    kind = dict(fields)["Content-Type"]
    return httpx.post(target_url, data=dict(fields), files={"file": ("f", content, kind)})


def test_local_store_reads_what_is_under_its_directory(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "uploads", "http://edge.test/", "a-secret")
    target = store.target(KEY, "text/plain", 100, "ws_test", int(time.time()))
    assert target.url == "http://edge.test/api/v1/uploads/local"
    assert [name for name, _ in target.fields] == list(upload_policy.FORM_FIELDS)
    assert target.download_url.startswith(f"http://edge.test/api/v1/uploads/local/{KEY}?expires=")
    assert store.stat(KEY) is None
    with pytest.raises(ObjectMissing):
        store.open(KEY).__enter__()
    path = tmp_path / "uploads" / KEY
    path.parent.mkdir(parents=True)
    path.write_bytes(b"hello")
    stat = store.stat(KEY)
    assert stat is not None and stat.size == 5 and stat.content_type is None
    with store.open(KEY) as f:
        assert f.read() == b"hello"
    assert store.stat("../../etc/passwd") is None


def test_s3_store_presigns_a_post_and_a_get(s3_bucket: S3Bucket) -> None:
    store = S3Store(s3_bucket.name, s3_bucket.endpoint_url, s3_bucket.region)
    target = store.target(KEY, "text/plain", 100, "ws_test", int(time.time()))
    assert dict(target.fields)["key"] == KEY
    assert store.stat(KEY) is None
    assert post(target.url, target.fields, b"hello s3").status_code == 204
    stat = store.stat(KEY)
    assert stat is not None and (stat.size, stat.content_type) == (8, "text/plain")
    with store.open(KEY) as f:
        assert f.read() == b"hello s3"
    assert httpx.get(target.download_url).content == b"hello s3"
    assert "X-Amz-Expires=604800" in target.download_url  # 7 days
    with pytest.raises(ObjectMissing):
        store.open("ws_test/att_none/x.txt").__enter__()


def _issue(container: Container, tenant: Tenant, content: bytes | None) -> tuple[str, str]:
    """An upload target for `tenant` (the local backend), and the file written where the
    edge would write it (no edge here), unless `content` is None."""
    store = container.store
    assert isinstance(store, LocalStore)
    with container.uow() as uow:
        row, target = upload_service.create_target(
            uow,
            principal(tenant),
            store,
            file_name="notes.txt",
            content_type="text/plain",
            declared_size=1000,
        )
    if content is not None:
        path = store.root / row.storage_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return row.id, target.download_url


def _attach(url: str) -> list[dict[str, str]]:
    return [{"id": "a", "url": url, "file_name": "notes.txt", "type": "text/plain"}]


def test_create_target_records_the_issued_url(container: Container, tenant: Tenant) -> None:
    upload_id, url = _issue(container, tenant, None)
    with container.uow() as uow:
        row = uow.uploads.by_download_url(upload_policy.url_digest(url))
        assert row is not None and row.id == upload_id
        assert row.workspace_id == tenant.workspace_id and row.declared_size == 1000
        assert row.expires_at - row.created_at == timedelta(days=7)


def test_attachments_resolve_only_to_issued_unexpired_files_of_the_workspace(
    container: Container, tenant: Tenant, other_tenant: Tenant
) -> None:
    upload_id, url = _issue(container, tenant, text_document())
    with container.uow() as uow:
        [file] = upload_service.attached_files(
            uow, principal(tenant), container.store, _attach(url)
        )
        assert file["upload_id"] == upload_id and file["type"] == "text/plain"
        with pytest.raises(WrongWorkspace):
            upload_service.attached_files(
                uow, principal(other_tenant), container.store, _attach(url)
            )
        with pytest.raises(InvalidArgument, match="is not a file this service issued"):
            upload_service.attached_files(
                uow, principal(tenant), container.store, _attach(url + "x")
            )
        with pytest.raises(InvalidArgument, match="is not a file this service issued"):
            upload_service.attached_files(uow, principal(tenant), None, _attach(url))
        with pytest.raises(InvalidArgument, match="at most"):
            upload_service.attached_files(
                uow, principal(tenant), container.store, _attach(url) * 11
            )
        row = uow.uploads.get(upload_id)
        assert row is not None
        row.expires_at = models.utcnow() - timedelta(seconds=1)
        uow.commit()
    with container.uow() as uow, pytest.raises(InvalidArgument, match="has expired"):
        upload_service.attached_files(uow, principal(tenant), container.store, _attach(url))


def test_a_file_removed_after_attaching_fails_the_job_readably(
    container: Container, tenant: Tenant
) -> None:
    store: FileStore = container.store
    upload_id, url = _issue(container, tenant, text_document())
    request = jobs.GenerationRequest(
        prompt="Deck from the notes.", non_interactive=True, attachments=_attach(url)
    )
    with container.uow() as uow:
        kept = jobs.submit(uow, principal(tenant), request, store).id
        gone = jobs.submit(uow, principal(tenant), request, store).id
    worker = Worker(container.uow, BuiltinWriter(), store=store)
    assert worker.run_once() == kept
    with container.uow() as uow:
        job = uow.generation_jobs.get(kept)
        assert job is not None and job.state == "completed", job.error if job else None
        deck = uow.presentations.get(job.presentation_id)
        assert PHRASES[1] in str(deck.sections)
        row = uow.uploads.get(upload_id)
        assert row is not None
        key = row.storage_key
    assert isinstance(store, LocalStore)
    (store.root / key).unlink()
    assert worker.run_once() == gone
    with container.uow() as uow:
        job = uow.generation_jobs.get(gone)
        assert job is not None and job.state == "failed"
        assert job.error == "Attachment 'notes.txt' is no longer stored"


def test_an_empty_or_oversized_object_is_refused_at_attach(
    container: Container, tenant: Tenant
) -> None:
    for content, reason in [(b"", "empty"), (b"x" * 1001, "larger than its declared size")]:
        _, url = _issue(container, tenant, content)
        with container.uow() as uow, pytest.raises(FileUploadError, match=reason):
            upload_service.attached_files(uow, principal(tenant), container.store, _attach(url))
