"""The local upload backend's two routes, served by the edge without an API key: the
signed form POST (streamed to disk, never whole in memory) and the signed GET.

The signature is the credential: the POST's policy names one key, one content type, a
maximum size and an expiry; the GET's URL names one key and an expiry.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import IO

from python_multipart.multipart import (
    MAX_BOUNDARY_LENGTH,
    MultipartParser,
    parse_options_header,
)
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from chronicle import upload_policy
from chronicle.config import Settings
from chronicle.v1.error_reason_pb2 import ErrorReason
from edge.content_length import declared_length
from edge.errors import HttpError, Refused, error_response

# Form fields before the file: a few short values (the policy is the longest, < 1 KiB).
MAX_FIELD_BYTES = 8 * 1024
MAX_FIELDS = 8
# Multipart framing around the file (boundaries, part headers, the fields).
FORM_OVERHEAD_BYTES = 64 * 1024
INCOMING = ".incoming"
# The most a whole upload request may carry.
MAX_BODY_BYTES = upload_policy.MAX_FILE_BYTES + FORM_OVERHEAD_BYTES


def _bad_file(message: str) -> Refused:
    return Refused(HttpError.of(400, message, ErrorReason.FILE_UPLOAD_ERROR))


def _forbidden(message: str) -> Refused:
    return Refused(HttpError.of(403, message))


class _TooLarge(Refused):
    """A body over MAX_BODY_BYTES: answered at once and the connection closed, so that
    nothing more of it is read."""

    def __init__(self) -> None:
        error = HttpError.of(413, f"The upload exceeds {upload_policy.MAX_FILE_BYTES} bytes")
        super().__init__(replace(error, headers={"connection": "close"}))


class _FormReceiver:
    """Callbacks of python-multipart's streaming parser: collects the (few, short) fields,
    checks the policy once the file part starts, then writes the file's bytes to a
    temporary file as they arrive, counting them against the policy's maximum."""

    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root
        self.secret = secret
        self.fields: dict[str, str] = {}
        self.policy: upload_policy.Policy | None = None
        self.staged: Path | None = None
        self.done = False
        self._file: IO[bytes] | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._value = bytearray()
        self._in_file = False
        self._written = 0
        self._head = bytearray()
        self._sniffed = False

    # Part headers
    def on_part_begin(self) -> None:
        self._headers, self._value = {}, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        if self.done:
            return
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"filename" in options or options.get(b"name") == b"file":
            self._begin_file()
        elif len(self.fields) >= MAX_FIELDS:
            raise _bad_file("Too many form fields")

    # Part bodies
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.done:
            return  # S3 ignores what follows the file; so do we
        if not self._in_file:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise _bad_file("A form field is too long")
            return
        assert self._file is not None and self.policy is not None
        size = end - start
        self._written += size
        if self._written > self.policy.max_bytes:
            raise _bad_file(
                f"The file is larger than its declared size ({self.policy.max_bytes} bytes)"
            )
        if not self._sniffed:
            self._head += data[start : min(end, start + upload_policy.SNIFF_BYTES)]
            if len(self._head) >= upload_policy.SNIFF_BYTES:
                self._sniff()
        self._file.write(data[start:end])

    def on_part_end(self) -> None:
        if self.done:
            return
        if not self._in_file:
            _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
            name = options.get(b"name", b"").decode("utf-8", "replace")
            self.fields[name] = self._value.decode("utf-8", "replace")
            return
        if self._written == 0:
            raise _bad_file("The file is empty")
        if not self._sniffed:
            self._sniff()
        assert self._file is not None
        self._file.close()
        self._file, self._in_file, self.done = None, False, True

    def _sniff(self) -> None:
        assert self.policy is not None
        self._sniffed = True
        if not upload_policy.looks_like(self.policy.content_type, bytes(self._head)):
            raise _bad_file(f"The file's content is not {self.policy.content_type}")

    def _begin_file(self) -> None:
        try:
            policy = upload_policy.verify_policy(
                self.secret,
                self.fields.get("policy", ""),
                self.fields.get(upload_policy.SIGNATURE_FIELD, ""),
            )
        except upload_policy.SignatureError as exc:
            raise _forbidden(str(exc)) from None
        unknown = set(self.fields) - set(upload_policy.FORM_FIELDS)
        if unknown:
            raise _forbidden(f"The form field {sorted(unknown)[0]!r} is not in the policy")
        if self.fields.get("key") != policy.key:
            raise _forbidden("The key does not match the policy")
        if self.fields.get("Content-Type") != policy.content_type:
            raise _bad_file(f"The Content-Type field must be {policy.content_type}")
        self.policy = policy
        incoming = self.root / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        self.staged = incoming / secrets.token_hex(16)
        self._file = self.staged.open("wb")
        self._in_file = True

    def close(self) -> None:
        """Drops the staged file unless it was moved into place."""
        if self._file is not None:
            self._file.close()
        if self.staged is not None:
            with contextlib.suppress(FileNotFoundError):
                self.staged.unlink()


def upload_routes(settings: Settings) -> list[Route]:
    """The POST target and the signed GET, for the local backend (none for S3)."""
    if settings.upload_backend != "local":
        return []
    # The parser warns once per malformed body, which anyone can send: the client gets
    # its 400, and the log stays readable.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    root = Path(settings.upload_dir).resolve()

    @functools.cache
    def secret() -> bytes:  # read (or made) on first use, like the server's store
        return upload_policy.load_signing_key(settings.upload_signing_key, root)

    async def receive(request: Request) -> Response:
        body = _Body(request)
        try:
            return await _receive(request, body, root, secret())
        except _TooLarge as refused:
            return error_response(refused.error)
        except Refused as refused:
            if await body.drain():
                return error_response(refused.error)
            closing = {**refused.error.headers, "connection": "close"}
            return error_response(replace(refused.error, headers=closing))

    async def download(request: Request) -> Response:
        key = request.path_params["key"]
        query = request.query_params
        expires, signature = query.get("expires", ""), query.get("signature", "")
        try:
            upload_policy.verify_download(secret(), key, expires, signature)
        except upload_policy.SignatureError as exc:
            return error_response(HttpError.of(403, str(exc)))
        path = upload_policy.local_path(root, key)
        if not path.is_file():
            return error_response(HttpError.of(404, "No file was uploaded to this link"))
        return FileResponse(
            path,
            media_type=upload_policy.type_for_name(path.name),
            headers={"x-content-type-options": "nosniff", "cache-control": "private"},
            content_disposition_type="attachment",
            filename=path.name,
        )

    return [
        Route(upload_policy.LOCAL_UPLOAD_PATH, receive, methods=["POST"]),
        Route(upload_policy.LOCAL_UPLOAD_PATH + "/{key:path}", download, methods=["GET"]),
    ]


class _Body:
    """The request body as it arrives, remembering whether all of it has."""

    def __init__(self, request: Request) -> None:
        self._receive = request.receive
        self.complete = False
        self.size = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        """The chunks as they arrive; _TooLarge as soon as they pass MAX_BODY_BYTES (a
        chunked body declares no length to refuse up front)."""
        while not self.complete:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            self.complete = not message.get("more_body", False)
            body: bytes = message.get("body", b"")
            self.size += len(body)
            if self.size > MAX_BODY_BYTES:
                raise _TooLarge()
            if body:
                yield body

    async def drain(self) -> bool:
        """Reads (and drops) what the client is still sending, within the upload limit,
        so that it reads our answer instead of a reset connection; False when the body
        went past the limit (the connection is then closed, unread)."""
        try:
            async for _chunk in self.chunks():
                pass
        except _TooLarge:
            return False
        return True


def _boundary(request: Request) -> bytes:
    """The multipart boundary, once the headers show a body worth reading."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Refused(HttpError.of(415, "Send the upload as multipart/form-data"))
    if len(boundary) > MAX_BOUNDARY_LENGTH:
        raise _bad_file(f"The multipart boundary is longer than {MAX_BOUNDARY_LENGTH} characters")
    length = declared_length(request)
    if length is not None and length > MAX_BODY_BYTES:
        raise _TooLarge()
    return boundary


async def _receive(request: Request, body: _Body, root: Path, secret: bytes) -> Response:
    boundary = _boundary(request)
    form = _FormReceiver(root, secret)
    callbacks = {name: getattr(form, name) for name in dir(form) if name.startswith("on_")}
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        async for chunk in body.chunks():
            parser.write(chunk)
            if form.done:
                break
        if not form.done:
            if form.staged is None:
                raise _bad_file("The form has no file")
            raise _bad_file("The upload ended before the file did")
        assert form.staged is not None and form.policy is not None
        final = upload_policy.local_path(root, form.policy.key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(form.staged, final)
        form.staged = None
    except Refused:
        raise
    except Exception as exc:  # the parser's errors: a malformed body
        if type(exc).__module__.startswith("python_multipart"):
            raise _bad_file("The multipart body is malformed") from None
        raise
    finally:
        form.close()
    return Response(status_code=204)
