"""Lectern: ask questions of recorded lectures; every answer cites the moment it was said.

The public API. The CLI (ingest.py, python -m rag) and the chat (ui/) use only what is exported here.
"""

from .config import BUNDLED_SAMPLE, Settings, load_settings
from .errors import (
    ConfigError,
    DependencyError,
    InputError,
    LecternError,
    LLMError,
    ModelMismatchError,
    StoreError,
    StoreLockedError,
)
from .models import (
    Answer,
    Chunk,
    Citation,
    Hit,
    IngestReport,
    Segment,
    Skipped,
    embed_url,
    is_video_id,
    thumbnail_url,
    watch_url,
)
from .pipeline import Lectern
from .prompts import format_time

__all__ = [
    "BUNDLED_SAMPLE",
    "Answer",
    "Chunk",
    "Citation",
    "ConfigError",
    "DependencyError",
    "Hit",
    "IngestReport",
    "InputError",
    "LLMError",
    "Lectern",
    "LecternError",
    "ModelMismatchError",
    "Segment",
    "Settings",
    "Skipped",
    "StoreError",
    "StoreLockedError",
    "embed_url",
    "format_time",
    "is_video_id",
    "load_settings",
    "thumbnail_url",
    "watch_url",
]
