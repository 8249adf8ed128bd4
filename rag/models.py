"""Lectern's own data types. Third-party objects are converted to these at the module that touches them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

VIDEO_ID_RE = re.compile(r"[A-Za-z0-9_-]{11}")


def is_video_id(value: object) -> bool:
    return isinstance(value, str) and VIDEO_ID_RE.fullmatch(value) is not None


def watch_url(video_id: str, start: float) -> str:
    """The only way Lectern builds a watch link: a validated id and whole seconds."""
    if not is_video_id(video_id):
        raise ValueError(f"not a YouTube video id: {video_id!r}")
    return f"https://www.youtube.com/watch?v={video_id}&t={max(0, int(start))}s"


def embed_url(video_id: str, start: float) -> str:
    if not is_video_id(video_id):
        raise ValueError(f"not a YouTube video id: {video_id!r}")
    return f"https://www.youtube-nocookie.com/embed/{video_id}?start={max(0, int(start))}&autoplay=1"


def thumbnail_url(video_id: str) -> str:
    if not is_video_id(video_id):
        raise ValueError(f"not a YouTube video id: {video_id!r}")
    return f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg"


@dataclass(frozen=True, slots=True)
class Segment:
    """One timestamped piece of transcript, as spoken between start and end (seconds)."""

    video_id: str
    start: float
    end: float
    text: str
    title: str = ""
    channel: str = ""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A row or cue that was not ingested, and why."""

    source: str
    line: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Chunk:
    """A window of consecutive segments of one video: the unit that is embedded and retrieved."""

    id: str
    video_id: str
    title: str
    start: float  # start of the first segment
    end: float  # end of the last included segment
    text: str
    segment_starts: tuple[float, ...]  # start of every segment inside, in order
    segment_offsets: tuple[int, ...]  # character offset of every segment inside `text`
    channel: str = ""
    video_hash: str = ""

    def segments(self) -> list[tuple[float, float, str]]:
        """(start, end, text) of each segment inside the chunk; a segment ends where the next starts."""
        out = []
        n = len(self.segment_starts)
        for i in range(n):
            a = self.segment_offsets[i]
            b = self.segment_offsets[i + 1] if i + 1 < n else len(self.text)
            seg_end = self.segment_starts[i + 1] if i + 1 < n else self.end
            out.append((self.segment_starts[i], seg_end, self.text[a:b].strip()))
        return out


@dataclass(slots=True)
class Hit:
    """A retrieved moment: one chunk, or neighbouring chunks of one video merged."""

    chunk: Chunk
    score: float  # fused rank score, higher is better
    similarity: float = 0.0  # best cosine similarity with the query, 0 when only BM25 found it
    rank: int = 0
    # The one window that earned the rank, before overlapping ones were merged in (None: `chunk` itself).
    # A citation placed from the question alone looks only here: across the merged text, the segment
    # that best matches the question is often the neighbour window's introduction of the topic.
    focus: Chunk | None = None

    @property
    def window(self) -> Chunk:
        return self.focus or self.chunk

    @property
    def video_id(self) -> str:
        return self.chunk.video_id

    @property
    def url(self) -> str:
        return watch_url(self.chunk.video_id, self.chunk.start)


@dataclass(frozen=True, slots=True)
class Citation:
    n: int
    video_id: str
    title: str
    start: int
    end: int
    quote: str

    @property
    def url(self) -> str:
        return watch_url(self.video_id, self.start)

    @property
    def thumbnail(self) -> str:
        return thumbnail_url(self.video_id)

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "video_id": self.video_id,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "url": self.url,
            "quote": self.quote,
        }


Mode = Literal["llm", "extractive", "refused"]


@dataclass(slots=True)
class Answer:
    question: str
    mode: Mode
    answer: str
    citations: list[Citation] = field(default_factory=list)
    interrupted: bool = False
    unsupported: list[str] = field(default_factory=list)  # sentences whose citation was dropped
    error: str = ""  # user-facing message when the answer was cut short

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "mode": self.mode,
            "answer": self.answer,
            "citations": [c.as_dict() for c in self.citations],
            "interrupted": self.interrupted,
        }


@dataclass(slots=True)
class IngestReport:
    videos: int = 0
    segments: int = 0
    chunks: int = 0
    chunks_embedded: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "videos": self.videos,
            "segments": self.segments,
            "chunks": self.chunks,
            "chunks_embedded": self.chunks_embedded,
            "chunks_unchanged": self.chunks_unchanged,
            "chunks_removed": self.chunks_removed,
            "skipped": [s.as_dict() for s in self.skipped],
            "seconds": round(self.seconds, 3),
        }
