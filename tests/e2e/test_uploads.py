"""Uploads end to end, over real HTTP: create a target, post the form, attach the file to a
generation, and find the file's words in the deck; on the local backend (the edge serves
the signed POST and GET) and on an S3-compatible server (moto, on loopback)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from chronicle import upload_policy
from chronicle.config import Settings
from server.container import Container
from server.files.store import LocalStore
from tests.conftest import S3Bucket, Tenant, make_tenant
from tests.documents import DOCUMENTS, PHRASES, text_document
from tests.e2e.test_generation import generate, wait_for
from tests.harness import free_port
from tests.processes import Process, wait_healthz

CREATE_TARGET = "/api/v1/uploads/create-target"


@pytest.fixture
def backend() -> str:
    """The upload backend; tests that run on both parametrize this."""
    return "local"


@pytest.fixture
def edge_port() -> int:
    return free_port()


@pytest.fixture
def settings(
    settings: Settings, edge_port: int, backend: str, request: pytest.FixtureRequest
) -> Settings:
    """The suite's settings, with the edge at a known address (the base of local upload
    URLs) and, for S3, a fresh bucket on the moto server."""
    changed = replace(settings, public_url=f"http://127.0.0.1:{edge_port}")
    if backend == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        changed = replace(
            changed,
            upload_backend="s3",
            s3_bucket=bucket.name,
            s3_endpoint_url=bucket.endpoint_url,
            s3_region=bucket.region,
        )
    return changed


@pytest.fixture
def http(edge_factory: Any, edge_port: int) -> Any:
    edge = edge_factory(port=edge_port)
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        yield client


@pytest.fixture
def worker(start_worker: Any, container: Container) -> Any:
    return start_worker(store=container.store)


def create_target(http: httpx.Client, tenant: Tenant, name: str, kind: str, size: int) -> Any:
    body = {"file_name": name, "content_type": kind, "declared_file_size": size}
    return http.post(CREATE_TARGET, json=body, headers=tenant.headers)


def post_form(target: dict[str, Any], content: bytes, name: str = "file") -> httpx.Response:
    """The client's side of a presigned POST: every field in order, then the file; no key."""
    fields = {f["name"]: f["value"] for f in target["fields"]}
    kind = fields["Content-Type"]
    return httpx.post(target["url"], data=fields, files={"file": (name, content, kind)}, timeout=60)


def upload(http: httpx.Client, tenant: Tenant, name: str, kind: str, content: bytes) -> Any:
    target = create_target(http, tenant, name, kind, len(content))
    assert target.status_code == 200, target.text
    posted = post_form(target.json(), content, name)
    assert posted.status_code == 204, posted.text
    return target.json()


def attachment(target: dict[str, Any], name: str, kind: str) -> dict[str, str]:
    return {"id": "ref-1", "url": target["download_url"], "file_name": name, "type": kind}


def generate_with(
    http: httpx.Client, tenant: Tenant, *attachments: dict[str, str], prompt: str = "x"
) -> httpx.Response:
    """A non-interactive generation that brings `attachments`."""
    return generate(
        http, tenant, prompt=prompt, non_interactive=True, attachments=list(attachments)
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == response.status_code, body
    return body["error"]  # type: ignore[no-any-return]


# The whole flow


@pytest.mark.parametrize("backend", ["local", "s3"])
@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_an_uploaded_file_grounds_the_generated_deck(
    http: httpx.Client, tenant: Tenant, worker: Any, kind: str, backend: str
) -> None:
    name, content_type, make = DOCUMENTS[kind]
    content = make()
    target = upload(http, tenant, name, content_type, content)
    assert target["path"].startswith(f"{tenant.workspace_id}/att_")
    if backend == "local":
        assert target["url"] == f"{http.base_url}{upload_policy.LOCAL_UPLOAD_PATH}"
        assert [f["name"] for f in target["fields"]] == list(upload_policy.FORM_FIELDS)
    assert httpx.get(target["download_url"]).content == content  # no API key: the signature
    response = generate_with(
        http,
        tenant,
        attachment(target, name, content_type),
        prompt="Make a short deck from the attached file.",
    )
    assert response.status_code == 202, response.text
    done = wait_for(http, tenant, response.json()["generation_id"], "completed", "failed")
    assert done["status"] == "completed", done
    deck = json.dumps(done["presentation"])
    for phrase in PHRASES:
        assert phrase in deck, (phrase, deck)


def test_a_message_can_bring_an_attachment(http: httpx.Client, tenant: Tenant, worker: Any) -> None:
    target = upload(http, tenant, "notes.txt", "text/plain", text_document())
    gid = generate(http, tenant, prompt="Otters").json()["generation_id"]
    wait_for(http, tenant, gid, "awaiting_input")
    reply = http.post(
        f"/api/v1/presentations/generate/{gid}/message",
        headers=tenant.headers,
        json={
            "content": "Use the file, for the operations team.",
            "attachments": [attachment(target, "notes.txt", "text/plain")],
        },
    )
    assert reply.status_code == 200, reply.text
    done = wait_for(http, tenant, gid, "completed", "failed")
    assert done["status"] == "completed" and PHRASES[0] in json.dumps(done["presentation"])


# Create-target validation


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (
            {
                "file_name": "a.exe",
                "content_type": "application/x-msdownload",
                "declared_file_size": 10,
            },
            "FILE_UPLOAD_ERROR",
            "content_type",
        ),
        (
            {"file_name": "a.html", "content_type": "text/html", "declared_file_size": 10},
            "FILE_UPLOAD_ERROR",
            "content_type",
        ),
        (
            {"file_name": "a.txt", "content_type": "text/plain", "declared_file_size": 0},
            "FILE_UPLOAD_ERROR",
            "declared_file_size",
        ),
        (
            {"file_name": "a.txt", "content_type": "text/plain", "declared_file_size": -5},
            "FILE_UPLOAD_ERROR",
            "declared_file_size",
        ),
        (
            {
                "file_name": "a.pdf",
                "content_type": "application/pdf",
                "declared_file_size": upload_policy.MAX_FILE_BYTES + 1,
            },
            "FILE_UPLOAD_ERROR",
            "declared_file_size",
        ),
        ({"content_type": "text/plain", "declared_file_size": 10}, "BAD_REQUEST", "file_name"),
        ({"file_name": "a.txt", "declared_file_size": 10}, "BAD_REQUEST", "content_type"),
        (
            {"file_name": "a\x00.txt", "content_type": "text/plain", "declared_file_size": 10},
            "BAD_REQUEST",
            "file_name",
        ),
    ],
)
def test_create_target_refuses_bad_requests_with_400(
    http: httpx.Client, tenant: Tenant, body: dict[str, Any], code: str, field: str
) -> None:
    response = http.post(CREATE_TARGET, json=body, headers=tenant.headers)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == code and field in error["message"]


def test_create_target_needs_an_api_key(http: httpx.Client) -> None:
    body = {"file_name": "a.txt", "content_type": "text/plain", "declared_file_size": 10}
    assert http.post(CREATE_TARGET, json=body).status_code == 401


@pytest.mark.parametrize("kind", ["image/jpeg", "image/png", "image/gif", "image/webp"])
def test_images_are_taken_and_recorded_but_not_read(
    http: httpx.Client, tenant: Tenant, worker: Any, kind: str
) -> None:
    heads = {
        "image/jpeg": b"\xff\xd8\xff\xe0",
        "image/png": b"\x89PNG\r\n\x1a\n",
        "image/gif": b"GIF89a",
        "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
    }
    name = "picture" + upload_policy.CONTENT_TYPES[kind][0]
    target = upload(http, tenant, name, kind, heads[kind] + b"\x00" * 64)
    gid = generate_with(
        http,
        tenant,
        attachment(target, name, kind),
        prompt="A deck about the harbour festival and its lanterns.",
    ).json()["generation_id"]
    assert wait_for(http, tenant, gid, "completed", "failed")["status"] == "completed"


# The local POST target


def local_target(http: httpx.Client, tenant: Tenant, size: int = 100, kind: str = "text/plain"):  # type: ignore[no-untyped-def]
    response = create_target(
        http, tenant, "notes" + upload_policy.CONTENT_TYPES[kind][0], kind, size
    )
    assert response.status_code == 200, response.text
    return response.json()


def with_field(target: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    fields = [
        {"name": f["name"], "value": value if f["name"] == name else f["value"]}
        for f in target["fields"]
    ]
    return {**target, "fields": fields}


def nothing_stored(settings: Settings, target: dict[str, Any]) -> bool:
    root = Path(settings.upload_dir)
    staged = list((root / ".incoming").glob("*")) if (root / ".incoming").exists() else []
    return not (root / target["path"]).exists() and not staged


def test_a_file_larger_than_declared_is_refused_and_not_kept(
    http: httpx.Client, tenant: Tenant, settings: Settings
) -> None:
    target = local_target(http, tenant, size=1000)
    response = post_form(target, b"x" * 1001)
    assert response.status_code == 400
    assert error_of(response)["code"] == "FILE_UPLOAD_ERROR"
    assert "larger than its declared size" in error_of(response)["message"]
    assert nothing_stored(settings, target)
    large = post_form(local_target(http, tenant, size=1000), b"y" * 3_000_000)
    assert large.status_code == 400 and nothing_stored(settings, target)


def test_an_empty_file_is_refused(http: httpx.Client, tenant: Tenant, settings: Settings) -> None:
    target = local_target(http, tenant)
    response = post_form(target, b"")
    assert response.status_code == 400 and "empty" in error_of(response)["message"]
    assert nothing_stored(settings, target)


def test_a_wrong_content_type_is_refused(http: httpx.Client, tenant: Tenant) -> None:
    target = local_target(http, tenant, kind="application/pdf")
    changed = post_form(with_field(target, "Content-Type", "text/plain"), b"%PDF-1.4 ...")
    assert changed.status_code == 400 and "Content-Type" in error_of(changed)["message"]
    not_a_pdf = post_form(target, b"MZ\x90\x00 this is a program, not a PDF")
    assert not_a_pdf.status_code == 400
    assert error_of(not_a_pdf)["message"] == "The file's content is not application/pdf"
    assert post_form(target, b"%PDF-1.4 a start").status_code == 204


def test_a_tampered_or_expired_post_target_is_403(
    http: httpx.Client, tenant: Tenant, container: Container, settings: Settings
) -> None:
    target = local_target(http, tenant)
    fields = {f["name"]: f["value"] for f in target["fields"]}
    policy = upload_policy.Policy.decode(fields["policy"])
    bigger = upload_policy.Policy(
        policy.key, policy.content_type, 10**9, policy.workspace_id, policy.expires
    ).encode()
    other_key = f"{tenant.workspace_id}/att_other/notes.txt"
    for tampered in [
        with_field(target, upload_policy.SIGNATURE_FIELD, "0" * 64),
        with_field(target, "policy", bigger),
        with_field(target, "key", other_key),
    ]:
        response = post_form(tampered, b"hello")
        assert response.status_code == 403, response.text
        assert error_of(response)["code"] == "INSUFFICIENT_PRIVILEGES"
    stale = container.store.target(
        policy.key,
        "text/plain",
        100,
        tenant.workspace_id,
        int(time.time()) - upload_policy.UPLOAD_WINDOW_SECONDS - 1,
    )
    expired = post_form(
        {"url": target["url"], "fields": [{"name": n, "value": v} for n, v in stale.fields]},
        b"hello",
    )
    assert expired.status_code == 403 and "expired" in error_of(expired)["message"]
    assert nothing_stored(settings, target)


def test_the_upload_target_takes_no_api_key_and_only_multipart(
    http: httpx.Client, tenant: Tenant
) -> None:
    target = local_target(http, tenant)
    assert httpx.post(target["url"], json={"key": "x"}).status_code == 415
    no_file = httpx.post(
        target["url"],
        data={f["name"]: f["value"] for f in target["fields"]},
        files={"other": (None, b"v")},
    )
    assert no_file.status_code == 400 and error_of(no_file)["message"] == "The form has no file"


# The local GET


def test_a_tampered_or_expired_download_link_is_403(
    http: httpx.Client, tenant: Tenant, container: Container
) -> None:
    target = upload(http, tenant, "notes.txt", "text/plain", b"secret words")
    url = httpx.URL(target["download_url"])
    assert httpx.get(url).status_code == 200
    signature = url.params["signature"]
    flipped = ("1" if signature[0] == "0" else "0") + signature[1:]
    for bad in [
        url.copy_merge_params({"signature": flipped}),
        url.copy_merge_params({"expires": str(int(url.params["expires"]) + 60)}),
        url.copy_with(path=url.path.replace("notes.txt", "other.txt")),
        url.copy_remove_param("signature"),
    ]:
        response = httpx.get(bad)
        assert response.status_code == 403 and b"secret" not in response.content
    store = container.store
    assert isinstance(store, LocalStore)
    stale = store.download_url(target["path"], int(time.time()) - upload_policy.DOWNLOAD_SECONDS)
    expired = httpx.get(stale)
    assert expired.status_code == 403 and "expired" in error_of(expired)["message"]


def test_a_download_link_before_the_upload_is_404(http: httpx.Client, tenant: Tenant) -> None:
    target = local_target(http, tenant)
    assert httpx.get(target["download_url"]).status_code == 404


# Attachments: only files this service issued, to this workspace


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1:6379/",
        "file:///etc/passwd",
        "https://example.com/report.pdf",
    ],
)
def test_a_foreign_url_is_a_400_and_never_fetched(
    http: httpx.Client, tenant: Tenant, url: str
) -> None:
    response = generate_with(
        http, tenant, {"id": "a", "url": url, "file_name": "f.pdf", "type": "application/pdf"}
    )
    assert response.status_code == 400
    assert error_of(response)["message"] == "attachments[0].url: is not a file this service issued"


def test_a_lookalike_of_an_issued_url_is_a_400(http: httpx.Client, tenant: Tenant) -> None:
    target = upload(http, tenant, "notes.txt", "text/plain", text_document())
    for url in [
        target["download_url"] + "&x=1",
        target["download_url"].replace("127.0.0.1", "localhost"),
    ]:
        response = generate_with(
            http, tenant, {**attachment(target, "n.txt", "text/plain"), "url": url}
        )
        assert response.status_code == 400, url


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_another_workspaces_file_is_403(
    http: httpx.Client, tenant: Tenant, container: Container, backend: str
) -> None:
    other = make_tenant(container, "globex")
    target = upload(http, other, "notes.txt", "text/plain", text_document())
    response = generate_with(http, tenant, attachment(target, "notes.txt", "text/plain"))
    assert response.status_code == 403
    assert error_of(response)["code"] == "INSUFFICIENT_PRIVILEGES"


def test_a_file_not_yet_uploaded_or_of_another_type_is_a_400(
    http: httpx.Client, tenant: Tenant
) -> None:
    target = local_target(http, tenant)
    missing = generate_with(http, tenant, attachment(target, "notes.txt", "text/plain"))
    assert missing.status_code == 400 and "not been uploaded" in error_of(missing)["message"]
    done = upload(http, tenant, "notes.txt", "text/plain", text_document())
    wrong = generate_with(http, tenant, attachment(done, "notes.txt", "application/pdf"))
    assert wrong.status_code == 400 and "attachments[0].type" in error_of(wrong)["message"]


@pytest.mark.parametrize("backend", ["s3"])
def test_s3_objects_that_break_the_policy_are_refused_when_attached(
    http: httpx.Client, tenant: Tenant, backend: str
) -> None:
    """Real S3 enforces the presigned POST's conditions; a store that does not (moto) is
    caught when the file is attached."""
    target = create_target(http, tenant, "notes.txt", "text/plain", 10).json()
    assert post_form(target, b"far more than ten bytes").status_code == 204
    response = generate_with(http, tenant, attachment(target, "notes.txt", "text/plain"))
    assert response.status_code == 400 and error_of(response)["code"] == "FILE_UPLOAD_ERROR"
    retyped = create_target(http, tenant, "notes.txt", "text/plain", 100).json()
    assert (
        post_form(with_field(retyped, "Content-Type", "application/pdf"), b"hi").status_code == 204
    )
    response = generate_with(http, tenant, attachment(retyped, "notes.txt", "text/plain"))
    assert response.status_code == 400 and "stored as application/pdf" in response.text


# Damaged files end the job cleanly


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_corrupt_pdf_fails_the_generation_with_a_readable_error(
    http: httpx.Client, tenant: Tenant, worker: Any, backend: str
) -> None:
    corrupt = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body"
    target = upload(http, tenant, "broken.pdf", "application/pdf", corrupt)
    gid = generate_with(
        http,
        tenant,
        attachment(target, "broken.pdf", "application/pdf"),
        prompt="Summarise the attached report for the board.",
    ).json()["generation_id"]
    failed = wait_for(http, tenant, gid, "completed", "failed")
    assert failed["status"] == "failed", failed
    assert failed["error"].startswith("Attachment 'broken.pdf' could not be read: the PDF")


# Streaming: a 50 MB upload through a real edge process


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak so far) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0])
    return fields


def test_a_50_mb_upload_is_streamed_by_the_edge(
    grpc_server: Any, settings: Settings, edge_port: int, tenant: Tenant, tmp_path: Path
) -> None:
    edge = Process(
        "edge",
        [
            "serve-edge",
            "--grpc-target",
            f"127.0.0.1:{grpc_server.port}",
            "--bind",
            "127.0.0.1",
            "--http-port",
            str(edge_port),
        ],
        tmp_path,
        {
            "CHRONICLE_UPLOAD_DIR": settings.upload_dir,
            "CHRONICLE_PUBLIC_URL": settings.public_url,
            "CHRONICLE_ACCESS_LOG": "false",
        },
    ).start()
    try:
        wait_healthz(settings.public_url, edge.check_alive, edge.output)
        assert edge.process is not None
        with httpx.Client(base_url=settings.public_url, timeout=120) as client:
            upload(client, tenant, "warm-up.txt", "text/plain", b"warm up the code paths")
            size = upload_policy.MAX_FILE_BYTES
            big = tmp_path / "big.txt"
            line = b"The fifty megabyte upload streams through the edge in chunks.\n"
            big.write_bytes((line * (size // len(line) + 1))[:size])
            target = create_target(client, tenant, "big.txt", "text/plain", size).json()
            before = memory_kib(edge.process.pid)
            with big.open("rb") as f:
                response = httpx.post(
                    target["url"],
                    data={field["name"]: field["value"] for field in target["fields"]},
                    files={"file": ("big.txt", f, "text/plain")},
                    timeout=120,
                )
            assert response.status_code == 204, response.text
            after = memory_kib(edge.process.pid)
        growth_mib = (after["VmHWM"] - before["VmRSS"]) / 1024
        assert growth_mib < 20, (before, after)  # the file is 50 MiB
        stored = Path(settings.upload_dir) / target["path"]
        assert stored.stat().st_size == size
    finally:
        edge.stop()
