"""Workspaces as callers see them, and their settings."""

from __future__ import annotations

from server.auth import CallerKind, Principal
from server.errors import NotFound, shown
from server.storage import models
from server.storage.uow import UnitOfWork

MAX_LISTED = 1000  # a service token's list; no deployment has more workspaces than this


def workspaces_of(uow: UnitOfWork, principal: Principal) -> list[models.Workspace]:
    """An API key's or a session's own workspace; every workspace for a service token."""
    if principal.kind == CallerKind.SERVICE_TOKEN:
        return uow.workspaces.first(MAX_LISTED)
    found = uow.workspaces.get(principal.workspace_id)
    return [found] if found is not None else []


def set_mcp(uow: UnitOfWork, workspace_id: str, enabled: bool) -> models.Workspace:
    workspace = uow.workspaces.get(workspace_id)
    if workspace is None:
        raise NotFound(f"No workspace with id {shown(workspace_id)}")
    workspace.mcp_enabled = enabled
    uow.commit()
    return workspace
