"""A photo job: its states and the stages' progress, its id (`F-…`)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from core.orders.model import ID_ALPHABET, ID_LENGTH

JOB_ID = re.compile(rf"^F-[{ID_ALPHABET}]{{{ID_LENGTH}}}$")


class PhotoState(StrEnum):
    """Where a photo job is; the rendition stages are what the status message shows."""

    PENDIENTE = "pendiente"
    DESCARGANDO = "descargando"
    MINIATURA = "miniatura"
    MEDIANA = "mediana"
    GRANDE = "grande"
    ENVIANDO = "enviando"
    LISTO = "listo"
    FALLIDO = "fallido"

    @property
    def is_final(self) -> bool:
        return self in (PhotoState.LISTO, PhotoState.FALLIDO)


# Progress shown at each stage (the rendition names come from core.photos.renditions.RENDITIONS).
STAGE_PERCENT = {
    PhotoState.PENDIENTE: 0,
    PhotoState.DESCARGANDO: 10,
    PhotoState.MINIATURA: 40,
    PhotoState.MEDIANA: 60,
    PhotoState.GRANDE: 80,
    PhotoState.ENVIANDO: 90,
    PhotoState.LISTO: 100,
}


def sources_of(state: PhotoState) -> list[str]:
    """The states a job may move to `state` from: forward only, never out of a final one
    (a failure from any unfinished state)."""
    if state is PhotoState.FALLIDO:
        return [s.value for s in PhotoState if not s.is_final]
    percent = STAGE_PERCENT[state]
    return [s.value for s in PhotoState if not s.is_final and STAGE_PERCENT[s] < percent]


@dataclass
class PhotoJob:
    """One photo to turn into renditions."""

    id: str
    chat_id: int
    user_id: int
    file_id: str
    state: PhotoState = PhotoState.PENDIENTE
    progress: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float = 0.0
    status_message_id: int = 0
    task_id: str = ""
    error: str = ""
    language: str = "es"
    queued_epoch: str = ""
    # The renditions' file names in MEDIA_DIR, once made.
    renditions: tuple[str, ...] = ()

    @property
    def is_final(self) -> bool:
        return self.state.is_final


def new_job_id() -> str:
    return "F-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def normalize_job_id(raw: str) -> str | None:
    candidate = raw.strip().upper()
    return candidate if JOB_ID.match(candidate) else None
