"""What the server and the edge agree on about uploads: the file types taken, the size
limit, the object keys, and the HMAC signatures of local upload targets and downloads.

The local backend's targets have the shape of an S3 presigned POST: form fields `key`,
`Content-Type`, `policy` (base64 JSON: expiry and conditions) and `x-chronicle-signature`
(HMAC-SHA256 of the policy). Downloads carry `expires` and `signature` query parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# 50 MB, in the binary sense: 52,428,800 bytes.
MAX_FILE_BYTES = 50 * 1024 * 1024
# How long a target takes uploads, and how long a download URL works (S3's own maximum).
UPLOAD_WINDOW_SECONDS = 3600
DOWNLOAD_SECONDS = 7 * 86400

PDF = "application/pdf"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# Content type → the file name extensions that go with it (the first is canonical).
CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "text/plain": (".txt",),
    "text/markdown": (".md", ".markdown"),
    PDF: (".pdf",),
    PPTX: (".pptx",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
}
ALIASES = {"text/x-markdown": "text/markdown", "image/jpg": "image/jpeg"}
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})

LOCAL_UPLOAD_PATH = "/api/v1/uploads/local"
SIGNATURE_FIELD = "x-chronicle-signature"
FORM_FIELDS = ("key", "Content-Type", "policy", SIGNATURE_FIELD)
# ws_…/att_…/name.ext: all a key may ever look like, so no key can leave the directory.
# Matched whole (fullmatch): `$` would also match before a trailing newline.
KEY = re.compile(r"ws_[0-9A-Za-z]{1,40}/att_[0-9A-Za-z]{1,40}/[0-9A-Za-z_-][0-9A-Za-z._-]{0,119}")
# What a signed value can look like, checked before any parsing: `str.isdigit` takes "²",
# `int()` refuses over 4,300 digits and `hmac.compare_digest` refuses non-ASCII text.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
SIGNING_KEY_FILE = ".signing-key"
SNIFF_BYTES = 1024


def normalized_type(value: str) -> str | None:
    """The content type we store for `value` (`Text/Plain; charset=utf-8` → `text/plain`),
    or None when it is not one we take."""
    kind = value.split(";", maxsplit=1)[0].strip().lower()
    kind = ALIASES.get(kind, kind)
    return kind if kind in CONTENT_TYPES else None


def type_for_name(name: str) -> str:
    """The content type a stored object's name implies (its extension)."""
    suffix = os.path.splitext(name)[1].lower()
    for kind, suffixes in CONTENT_TYPES.items():
        if suffix in suffixes:
            return kind
    return "application/octet-stream"


def object_name(file_name: str, content_type: str) -> str:
    """A safe name for the stored object: the client's name reduced to [A-Za-z0-9._-],
    ending in an extension of its content type."""
    base = os.path.basename(file_name.replace("\\", "/"))
    safe = re.sub(r"[^0-9A-Za-z._-]+", "_", base).strip("._")[:100] or "file"
    if os.path.splitext(safe)[1].lower() not in CONTENT_TYPES[content_type]:
        safe += CONTENT_TYPES[content_type][0]
    return safe


# The first bytes of each binary type (a magic-number check); text is anything without NUL.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    PPTX: (b"PK\x03\x04",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def looks_like(content_type: str, head: bytes) -> bool:
    """Whether the first bytes of a file fit its content type."""
    if content_type == PDF:  # the header may follow some junk, as readers allow
        return b"%PDF-" in head[:SNIFF_BYTES]
    if content_type in TEXT_TYPES:
        return b"\x00" not in head
    if content_type == "image/webp" and head[8:12] != b"WEBP":
        return False
    return head.startswith(_MAGIC[content_type])


# Signatures


class SignatureError(ValueError):
    """A signature that does not verify, or one that has expired."""


def load_signing_key(configured: str, directory: str | os.PathLike[str]) -> bytes:
    """The configured secret, or one generated once and kept in `directory` (0600), which
    every process on this machine that shares the directory reads: the embedded default.
    Processes on several machines set CHRONICLE_UPLOAD_SIGNING_KEY alike instead."""
    if configured:
        return configured.encode()
    root = Path(directory)
    path = root / SIGNING_KEY_FILE
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        staged = root / f"{SIGNING_KEY_FILE}.{secrets.token_hex(8)}"
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(staged, path)  # atomic, and loses to a process that got there first
        except FileExistsError:
            pass
        finally:
            staged.unlink()
    return path.read_text().strip().encode()


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


@dataclass(frozen=True)
class Policy:
    """What a local upload target allows: one key, one content type, up to max_bytes,
    for one workspace, until `expires` (unix seconds)."""

    key: str
    content_type: str
    max_bytes: int
    workspace_id: str
    expires: int

    def encode(self) -> str:
        expiration = datetime.fromtimestamp(self.expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        document = {
            "expiration": expiration,
            "conditions": [
                {"key": self.key},
                {"Content-Type": self.content_type},
                ["content-length-range", 1, self.max_bytes],
                {"x-chronicle-workspace": self.workspace_id},
            ],
        }
        return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, text: str) -> Policy:
        try:
            document = json.loads(base64.b64decode(text, validate=True))
            conditions = document["conditions"]
            expires = datetime.strptime(document["expiration"], "%Y-%m-%dT%H:%M:%SZ")
            return cls(
                key=conditions[0]["key"],
                content_type=conditions[1]["Content-Type"],
                max_bytes=int(conditions[2][2]),
                workspace_id=conditions[3]["x-chronicle-workspace"],
                expires=int(expires.replace(tzinfo=UTC).timestamp()),
            )
        except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
            raise SignatureError("The upload policy is malformed") from None


def sign_policy(secret: bytes, policy: Policy) -> tuple[str, str]:
    """(policy, signature) form field values."""
    encoded = policy.encode()
    return encoded, _mac(secret, f"POST\n{encoded}")


def verify_policy(secret: bytes, encoded: str, signature: str, now: int | None = None) -> Policy:
    if not _SIGNATURE.fullmatch(signature):
        raise SignatureError("The upload signature is invalid")
    if not hmac.compare_digest(_mac(secret, f"POST\n{encoded}"), signature):
        raise SignatureError("The upload signature is invalid")
    policy = Policy.decode(encoded)
    if (now or _now()) >= policy.expires:
        raise SignatureError("The upload target has expired; ask for a new one")
    if not KEY.fullmatch(policy.key):
        raise SignatureError("The upload policy is malformed")
    return policy


def sign_download(secret: bytes, key: str, expires: int) -> str:
    return _mac(secret, f"GET\n{key}\n{expires}")


def verify_download(
    secret: bytes, key: str, expires: str, signature: str, now: int | None = None
) -> None:
    if not (_UNIX_SECONDS.fullmatch(expires) and KEY.fullmatch(key)):
        raise SignatureError("The download link is malformed")
    if not _SIGNATURE.fullmatch(signature):
        raise SignatureError("The download signature is invalid")
    if not hmac.compare_digest(sign_download(secret, key, int(expires)), signature):
        raise SignatureError("The download signature is invalid")
    if (now or _now()) >= int(expires):
        raise SignatureError("The download link has expired")


def local_path(root: str | os.PathLike[str], key: str) -> Path:
    """Where the object `key` lives under `root`; ValueError for a key of another shape."""
    if not KEY.fullmatch(key):
        raise ValueError("not an object key")
    return Path(root).resolve() / key


def url_digest(url: str) -> str:
    """How an issued download URL is looked up: its SHA-256 (URLs can be long)."""
    return hashlib.sha256(url.encode()).hexdigest()
