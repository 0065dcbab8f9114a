"""What Chronicle's deck pages may show a person (ViewerService): a public deck to
anyone, a private one to a signed-in member of its workspace. Everything else reads
exactly as an unknown id does, so no answer tells whether a deck exists."""

from __future__ import annotations

from chronicle.v1.presentation_pb2 import Presentation
from server.auth import CallerKind, Principal
from server.errors import NotFound, PresentationNotFound, WrongWorkspace, shown
from server.files.store import FileStore
from server.services import jobs, uploads
from server.storage.uow import UnitOfWork
from server.storage.views import PresentationView


def _member(principal: Principal, workspace_id: str) -> bool:
    return principal.kind == CallerKind.USER_SESSION and principal.workspace_id == workspace_id


def viewable_presentation(
    uow: UnitOfWork, principal: Principal, presentation_id: str
) -> PresentationView:
    found = uow.presentations.get(presentation_id) if presentation_id else None
    if found is None or not (found.is_public or _member(principal, found.workspace_id)):
        raise PresentationNotFound(f"No presentation with id {shown(presentation_id)}")
    return found


def viewable_generation(uow: UnitOfWork, principal: Principal, job_id: str) -> jobs.StatusView:
    """A generation of the signed-in person's workspace (its page shows progress)."""
    if principal.kind != CallerKind.USER_SESSION:
        raise NotFound(f"No generation with id {shown(job_id)}")
    try:
        return jobs.status_view(uow, principal, job_id)
    except WrongWorkspace:
        raise NotFound(f"No generation with id {shown(job_id)}") from None


def deck_image(
    uow: UnitOfWork, store: FileStore | None, deck: Presentation, section: int, block: int
) -> tuple[bytes, str]:
    """The stored image of one image block of a deck the caller may see."""
    missing = NotFound("No such image")
    if not (0 <= section < len(deck.sections)):
        raise missing
    blocks = deck.sections[section].blocks
    if not (0 <= block < len(blocks)) or blocks[block].WhichOneof("kind") != "image":
        raise missing
    image = uploads.stored_image(uow, store, deck.workspace_id, blocks[block].image.url)
    if image is None:
        raise missing
    return image
