"""ViewerService: the decks Chronicle's own pages show (services.viewing decides who
sees what)."""

from __future__ import annotations

from google.api import httpbody_pb2

from chronicle.v1 import (
    generation_pb2,
    presentation_pb2,
    viewer_service_pb2,
    viewer_service_pb2_grpc,
)
from server import convert
from server.auth import current_principal
from server.files.store import FileStore
from server.servicers import PrincipalOf, UowFactory
from server.services import exports, viewing


class ViewerServicer(viewer_service_pb2_grpc.ViewerServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        uow: UowFactory,
        app_url: str,
        store: FileStore | None,
        render: exports.Render = exports.render_here,
        principal_of: PrincipalOf = current_principal,
    ) -> None:
        self._uow = uow
        self._render = render
        self._app_url = app_url
        self._store = store
        self._principal_of = principal_of

    def _deck(self, presentation_id: str, context: object) -> presentation_pb2.Presentation:
        with self._uow() as uow:
            view = viewing.viewable_presentation(uow, self._principal_of(context), presentation_id)
            return convert.presentation_view(view, self._app_url)

    def GetDeck(
        self, request: viewer_service_pb2.GetDeckRequest, context: object
    ) -> presentation_pb2.Presentation:
        return self._deck(request.id, context)

    def ExportDeck(
        self, request: viewer_service_pb2.ExportDeckRequest, context: object
    ) -> httpbody_pb2.HttpBody:
        deck = self._deck(request.id, context)
        fmt = exports.export_format(request.format)
        with self._uow() as uow:
            images = exports.deck_images(uow, self._store, deck)
        return convert.download(exports.export_deck(deck, fmt, images, self._render))

    def GetDeckImage(
        self, request: viewer_service_pb2.GetDeckImageRequest, context: object
    ) -> httpbody_pb2.HttpBody:
        deck = self._deck(request.id, context)
        with self._uow() as uow:
            data, content_type = viewing.deck_image(
                uow, self._store, deck, request.section, request.block
            )
        return convert.image(data, content_type)

    def GetDeckGeneration(
        self, request: viewer_service_pb2.GetDeckGenerationRequest, context: object
    ) -> generation_pb2.GenerationStatus:
        with self._uow() as uow:
            view = viewing.viewable_generation(
                uow, self._principal_of(context), request.generation_id
            )
            return convert.generation_status(view.job, view.deck, self._app_url)
