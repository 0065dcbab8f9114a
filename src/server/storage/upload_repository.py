"""The uploads repository (the files this service issued targets for)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.storage import models


class UploadRepository:
    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, upload: models.Upload) -> None:
        self._session().add(upload)

    def get(self, upload_id: str) -> models.Upload | None:
        return self._session().get(models.Upload, upload_id)

    def by_download_url(self, url_sha256: str) -> models.Upload | None:
        query = select(models.Upload).where(models.Upload.download_url_sha256 == url_sha256)
        return self._session().scalars(query).first()
