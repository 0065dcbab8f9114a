"""PresentationService: templates, presentations, generation and uploads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from google.api import httpbody_pb2
from google.protobuf import empty_pb2

from chronicle import contract
from chronicle.v1 import generation_pb2, presentation_pb2, presentation_service_pb2_grpc
from chronicle.v1 import presentation_service_pb2 as pres_pb
from server import convert
from server.auth import Principal, current_principal
from server.errors import InvalidArgument, NotImplementedYet
from server.files.store import FileStore
from server.servicers import PrincipalOf, UowFactory
from server.services import exports, jobs, uploads
from server.services import presentations as service
from server.vocabulary import JobState

WATCH_SECONDS = 600.0
WATCH_POLL_SECONDS = 0.2


class PresentationServicer(presentation_service_pb2_grpc.PresentationServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        uow: UowFactory,
        app_url: str,
        principal_of: PrincipalOf = current_principal,
        store: FileStore | None = None,
        render: exports.Render = exports.render_here,
    ) -> None:
        """`render` makes an export's file (the server: in child processes)."""
        self._uow = uow
        self._render = render
        self._app_url = app_url
        self._principal_of = principal_of
        self._store = store  # where uploads go; None: uploads are not available

    def ListTemplates(
        self, request: pres_pb.ListTemplatesRequest, context: object
    ) -> pres_pb.ListTemplatesResponse:
        with self._uow() as uow:
            rows = service.list_templates(uow, self._principal_of(context))
            return pres_pb.ListTemplatesResponse(templates=[convert.template(r) for r in rows])

    def CreatePresentation(
        self, request: pres_pb.CreatePresentationRequest, context: object
    ) -> presentation_pb2.Presentation:
        with self._uow() as uow:
            row = service.create_presentation(
                uow,
                self._principal_of(context),
                request.template_id,
                list(request.selected_section_ids),
            )
            return convert.presentation(row, self._app_url)

    def GetPresentation(
        self, request: pres_pb.GetPresentationRequest, context: object
    ) -> presentation_pb2.Presentation:
        with self._uow() as uow:
            view = service.get_presentation(uow, self._principal_of(context), request.id)
            return convert.presentation_view(view, self._app_url)

    def ExportPresentation(
        self, request: pres_pb.ExportPresentationRequest, context: object
    ) -> httpbody_pb2.HttpBody:
        with self._uow() as uow:  # whose deck first: a 403 says nothing of the format
            view = service.get_presentation(uow, self._principal_of(context), request.id)
            fmt = exports.export_format(request.format)
            deck = convert.presentation_view(view, self._app_url)
            images = exports.deck_images(uow, self._store, deck)
        return convert.download(exports.export_deck(deck, fmt, images, self._render))

    def UpdatePresentation(
        self, request: pres_pb.UpdatePresentationRequest, context: object
    ) -> presentation_pb2.Presentation:
        with self._uow() as uow:
            row = service.update_presentation(
                uow, self._principal_of(context), request.id, _changes(request)
            )
            return convert.presentation(row, self._app_url)

    def ListPresentations(
        self, request: pres_pb.ListPresentationsRequest, context: object
    ) -> pres_pb.ListPresentationsResponse:
        with self._uow() as uow:
            rows, next_token = service.list_presentations(
                uow, self._principal_of(context), request.page_size, request.page_token
            )
            return pres_pb.ListPresentationsResponse(
                presentations=[convert.presentation(r, self._app_url) for r in rows],
                next_page_token=next_token,
            )

    def DeletePresentation(
        self, request: pres_pb.DeletePresentationRequest, context: object
    ) -> empty_pb2.Empty:
        with self._uow() as uow:
            service.delete_presentation(uow, self._principal_of(context), request.id)
        return empty_pb2.Empty()

    def GeneratePresentation(
        self, request: pres_pb.GeneratePresentationRequest, context: object
    ) -> pres_pb.GeneratePresentationResponse:
        with self._uow() as uow:
            job = jobs.submit(
                uow, self._principal_of(context), _generation_request(request), self._store
            )
            return pres_pb.GeneratePresentationResponse(
                generation_id=job.id, status=job.state, poll_url=_poll_url(job.id)
            )

    def GetGenerationStatus(
        self, request: pres_pb.GetGenerationStatusRequest, context: object
    ) -> generation_pb2.GenerationStatus:
        return self._generation_status(self._principal_of(context), request.generation_id)

    def _generation_status(
        self, principal: Principal, generation_id: str
    ) -> generation_pb2.GenerationStatus:
        with self._uow() as uow:
            view = jobs.status_view(uow, principal, generation_id)
            return convert.generation_status(view.job, view.deck, self._app_url)

    def WatchGeneration(
        self, request: pres_pb.WatchGenerationRequest, context: object
    ) -> AsyncIterator[generation_pb2.GenerationStatus]:
        """Runs on the event loop: the caller is read here, where the interceptor has set
        it, and the stream it returns waits between reads without holding a thread."""
        return self._watch(self._principal_of(context), request.generation_id)

    async def _watch(
        self, principal: Principal, generation_id: str
    ) -> AsyncIterator[generation_pb2.GenerationStatus]:
        """Reads the job (a short call in the loop's default executor, apart from the
        RPC pool) every WATCH_POLL_SECONDS and sends each status that differs."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WATCH_SECONDS
        last = None
        while loop.time() < deadline:
            status = await asyncio.to_thread(self._generation_status, principal, generation_id)
            if status != last:
                yield status
                last = status
            if JobState(status.status).finished:
                return
            await asyncio.sleep(WATCH_POLL_SECONDS)

    def SendGenerationMessage(
        self, request: pres_pb.SendGenerationMessageRequest, context: object
    ) -> pres_pb.SendGenerationMessageResponse:
        with self._uow() as uow:
            job = jobs.send_message(
                uow,
                self._principal_of(context),
                request.generation_id,
                request.content,
                [_attachment(a) for a in request.attachments],
                store=self._store,
            )
            return pres_pb.SendGenerationMessageResponse(status=job.state)

    def CreateUploadTarget(
        self, request: pres_pb.CreateUploadTargetRequest, context: object
    ) -> pres_pb.CreateUploadTargetResponse:
        if self._store is None:
            raise NotImplementedYet("Uploads are not configured on this server")
        with self._uow() as uow:
            row, target = uploads.create_target(
                uow,
                self._principal_of(context),
                self._store,
                file_name=request.file_name,
                content_type=request.content_type,
                declared_size=request.declared_file_size,
            )
            return pres_pb.CreateUploadTargetResponse(
                url=target.url,
                fields=[pres_pb.FormField(name=n, value=v) for n, v in target.fields],
                path=row.storage_key,
                download_url=target.download_url,
            )


def _status_route() -> str:
    """The REST path of GetGenerationStatus, from its google.api.http rule."""
    method = pres_pb.DESCRIPTOR.services_by_name["PresentationService"].methods_by_name[
        "GetGenerationStatus"
    ]
    for binding in contract.http_bindings():
        if binding.method.full_name == method.full_name and "{generation_id}" in binding.path:
            return binding.path
    raise LookupError("GetGenerationStatus has no http rule naming {generation_id}")


_STATUS_ROUTE = _status_route()


def _poll_url(generation_id: str) -> str:
    return _STATUS_ROUTE.replace("{generation_id}", generation_id)


def _attachment(message: generation_pb2.Attachment) -> dict[str, str]:
    return {
        "id": message.id,
        "url": message.url,
        "file_name": message.file_name,
        "type": message.type,
    }


def _generation_request(
    request: pres_pb.GeneratePresentationRequest,
) -> jobs.GenerationRequest:
    def optional(name: str) -> str | None:
        return getattr(request, name) if request.HasField(name) else None

    count: object = None  # a JSON value: a number, a string, a bool, a list or a struct
    if request.HasField("section_count"):
        kind = request.section_count.WhichOneof("kind")
        if kind not in (None, "null_value"):
            count = getattr(request.section_count, kind)
    return jobs.GenerationRequest(
        prompt=request.prompt,
        template_id=optional("template_id"),
        selected_section_ids=list(request.selected_section_ids),
        attachments=[_attachment(a) for a in request.attachments],
        non_interactive=request.non_interactive,
        narrative_type=optional("narrative_type"),
        rewrite_style=optional("rewrite_style"),
        section_count=count,
        language=optional("language"),
    )


def _changes(request: pres_pb.UpdatePresentationRequest) -> service.PresentationChanges:
    """Fields named by the update mask; without a mask, those the caller set."""
    paths = set(request.update_mask.paths)
    known = {"title", "is_public", "sections"}
    unknown = paths - known
    if unknown:
        raise InvalidArgument(f"update_mask: unknown field {sorted(unknown)[0]!r}")
    if not paths:
        paths = {f for f in ("title", "is_public") if request.HasField(f)}
        if request.sections:
            paths.add("sections")
    return service.PresentationChanges(
        title=request.title if "title" in paths else service.UNSET,
        is_public=request.is_public if "is_public" in paths else service.UNSET,
        sections=list(request.sections) if "sections" in paths else service.UNSET,
    )
