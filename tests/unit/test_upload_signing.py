"""Local upload targets and download links: signatures, expiry, keys, file types."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest

from chronicle import upload_policy

SECRET = b"s" * 32
KEY = "ws_abc/att_def/report.pdf"


def policy(expires_in: int = 60) -> upload_policy.Policy:
    return upload_policy.Policy(
        KEY, upload_policy.PDF, 1000, "ws_abc", int(time.time()) + expires_in
    )


def test_a_signed_policy_verifies_and_round_trips() -> None:
    encoded, signature = upload_policy.sign_policy(SECRET, policy())
    assert upload_policy.verify_policy(SECRET, encoded, signature) == policy()
    document = json.loads(base64.b64decode(encoded))
    assert ["content-length-range", 1, 1000] in document["conditions"]


def test_a_tampered_policy_or_signature_or_secret_is_refused() -> None:
    encoded, signature = upload_policy.sign_policy(SECRET, policy())
    bigger = upload_policy.Policy(
        KEY, upload_policy.PDF, 10**9, "ws_abc", policy().expires
    ).encode()
    for args in [
        (SECRET, bigger, signature),
        (SECRET, encoded, "0" * 64),
        (b"other" * 8, encoded, signature),
    ]:
        with pytest.raises(upload_policy.SignatureError, match="signature is invalid"):
            upload_policy.verify_policy(*args)


def test_an_expired_policy_is_refused() -> None:
    encoded, signature = upload_policy.sign_policy(SECRET, policy(expires_in=-1))
    with pytest.raises(upload_policy.SignatureError, match="expired"):
        upload_policy.verify_policy(SECRET, encoded, signature)


def test_download_links_verify_until_they_expire() -> None:
    expires = int(time.time()) + 60
    signature = upload_policy.sign_download(SECRET, KEY, expires)
    upload_policy.verify_download(SECRET, KEY, str(expires), signature)
    with pytest.raises(upload_policy.SignatureError, match="invalid"):
        upload_policy.verify_download(SECRET, "ws_abc/att_def/other.pdf", str(expires), signature)
    with pytest.raises(upload_policy.SignatureError, match="invalid"):
        upload_policy.verify_download(SECRET, KEY, str(expires + 1), signature)
    with pytest.raises(upload_policy.SignatureError, match="expired"):
        upload_policy.verify_download(SECRET, KEY, str(expires), signature, now=expires)
    with pytest.raises(upload_policy.SignatureError, match="malformed"):
        upload_policy.verify_download(SECRET, KEY, "soon", signature)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "ws_a/att_b/../../x",
        "ws_a/att_b/..",
        "ws_a/att_b/.signing-key",
        "ws_a/../att_b/x",
        "/abs/att_b/x",
        "ws_a/att_b/c/d",
    ],
)
def test_no_key_can_name_a_path_outside_its_directory(key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        upload_policy.local_path(tmp_path, key)


@pytest.mark.parametrize(
    ("name", "kind", "stored"),
    [
        ("Q3 report (final).pdf", upload_policy.PDF, "Q3_report_final_.pdf"),
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("notes.MD", "text/markdown", "notes.MD"),
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("...", "image/png", "file.png"),
        ("report.pdf", "text/plain", "report.pdf.txt"),
    ],
)
def test_object_names_are_safe_and_end_in_their_type(name: str, kind: str, stored: str) -> None:
    assert upload_policy.object_name(name, kind) == stored
    assert upload_policy.KEY.fullmatch(f"ws_a/att_b/{stored}")


def test_content_types_are_normalized_and_limited() -> None:
    assert upload_policy.normalized_type("Text/Plain; charset=utf-8") == "text/plain"
    assert upload_policy.normalized_type("image/jpg") == "image/jpeg"
    assert upload_policy.normalized_type("application/x-msdownload") is None
    assert upload_policy.normalized_type("text/html") is None


@pytest.mark.parametrize(
    ("kind", "head", "fits"),
    [
        (upload_policy.PDF, b"%PDF-1.7\n", True),
        (upload_policy.PDF, b"hello", False),
        (upload_policy.PPTX, b"PK\x03\x04rest", True),
        ("image/png", b"\x89PNG\r\n\x1a\n", True),
        ("image/png", b"GIF89a", False),
        ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
        ("image/webp", b"RIFF\x00\x00\x00\x00WAVE", False),
        ("text/plain", b"plain words", True),
        ("text/plain", b"\x7fELF\x02\x01\x01\x00", False),
    ],
)
def test_first_bytes_must_fit_the_type(kind: str, head: bytes, fits: bool) -> None:
    assert upload_policy.looks_like(kind, head) is fits


def test_the_embedded_signing_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = upload_policy.load_signing_key("", tmp_path / "uploads")
    assert first == upload_policy.load_signing_key("", tmp_path / "uploads") and len(first) == 64
    assert os.stat(tmp_path / "uploads" / upload_policy.SIGNING_KEY_FILE).st_mode & 0o077 == 0
    assert upload_policy.load_signing_key("configured", tmp_path / "uploads") == b"configured"


def test_the_access_log_keeps_no_signature() -> None:
    import logging

    from edge.redaction import RedactSecrets

    path = "/api/v1/uploads/local/ws_a/att_b/n.txt?expires=1&signature=abcdef0123&x=1"
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s %s", ("GET", path), None)
    assert RedactSecrets().filter(record)
    assert record.getMessage() == (
        "GET /api/v1/uploads/local/ws_a/att_b/n.txt?expires=1&signature=(redacted)&x=1"
    )


@pytest.mark.parametrize(
    ("key", "expires", "signature"),
    [
        ("ws_a/att_b/f.pdf", "²", "0" * 64),
        ("ws_a/att_b/f.pdf", "9" * 5000, "0" * 64),
        ("ws_a/att_b/f.pdf", "1", "é" * 64),
        ("ws_a/att_b/f.pdf\n", "1", "0" * 64),
    ],
)
def test_a_malformed_download_link_is_a_signature_error(
    key: str, expires: str, signature: str
) -> None:
    """Whoever calls it, not only the edge's route: never ValueError or TypeError."""
    with pytest.raises(upload_policy.SignatureError):
        upload_policy.verify_download(b"s" * 32, key, expires, signature)
