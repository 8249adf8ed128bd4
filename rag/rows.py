"""Row validation: the checks that turn one row (a mapping from any format) into a Segment, and the
Sink that applies them, drops duplicates and collects what it loaded and the problems it skipped.

A bad row raises RowError, naming the field; the Sink turns that into a Skipped (or, with strict=True,
an InputError) that names the source and line too. rag.loaders reads the files and feeds the Sink;
callers get Loaded from rag.loaders.load.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rag.captions import clean, show
from rag.errors import InputError
from rag.models import Segment, Skipped, is_video_id

MAX_TEXT = 20_000


@dataclass
class Loaded:
    segments: list[Segment] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # files actually read, in order


class RowError(Exception):
    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class Sink:
    """Collects segments and problems; in strict mode the first problem raises instead."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.loaded = Loaded()
        self._seen: dict[tuple[str, float, float, str], tuple[str, int]] = {}

    def skip(self, source: str, line: int, reason: str) -> None:
        if self.strict:
            raise InputError(source, reason, line)
        self.loaded.skipped.append(Skipped(source, line, reason))

    def take(self, source: str, line: int, make: Callable[..., object], *args: Any) -> None:
        """Validates the row make(*args) returns; a RowError it raises is a skipped row."""
        try:
            row = make(*args)
            if not isinstance(row, Mapping):
                raise RowError("not a JSON object")
            segment = _segment(row)
        except RowError as error:
            self.skip(source, error.line or line, error.reason)
            return
        key = (segment.video_id, segment.start, segment.end, segment.text)
        if key in self._seen:
            first_source, first_line = self._seen[key]
            where = "" if first_source == source else f" of {first_source}"
            self.skip(source, line, f"duplicate of line {first_line}{where}")
        else:
            self._seen[key] = (source, line)
            self.loaded.segments.append(segment)


def _segment(row: Mapping[str, Any]) -> Segment:
    # The two dataset schemas differ only in how they name the times.
    pinecone = "start_second" in row or "end_second" in row
    start_key, end_key = ("start_second", "end_second") if pinecone else ("start", "end")
    video_id = row.get("video_id")
    if video_id is None:
        raise RowError("field 'video_id': missing")
    if not is_video_id(video_id):
        raise RowError(f"field 'video_id': {show(video_id)} is not an 11-character YouTube id")
    start, end = _number(row, start_key), _number(row, end_key)
    if start < 0:
        raise RowError(f"field '{start_key}': {start} is negative")
    if end < start:
        raise RowError(f"field '{end_key}': {end} is before start {start}")
    text = _optional_text(row, "text")
    if text is None:
        raise RowError("field 'text': missing")
    if not text:
        raise RowError("field 'text': blank")
    if len(text) > MAX_TEXT:
        raise RowError(f"field 'text': {len(text)} characters, more than the {MAX_TEXT} a segment may hold")
    title = _optional_text(row, "title") or ""
    return Segment(video_id, start, end, text, title, _optional_text(row, "channel_id") or "")


def _number(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    if value is None:
        raise RowError(f"field '{key}': missing")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RowError(f"field '{key}': {show(value)} is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    except ValueError:
        raise RowError(f"field '{key}': {show(value)} is not a number") from None
    if not math.isfinite(number):
        raise RowError(f"field '{key}': {number} is not a finite number")
    return number


def _optional_text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError(f"field '{key}': {show(value)} is not a string")
    return clean(value)
