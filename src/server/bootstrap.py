"""Database preparation and the first start: schema, built-in templates, a key to try."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from google.protobuf import json_format
from sqlalchemy import Engine

from chronicle.v1.presentation_pb2 import Section
from server import catalog, key_material
from server.services import keys as key_service
from server.services import users as user_service
from server.storage import db, models
from server.storage.uow import UnitOfWork
from server.vocabulary import UserRole

log = logging.getLogger(__name__)

# The first admin's address: `localhost` says it reaches no one; change it with
# `chronicle user create` and `chronicle user disable` once real people are added.
FIRST_ADMIN_EMAIL = "admin@localhost"


def sync_builtin_templates(uow: UnitOfWork) -> None:
    """Built-in templates ship with the code: insert new ones, refresh changed ones."""
    for entry in catalog.BUILTIN_TEMPLATES:
        row = uow.templates.get(entry["id"])
        if row is None:
            row = models.Template(id=entry["id"], workspace_id=None)
            uow.templates.add(row)
        row.name = entry["name"]
        row.description = entry.get("description", "")
        row.category = list(entry.get("category", []))
        row.preview_url = entry.get("preview_url")
        row.sections = [json_format.ParseDict(s, Section()) for s in entry["sections"]]
    uow.commit()


def prepare(engine: Engine, uow: UnitOfWork) -> bool:
    """Migrate and seed; True when the database was empty before."""
    with db.preparation_lock(engine):
        was_empty = db.is_empty(engine)
        db.migrate(engine)
        with uow:
            sync_builtin_templates(uow)
    return was_empty


@dataclass(frozen=True)
class FirstStart:
    workspace_id: str
    key: key_service.IssuedKey
    admin: user_service.CreatedUser


def first_start(
    uow: UnitOfWork,
    hasher: key_material.SecretHasher,
    password_hasher: key_material.SecretHasher,
) -> FirstStart:
    """A `default` workspace, one `test` key, so a newcomer can curl at once, and an admin
    with a generated password, for the web sign-in."""
    with uow:
        workspace = key_service.create_workspace(uow, "default")
        issued = key_service.create_api_key(
            uow,
            hasher,
            workspace_id=workspace.id,
            name="first-start",
            environment="test",
            actor="first-start",
        )
        admin = user_service.create_user(
            uow,
            password_hasher,
            workspace_id=workspace.id,
            email=FIRST_ADMIN_EMAIL,
            role=UserRole.ADMIN,
        )
    return FirstStart(workspace.id, issued, admin)
