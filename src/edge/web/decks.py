"""The deck at its `url`: the viewer, present mode, downloads, and a generation's
progress page (decision 032). ViewerService decides who sees what: a public deck
anyone, a private one a signed-in member of its workspace; anything else is the same
404 as an unknown id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from google.protobuf import descriptor
from google.protobuf.message import Message
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from chronicle.v1 import generation_pb2, presentation_pb2, viewer_service_pb2
from chronicle.v1.error_reason_pb2 import ErrorReason
from edge.errors import HttpError
from edge.http_body import body_response
from edge.upstream import rpc
from edge.web.site import PageCall, PageError, SignInNeeded, Site, when

GET_DECK = rpc(viewer_service_pb2, "ViewerService", "GetDeck")
EXPORT_DECK = rpc(viewer_service_pb2, "ViewerService", "ExportDeck")
GET_IMAGE = rpc(viewer_service_pb2, "ViewerService", "GetDeckImage")
GET_GENERATION = rpc(viewer_service_pb2, "ViewerService", "GetDeckGeneration")
NO_DECK = "There is no presentation here, or it is not shared with you."
DONE = "completed"
DECK_NOT_FOUND = ErrorReason.Name(ErrorReason.DOCUMENT_NOT_FOUND)


def app_path(app_url: str) -> str:
    """Where the decks' `url`s point on this edge: the path of CHRONICLE_APP_URL."""
    return urlsplit(app_url).path.rstrip("/")


# What the template draws: each block flattened to the fields its kind uses.
@dataclass(frozen=True)
class Block:
    kind: str
    text: str = ""
    level: int = 0
    items: tuple[str, ...] = ()
    ordered: bool = False
    attribution: str = ""
    image_src: str = ""
    alt: str = ""
    caption: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Slide:
    number: int
    title: str
    layout: str
    blocks: tuple[Block, ...]
    notes: str
    columns: tuple[tuple[Block, ...], ...] = field(default=())


class DeckPages:
    def __init__(self, site: Site, app_url: str) -> None:
        self._site = site
        self._root = app_path(app_url)

    def routes(self) -> list[Route]:
        page, root = self._site.page, self._root
        return [
            Route(root + "/presentations/{id}", page(self._deck), methods=["GET", "HEAD"]),
            Route(root + "/presentations/{id}/export", page(self._export), methods=["GET"]),
            Route(
                root + "/presentations/{id}/images/{section:int}/{block:int}",
                page(self._image),
                methods=["GET"],
            ),
            Route(root + "/generations/{id}", page(self._generation), methods=["GET", "HEAD"]),
            Route(root + "/generations/{id}/progress", page(self._progress), methods=["GET"]),
        ]

    async def _viewer_call(
        self, call: PageCall, method: descriptor.MethodDescriptor, message: Message
    ) -> Message:
        """A ViewerService call as this person: a stale session is dropped (the deck
        may be public); for no one signed in, "not found" asks them to sign in, which
        tells nothing about whether the deck exists."""
        try:
            return await self._site.call(call, method, message, sign_in_on_401=False)
        except PageError as failed:
            if failed.error.status == 401 and call.session is not None:
                call.session, call.stale_session = None, True  # the deck may be public
                return await self._viewer_call(call, method, message)
            if failed.error.code == DECK_NOT_FOUND:  # not an image of a deck they see
                if call.session is None:
                    raise SignInNeeded() from None
                raise PageError(HttpError.of(404, NO_DECK)) from None
            raise

    async def _deck(self, call: PageCall) -> Response:
        deck_id = call.request.path_params["id"]
        deck = await self._viewer_call(
            call, GET_DECK, viewer_service_pb2.GetDeckRequest(id=deck_id)
        )
        assert isinstance(deck, presentation_pb2.Presentation)
        user = await self._site.signed_in(call) if call.session is not None else None
        base = f"{self._root}/presentations/{deck.id}"
        return self._site.render(
            call,
            "deck.html",
            200,
            user=user,
            deck=deck,
            slides=[_slide(n, section, base) for n, section in enumerate(deck.sections, 1)],
            presenting=call.request.query_params.get("present") == "1",
            base=base,
            updated=when(deck.updated_at if deck.HasField("updated_at") else None),
        )

    async def _export(self, call: PageCall) -> Response:
        if call.request.method == "HEAD":  # a file made only to be thrown away
            error = HttpError.of(405, "Download the file with GET")
            error.headers["allow"] = "GET"
            raise PageError(error)
        request = viewer_service_pb2.ExportDeckRequest(
            id=call.request.path_params["id"], format=call.request.query_params.get("format", "")
        )
        reply = await self._viewer_call(call, EXPORT_DECK, request)
        return body_response(reply, 200, {"cache-control": "no-store"})

    async def _image(self, call: PageCall) -> Response:
        params = call.request.path_params
        if not (0 <= params["section"] < 10_000 and 0 <= params["block"] < 10_000):
            raise PageError(HttpError.of(404, "No such image"))
        request = viewer_service_pb2.GetDeckImageRequest(
            id=params["id"], section=params["section"], block=params["block"]
        )
        reply = await self._viewer_call(call, GET_IMAGE, request)
        return body_response(reply, 200, {"cache-control": "private, max-age=300"})

    async def _status(self, call: PageCall) -> generation_pb2.GenerationStatus:
        """A generation of the signed-in person's workspace; signing in first."""
        if call.session is None:
            raise SignInNeeded()
        request = viewer_service_pb2.GetDeckGenerationRequest(
            generation_id=call.request.path_params["id"]
        )
        try:
            reply = await self._site.call(call, GET_GENERATION, request)
        except PageError as failed:
            if failed.error.status == 404:
                raise PageError(HttpError.of(404, "There is no generation here.")) from None
            raise
        assert isinstance(reply, generation_pb2.GenerationStatus)
        return reply

    async def _generation(self, call: PageCall) -> Response:
        status = await self._status(call)
        if status.status == DONE and status.presentation.id:
            return RedirectResponse(
                f"{self._root}/presentations/{status.presentation.id}", status_code=303
            )
        user = await self._site.user(call)
        return self._site.render(
            call,
            "generation.html",
            200,
            user=user,
            status=status,
            progress=_progress(status),
            request_path=call.request.url.path,
        )

    async def _progress(self, call: PageCall) -> Response:
        """The progress page's polling: what changed, as JSON for its script."""
        status = await self._status(call)
        done = status.status == DONE and bool(status.presentation.id)
        return JSONResponse(
            {
                "status": status.status,
                "step": status.progress.current_step,
                "percent": _progress(status),
                "message": status.error if status.HasField("error") else "",
                "deck": f"{self._root}/presentations/{status.presentation.id}" if done else "",
            },
            headers={"cache-control": "no-store"},
        )


def _progress(status: generation_pb2.GenerationStatus) -> int:
    total = status.progress.slides_total
    return int(100 * status.progress.slides_completed / total) if total > 0 else 0


_Builder = Callable[[presentation_pb2.ContentBlock, str], Block]
_BLOCKS: dict[str, _Builder] = {
    "heading": lambda b, _: Block(
        "heading", text=b.heading.text, level=min(max(b.heading.level, 1), 3)
    ),
    "paragraph": lambda b, _: Block("paragraph", text=b.paragraph.text),
    "bullet_list": lambda b, _: Block(
        "bullet_list", items=tuple(b.bullet_list.items), ordered=b.bullet_list.ordered
    ),
    "quote": lambda b, _: Block("quote", text=b.quote.text, attribution=b.quote.attribution),
    "image": lambda b, src: Block(
        "image", image_src=src, alt=b.image.alt_text, caption=b.image.caption
    ),
    "table": lambda b, _: Block(
        "table",
        header=tuple(b.table.header),
        rows=tuple(tuple(row.cells) for row in b.table.rows),
    ),
}


def _block(block: presentation_pb2.ContentBlock, image_src: str) -> Block:
    build = _BLOCKS.get(block.WhichOneof("kind") or "")
    return build(block, image_src) if build is not None else Block("empty")


def _slide(number: int, section: presentation_pb2.Section, base: str) -> Slide:
    blocks = tuple(
        _block(block, f"{base}/images/{number - 1}/{index}")
        for index, block in enumerate(section.blocks)
    )
    half = (len(blocks) + 1) // 2
    columns = (blocks[:half], blocks[half:]) if section.layout == "two_column" else ()
    return Slide(number, section.title, section.layout, blocks, section.speaker_notes, columns)
