"""Replies of type google.api.HttpBody served as what they hold: the bytes with their
content type, as grpc-gateway serves them; a file to download (a FileDownload in the
extensions) as an attachment named per RFC 6266."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from google.api import httpbody_pb2
from google.protobuf.message import Message
from starlette.responses import Response

from chronicle.v1 import presentation_pb2

_FALLBACK_NAME = "download"
# A type we did not set would be sniffed or rendered by a browser: never trusted as given.
_DEFAULT_TYPE = "application/octet-stream"


def body_response(reply: Message, status: int, headers: dict[str, str]) -> Response:
    assert isinstance(reply, httpbody_pb2.HttpBody)
    headers = {**headers, "x-content-type-options": "nosniff"}
    for extension in reply.extensions:
        if extension.Is(presentation_pb2.FileDownload.DESCRIPTOR):
            download = presentation_pb2.FileDownload()
            extension.Unpack(download)
            headers["content-disposition"] = attachment(download.file_name)
    content_type = reply.content_type if reply.content_type.isascii() else ""
    return Response(
        reply.data, status_code=status, media_type=content_type or _DEFAULT_TYPE, headers=headers
    )


def attachment(file_name: str) -> str:
    """`attachment; filename="…"; filename*=UTF-8''…`: an ASCII name every client reads
    (quotes, backslashes and controls replaced), and the exact name for those that
    read RFC 5987's encoding (all current browsers)."""
    name = "".join(c for c in file_name if c.isprintable()).strip() or _FALLBACK_NAME
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = "".join("_" if c in '"\\' else c for c in ascii_name).strip()
    stem = ascii_name.rpartition(".")[0] if "." in ascii_name else ascii_name
    if not stem.strip("._ "):  # nothing of the name's stem was ASCII
        extension = name.rpartition(".")[2] if "." in name else ""
        ascii_name = _FALLBACK_NAME + (f".{extension}" if extension.isascii() and extension else "")
    encoded = quote(name, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
