"""Service rules with in-memory repositories: no gRPC, no database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chronicle.v1.presentation_pb2 import Section
from server import key_material
from server.auth import CallerKind, Principal
from server.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    PresentationNotFound,
    TemplateNotFound,
    WrongWorkspace,
)
from server.services import keys as key_service
from server.services import presentations as service
from server.storage import models
from tests.fakes import FakeUnitOfWork

ALICE = Principal(CallerKind.API_KEY, "key_a", "ws_a", "live")
BOB = Principal(CallerKind.API_KEY, "key_b", "ws_b", "live")
SECTIONS = [Section(id=f"sec_{i}", title=f"S{i}", layout="title_and_body") for i in range(4)]


@pytest.fixture
def uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.templates.add(
        models.Template(id="tpl_pub", workspace_id=None, name="Public", sections=SECTIONS)
    )
    uow.templates.add(
        models.Template(id="tpl_bob", workspace_id="ws_b", name="Bob's", sections=SECTIONS[:1])
    )
    for ws in ("ws_a", "ws_b"):
        uow.workspaces.add(models.Workspace(id=ws, name=ws))
    return uow


def test_templates_visible_are_builtin_and_own(uow: FakeUnitOfWork) -> None:
    assert {t.id for t in service.list_templates(uow, ALICE)} == {"tpl_pub"}
    assert {t.id for t in service.list_templates(uow, BOB)} == {"tpl_pub", "tpl_bob"}


def test_create_copies_sections_with_fresh_ids_in_template_order(uow: FakeUnitOfWork) -> None:
    deck = service.create_presentation(uow, ALICE, "tpl_pub", ["sec_2", "sec_0"])
    assert [s.title for s in deck.sections] == ["S0", "S2"]
    assert all(s.id.startswith("sec_") and s.id not in {"sec_0", "sec_2"} for s in deck.sections)
    assert SECTIONS[0].id == "sec_0"  # the template itself is untouched
    assert deck.workspace_id == "ws_a" and deck.title == "Public" and uow.commits == 1


def test_create_from_another_workspaces_template_is_wrong_workspace(
    uow: FakeUnitOfWork,
) -> None:
    with pytest.raises(WrongWorkspace):
        service.create_presentation(uow, ALICE, "tpl_bob", [])


@pytest.mark.parametrize(
    ("template_id", "error"), [("", InvalidArgument), ("tpl_none", TemplateNotFound)]
)
def test_create_needs_a_known_template(
    uow: FakeUnitOfWork, template_id: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        service.create_presentation(uow, ALICE, template_id, [])


def test_owner_only_reads_updates_and_deletes(uow: FakeUnitOfWork) -> None:
    deck = service.create_presentation(uow, BOB, "tpl_pub", [])
    for act in (
        lambda: service.get_presentation(uow, ALICE, deck.id),
        lambda: service.update_presentation(
            uow, ALICE, deck.id, service.PresentationChanges(title="x")
        ),
        lambda: service.delete_presentation(uow, ALICE, deck.id),
    ):
        with pytest.raises(WrongWorkspace):
            act()
    with pytest.raises(PresentationNotFound):
        service.get_presentation(uow, ALICE, "pres_missing")


def test_get_returns_the_read_model_view_of_the_presentation(uow: FakeUnitOfWork) -> None:
    deck = service.create_presentation(uow, ALICE, "tpl_pub", [])
    view = service.get_presentation(uow, ALICE, deck.id)
    assert (view.id, view.title, view.revision) == (deck.id, "Public", 1)
    assert view.sections == tuple(deck.sections) and view.sections


def test_update_applies_only_given_fields_and_bumps_revision(uow: FakeUnitOfWork) -> None:
    deck = service.create_presentation(uow, ALICE, "tpl_pub", [])
    sections_before = deck.sections
    updated = service.update_presentation(
        uow, ALICE, deck.id, service.PresentationChanges(is_public=True)
    )
    assert updated.is_public and updated.title == "Public"
    assert updated.sections == sections_before and updated.revision == 2


def test_update_validates_sections_and_assigns_ids(uow: FakeUnitOfWork) -> None:
    deck = service.create_presentation(uow, ALICE, "tpl_pub", [])
    changes = service.PresentationChanges(sections=[Section(title="New")])
    updated = service.update_presentation(uow, ALICE, deck.id, changes)
    assert updated.sections[0].id.startswith("sec_")
    assert updated.sections[0].layout == "title_and_body"
    for bad in (
        [Section(layout="nope")],
        [Section(id="sec_1"), Section(id="sec_1")],
        [Section(id="x")],
    ):
        with pytest.raises(InvalidArgument):
            service.update_presentation(
                uow, ALICE, deck.id, service.PresentationChanges(sections=bad)
            )


def test_list_pages_through_everything_once(uow: FakeUnitOfWork) -> None:
    made = [service.create_presentation(uow, ALICE, "tpl_pub", []).id for _ in range(7)]
    seen, token = [], ""
    while True:
        rows, token = service.list_presentations(uow, ALICE, 3, token)
        seen += [r.id for r in rows]
        if not token:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 7
    with pytest.raises(InvalidArgument):
        service.list_presentations(uow, ALICE, -1, "")


# Keys


@pytest.fixture
def hasher() -> key_material.SecretHasher:
    return key_material.SecretHasher(memory_kib=1024, time_cost=1, parallelism=1)


def test_created_key_stores_only_a_hash(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    secret = issued.raw.split("_")[3]
    stored = vars(issued.record)
    assert not any(isinstance(v, str) and (secret in v or issued.raw in v) for v in stored.values())
    assert issued.record.secret_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"workspace_id": "ws_none"}, NotFound),
        ({"environment": "prod"}, InvalidArgument),
        ({"rate_limit": "fast"}, InvalidArgument),
        ({"expires_in": timedelta(seconds=-1)}, InvalidArgument),
    ],
)
def test_create_key_validates(
    uow: FakeUnitOfWork,
    hasher: key_material.SecretHasher,
    kwargs: dict[str, object],
    error: type[Exception],
) -> None:
    args: dict[str, object] = {"workspace_id": "ws_a", "actor": "t", **kwargs}
    with pytest.raises(error):
        key_service.create_api_key(uow, hasher, **args)  # type: ignore[arg-type]


def test_revoke_is_idempotent_and_audited_once(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    issued = key_service.create_api_key(uow, hasher, workspace_id="ws_a", actor="t")
    first = key_service.revoke_api_key(uow, issued.record.id, "leaked", "alice")
    revoked_at = first.revoked_at
    again = key_service.revoke_api_key(uow, issued.record.id, "again", "bob")
    assert again.revoked_at == revoked_at and again.revoke_reason == "leaked"
    events = [e.event for e in uow.key_events.rows.values()]
    assert events.count("revoked") == 1 and events.count("created") == 1


def test_rotation_keeps_settings_and_gives_the_old_key_a_grace_expiry(
    uow: FakeUnitOfWork, hasher: key_material.SecretHasher
) -> None:
    old = key_service.create_api_key(
        uow,
        hasher,
        workspace_id="ws_a",
        name="ci",
        environment="test",
        rate_limit="10/second",
        actor="t",
    )
    new, previous = key_service.rotate_api_key(
        uow, hasher, old.record.id, grace=timedelta(hours=2), actor="t"
    )
    assert (new.record.name, new.record.environment, new.record.rate_limit) == (
        "ci",
        "test",
        "10/second",
    )
    assert new.raw.startswith("chr_test_") and new.record.id != old.record.id
    assert previous.expires_at is not None
    remaining = previous.expires_at - models.utcnow()
    assert timedelta(hours=1, minutes=59) < remaining <= timedelta(hours=2)
    key_service.revoke_api_key(uow, new.record.id, "", "t")
    with pytest.raises(Conflict):
        key_service.rotate_api_key(uow, hasher, new.record.id, grace=None, actor="t")
