"""In-memory repositories and unit of work, for service tests without a database."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from chronicle.v1.presentation_pb2 import Presentation as PresentationMessage
from server.storage import models, views
from server.storage.repository import Cursor


class _Rows:
    def __init__(self) -> None:
        self.rows: dict[str, Any] = {}

    def add(self, row: Any) -> None:
        if getattr(row, "created_at", None) is None:
            row.created_at = models.utcnow()
        self.rows[row.id] = row

    def get(self, row_id: str) -> Any:
        return self.rows.get(row_id)

    get_for_update = get

    def delete(self, row: Any) -> None:
        del self.rows[row.id]

    def list_page(self, workspace_id: str, limit: int, after: Cursor | None) -> list[Any]:
        rows = sorted(
            (r for r in self.rows.values() if r.workspace_id == workspace_id),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        if after is not None:
            rows = [r for r in rows if (r.created_at, r.id) < after]
        return rows[:limit]


class FakeTemplates(_Rows):
    def list_visible(self, workspace_id: str) -> list[models.Template]:
        return [r for r in self.rows.values() if r.workspace_id in (None, workspace_id)]


class FakePresentations(_Rows):
    """`get` answers as the read model does: a view, never the entity to change."""

    def get(self, row_id: str) -> views.PresentationView | None:
        row = self.rows.get(row_id)
        if row is None:
            return None
        return views.PresentationView(
            id=row.id,
            workspace_id=row.workspace_id,
            title=row.title,
            is_public=row.is_public,
            created_at=row.created_at,
            updated_at=row.updated_at,
            revision=row.revision,
            sections_wire=PresentationMessage(sections=row.sections).SerializeToString(),
        )

    def get_for_update(self, row_id: str) -> models.Presentation | None:
        found: models.Presentation | None = self.rows.get(row_id)
        return found


class FakeCredentials(_Rows):
    def snapshot(self, row_id: str) -> Any:
        return self.get(row_id)

    def touch(self, last_used: dict[str, datetime]) -> None:
        for key_id, when in last_used.items():
            self.rows[key_id].last_used_at = when


class FakeUploads(_Rows):
    def by_download_url(self, url_sha256: str) -> Any:
        found = [r for r in self.rows.values() if r.download_url_sha256 == url_sha256]
        return found[0] if found else None


class FakeUnitOfWork:
    """Shares its rows across `with` blocks, like a database would; counts commits."""

    def __init__(self) -> None:
        self.workspaces = _Rows()
        self.templates = FakeTemplates()
        self.presentations = FakePresentations()
        self.api_keys = FakeCredentials()
        self.service_tokens = FakeCredentials()
        self.key_events = _Rows()
        self.generation_jobs = _Rows()
        self.uploads = FakeUploads()
        self.commits = 0
        self.opened = 0

    def __enter__(self) -> Self:
        self.opened += 1
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # nothing to roll back: rows are shared, like a database's

    def commit(self) -> None:
        self.commits += 1

    def flush(self) -> None:
        pass


class FakeClock:
    """A monotonic clock in seconds that moves only when a test sets `now`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
