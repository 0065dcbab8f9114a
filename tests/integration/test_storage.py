"""Storage on a real SQLite file: migrations, unit of work, repositories."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect

from chronicle.config import Settings
from server import bootstrap, catalog, convert
from server.container import Container
from server.services import keys as key_service
from server.storage import models


def test_migrations_build_exactly_the_models_schema(container: Container) -> None:
    with container.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), models.Base.metadata)
    assert diff == []


def test_lookup_paths_are_indexed(container: Container) -> None:
    inspector = inspect(container.engine)
    indexed = {
        table: [tuple(i["column_names"]) for i in inspector.get_indexes(table)]
        for table in ("api_keys", "presentations", "key_events", "templates")
    }
    assert ("workspace_id", "created_at", "id") in indexed["presentations"]
    assert ("workspace_id", "created_at", "id") in indexed["api_keys"]
    assert ("workspace_id", "created_at", "id") in indexed["key_events"]
    assert ("workspace_id",) in indexed["templates"]
    assert inspector.get_pk_constraint("api_keys")["constrained_columns"] == ["id"]


def test_leaving_a_unit_of_work_without_commit_rolls_back(container: Container) -> None:
    with container.uow() as uow:
        uow.workspaces.add(models.Workspace(id="ws_rollback", name="x"))
        uow.flush()
    with container.uow() as uow:
        assert uow.workspaces.get("ws_rollback") is None
    with container.uow() as uow:
        uow.workspaces.add(models.Workspace(id="ws_kept", name="x"))
        uow.commit()
    with container.uow() as uow:
        assert uow.workspaces.get("ws_kept") is not None


def test_builtin_templates_are_seeded_once_and_kept_in_sync(container: Container) -> None:
    with container.uow() as uow:
        bootstrap.sync_builtin_templates(uow)
        visible = uow.templates.list_visible("ws_any")
    assert [t.id for t in visible] == [t["id"] for t in catalog.BUILTIN_TEMPLATES]


def test_keyset_pages_are_stable_when_timestamps_tie(container: Container) -> None:
    now = models.utcnow()
    with container.uow() as uow:
        uow.workspaces.add(models.Workspace(id="ws_p", name="p"))
        uow.flush()
        for i in range(9):
            uow.presentations.add(
                models.Presentation(
                    id=f"pres_{i:02d}",
                    workspace_id="ws_p",
                    title=str(i),
                    sections=[],
                    created_at=now - timedelta(seconds=i // 3),
                    updated_at=now,
                )
            )
        uow.commit()
    with container.uow() as uow:
        seen, after = [], None
        while True:
            page = uow.presentations.list_page("ws_p", 4, after)
            if not page:
                break
            seen += [p.id for p in page]
            after = (page[-1].created_at, page[-1].id)
    assert len(seen) == 9 and len(set(seen)) == 9
    assert seen[:3] == ["pres_02", "pres_01", "pres_00"]


def test_sections_round_trip_through_the_database(container: Container) -> None:
    from chronicle.v1.presentation_pb2 import BulletList, ContentBlock, Section

    section = Section(
        id="sec_1",
        title="Why now",
        layout="title_and_body",
        speaker_notes="n",
        blocks=[ContentBlock(bullet_list=BulletList(items=["a", "b"]))],
    )
    with container.uow() as uow:
        uow.workspaces.add(models.Workspace(id="ws_s", name="s"))
        uow.flush()
        uow.presentations.add(
            models.Presentation(id="pres_s", workspace_id="ws_s", title="t", sections=[section])
        )
        uow.commit()
    with container.uow() as uow:
        snapshot = uow.presentations.get("pres_s")
        locked = uow.presentations.get_for_update("pres_s")
    assert snapshot is not None and locked is not None
    assert list(locked.sections) == [section]
    assert snapshot.sections == (section,)
    assert convert.presentation_view(snapshot, "u") == convert.presentation(locked, "u")
    assert list(convert.presentation_view(snapshot, "u").sections) == [section]


def test_the_read_model_reads_outside_any_transaction_and_sees_each_commit(
    container: Container,
) -> None:
    with container.uow() as uow:
        uow.workspaces.add(models.Workspace(id="ws_view", name="v"))
        uow.flush()
        uow.presentations.add(models.Presentation(id="pres_view", workspace_id="ws_view"))
        uow.commit()
    with container.uow() as uow:
        assert uow.presentations.get("pres_view") is not None  # this thread's connection opens
        checked_out = container.engine.pool.checkedout()  # type: ignore[attr-defined]
        view = uow.presentations.get("pres_view")
        # No session, no pooled connection: the read took no part in a transaction.
        assert container.engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]
    assert view is not None and view.title == "" and view.revision == 1
    with container.uow() as writer:
        deck = writer.presentations.get_for_update("pres_view")
        assert deck is not None
        deck.title = "changed"
        deck.revision += 1
        writer.flush()
        pending = writer.presentations.get("pres_view")  # the row is locked, not the read
        assert pending is not None and pending.title == "" and pending.revision == 1
        writer.commit()
        committed = writer.presentations.get("pres_view")
    assert committed is not None and committed.title == "changed" and committed.revision == 2


def test_the_key_status_view_reflects_a_committed_revoke(container: Container) -> None:
    with container.uow() as uow:
        workspace = key_service.create_workspace(uow, "status")
        issued = key_service.create_api_key(
            uow, container.hasher, workspace_id=workspace.id, actor="t"
        )
    key_id = issued.record.id
    with container.uow() as uow:
        before = uow.api_keys.snapshot(key_id)
        key_service.revoke_api_key(uow, key_id, "gone", "t")
        after = uow.api_keys.snapshot(key_id)
        missing = uow.api_keys.snapshot("nope")
    assert before is not None and before.revoked_at is None
    assert before.workspace_id == workspace.id and before.environment == "live"
    assert before.secret_hash == issued.record.secret_hash
    assert after is not None and after.revoked_at is not None
    assert missing is None


def test_timestamps_come_back_timezone_aware(container: Container) -> None:
    with container.uow() as uow:
        uow.workspaces.add(models.Workspace(id="ws_tz", name="tz"))
        uow.commit()
    container.engine.dispose()
    with container.uow() as uow:
        workspace = uow.workspaces.get("ws_tz")
        assert workspace is not None and workspace.created_at.utcoffset() == timedelta(0)


def test_last_use_batch_is_one_statement_for_many_keys(container: Container) -> None:
    from tests.conftest import make_tenant

    tenants = [make_tenant(container, f"t{i}") for i in range(3)]
    when = models.utcnow()
    with container.uow() as uow:
        uow.api_keys.touch({t.key_id: when for t in tenants})
        uow.commit()
    with container.uow() as uow:
        assert all(
            uow.api_keys.get(t.key_id).last_used_at == when  # type: ignore[union-attr]
            for t in tenants
        )


def test_prepare_reports_an_empty_database_once(
    settings: Settings, empty_database_url: str
) -> None:
    container = Container(replace(settings, database_url=empty_database_url))
    assert bootstrap.prepare(container.engine, container.uow()) is True
    assert bootstrap.prepare(container.engine, container.uow()) is False


def _seed_decks(container: Container, workspace_id: str, count: int) -> None:
    now = models.utcnow()
    with container.uow() as uow:
        uow.workspaces.add(models.Workspace(id=workspace_id, name="many"))
        uow.commit()
    rows = [
        {
            "id": f"pres_{workspace_id}_{i:06d}",
            "workspace_id": workspace_id,
            "title": str(i),
            "sections": [],
            "is_public": False,
            "revision": 1,
            "created_at": now - timedelta(seconds=i),
            "updated_at": now,
        }
        for i in range(count)
    ]
    with container.engine.begin() as connection:
        connection.execute(models.Presentation.__table__.insert(), rows)
        if container.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE presentations")


def test_a_deep_page_is_an_index_range_scan_like_page_one(container: Container) -> None:
    """Page 100 of a 3,000-deck workspace: the database walks the (workspace_id,
    created_at, id) index from the cursor and stops after one page; no offset, no sort."""
    _seed_decks(container, "ws_deep", 3000)
    _seed_decks(container, "ws_other", 500)  # another workspace's decks are never read
    statements: list[tuple[str, object]] = []

    def capture(_conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        if "FROM presentations" in statement:
            statements.append((statement, params))

    with container.uow() as uow:
        cursor = None
        for _ in range(99):  # to page 100, as a client following next_page_token would
            page = uow.presentations.list_page("ws_deep", 20, cursor)
            cursor = (page[-1].created_at, page[-1].id)
        event.listen(container.engine, "before_cursor_execute", capture)
        try:
            deep = uow.presentations.list_page("ws_deep", 20, cursor)
        finally:
            event.remove(container.engine, "before_cursor_execute", capture)
    assert [p.title for p in deep] == [str(i) for i in range(1980, 2000)]
    ((statement, params),) = statements
    # No rows skipped by offset (SQLite's dialect writes LIMIT ? OFFSET 0).
    assert "OFFSET" not in statement or list(params)[-1] == 0  # type: ignore[call-overload]
    with container.engine.connect() as connection:
        if container.engine.dialect.name == "sqlite":
            plan = " | ".join(
                row[3]
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            )  # type: ignore[arg-type]
            assert "USING INDEX ix_presentations_workspace_created" in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # no sort of the workspace's rows
        else:
            plan = " | ".join(
                row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", params)
            )  # type: ignore[arg-type]
            assert "Index Scan Backward using ix_presentations_workspace_created" in plan, plan
            assert "Sort" not in plan and "Seq Scan" not in plan, plan


def test_concurrent_updates_of_one_deck_lose_no_write(container: Container) -> None:
    """Two writers PATCH different fields of one deck at once, 25 times each: every
    update is applied under the row lock (revision counts all 50) and each field ends
    with its writer's last value."""
    from concurrent.futures import ThreadPoolExecutor

    from server.services import presentations as service
    from tests.conftest import make_tenant
    from tests.integration.test_servicers import principal_of

    tenant = make_tenant(container)
    principal = principal_of(tenant)
    with container.uow() as uow:
        uow.presentations.add(
            models.Presentation(
                id="pres_race", workspace_id=tenant.workspace_id, title="start", sections=[]
            )
        )
        uow.commit()

    def write(changes: list[service.PresentationChanges]) -> None:
        for change in changes:
            with container.uow() as uow:
                service.update_presentation(uow, principal, "pres_race", change)

    titles = [service.PresentationChanges(title=f"title {i}") for i in range(25)]
    flags = [service.PresentationChanges(is_public=i % 2 == 0) for i in range(25)]
    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(write, titles), pool.submit(write, flags)]:
            done.result()
    with container.uow() as uow:
        deck = uow.presentations.get("pres_race")
    assert deck is not None
    assert deck.revision == 1 + 50
    assert deck.title == "title 24" and deck.is_public is True
