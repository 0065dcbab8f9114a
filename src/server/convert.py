"""Entities and views ↔ protobuf messages. The only module that knows both shapes."""

from __future__ import annotations

from datetime import datetime, timedelta

from google.api import httpbody_pb2
from google.protobuf import any_pb2, duration_pb2, timestamp_pb2

from chronicle.v1 import api_key_pb2, generation_pb2, presentation_pb2
from server.services.exports import ExportedFile
from server.services.keys import key_state
from server.storage import models
from server.storage.views import PresentationView
from server.vocabulary import JobState


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    # Built from its parts: FromDatetime costs twice as much on the hot path.
    return timestamp_pb2.Timestamp(seconds=int(value.timestamp()), nanos=value.microsecond * 1000)


def duration(value: duration_pb2.Duration) -> timedelta | None:
    """None when the field is unset (zero)."""
    return value.ToTimedelta() if value.seconds or value.nanos else None


def _presentation_fields(
    deck: models.Presentation | PresentationView, app_url: str
) -> presentation_pb2.Presentation:
    return presentation_pb2.Presentation(
        id=deck.id,
        title=deck.title,
        workspace_id=deck.workspace_id,
        is_public=deck.is_public,
        url=f"{app_url.rstrip('/')}/presentations/{deck.id}",
        created_at=timestamp(deck.created_at),
        updated_at=timestamp(deck.updated_at),
    )


def presentation(deck: models.Presentation, app_url: str) -> presentation_pb2.Presentation:
    message = _presentation_fields(deck, app_url)
    message.sections.extend(deck.sections)
    return message


def presentation_view(view: PresentationView, app_url: str) -> presentation_pb2.Presentation:
    message = _presentation_fields(view, app_url)
    message.MergeFromString(view.sections_wire)  # the sections, parsed in place
    return message


def template(row: models.Template) -> presentation_pb2.Template:
    message = presentation_pb2.Template(
        id=row.id,
        name=row.name,
        description=row.description,
        category=row.category,
        preview_url=row.preview_url,
        sections=row.sections,
    )
    return message


def api_key(row: models.ApiKey) -> api_key_pb2.ApiKey:
    return api_key_pb2.ApiKey(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        environment=row.environment,
        hint=row.hint,
        created_at=timestamp(row.created_at),
        created_by=row.created_by,
        expires_at=timestamp(row.expires_at),
        revoked_at=timestamp(row.revoked_at),
        revoke_reason=row.revoke_reason,
        last_used_at=timestamp(row.last_used_at),
        rate_limit=row.rate_limit,
        state=key_state(row, models.utcnow()),
    )


def key_event(row: models.KeyEvent) -> api_key_pb2.ApiKeyEvent:
    return api_key_pb2.ApiKeyEvent(
        id=row.id,
        key_id=row.key_id,
        workspace_id=row.workspace_id,
        event=row.event,
        actor=row.actor,
        detail=row.detail,
        created_at=timestamp(row.created_at),
    )


def generation_status(
    job: models.GenerationJob, deck: PresentationView | None, app_url: str
) -> generation_pb2.GenerationStatus:
    """Only the fields that apply to the job's state are set; the rest stay absent."""
    status = generation_pb2.GenerationStatus(generation_id=job.id, status=job.state)
    if job.state == JobState.GENERATING:
        if job.slides_total or job.current_step:
            status.progress.CopyFrom(
                generation_pb2.GenerationProgress(
                    slides_total=job.slides_total,
                    slides_completed=job.slides_completed,
                    current_step=job.current_step or "",
                )
            )
        if job.phase:
            status.phase = job.phase
    elif job.state == JobState.AWAITING_INPUT:
        status.message = job.question or ""
    elif job.state == JobState.COMPLETED and deck is not None:
        status.presentation.CopyFrom(presentation_view(deck, app_url))
    elif job.state == JobState.FAILED:
        status.error = job.error or "Generation failed"
    if job.tokens_used and job.state in (JobState.GENERATING, JobState.COMPLETED):
        status.tokens_used = job.tokens_used
    return status


def download(file: ExportedFile) -> httpbody_pb2.HttpBody:
    """A file as an HttpBody, its name in the extensions (served as an attachment)."""
    name = any_pb2.Any()
    name.Pack(presentation_pb2.FileDownload(file_name=file.file_name))
    return httpbody_pb2.HttpBody(content_type=file.content_type, data=file.data, extensions=[name])


def image(data: bytes, content_type: str) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type=content_type, data=data)
