"""Windows of consecutive segments inside one video, sized in the embedding model's word pieces.

Why windows of segments rather than sentence splitting: caption cues break mid-sentence and auto-captions
carry no punctuation, so segment boundaries are the only reliable unit for timestamps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .models import Chunk, Segment

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True, slots=True)
class ChunkParams:
    max_tokens: int = 192
    overlap: int = 48

    @property
    def key(self) -> str:
        return f"t{self.max_tokens}o{self.overlap}"


def group_by_video(segments: Iterable[Segment]) -> dict[str, list[Segment]]:
    """Segments per video, in time order; the first-seen order of videos is kept."""
    videos: dict[str, list[Segment]] = {}
    for seg in segments:
        videos.setdefault(seg.video_id, []).append(seg)
    for segs in videos.values():
        segs.sort(key=lambda s: (s.start, s.end))
    return videos


def video_hash(segments: Sequence[Segment], params: ChunkParams, model: str) -> str:
    """Changes whenever anything that shapes this video's chunks or vectors changes."""
    h = hashlib.sha1(f"{params.key}|{model}".encode())
    for s in segments:
        h.update(
            f"\x1e{s.video_id}\x1f{s.title}\x1f{s.channel}\x1f{s.start!r}\x1f{s.end!r}\x1f{s.text}".encode()
        )
    return h.hexdigest()[:16]


def windows(token_counts: Sequence[int], params: ChunkParams) -> list[tuple[int, int]]:
    """Half-open [i, j) index ranges over one video's segments.

    Each window takes segments while they fit in max_tokens (at least one, even if it alone is over);
    the next window starts at the earliest segment that keeps the shared tail within `overlap` tokens,
    and always moves forward. The last window ends at the last segment, so nothing is left out.
    """
    n = len(token_counts)
    out: list[tuple[int, int]] = []
    i = 0
    while i < n:
        j, used = i, 0
        while j < n and (j == i or used + token_counts[j] <= params.max_tokens):
            used += token_counts[j]
            j += 1
        out.append((i, j))
        if j >= n:
            break
        # The shared tail must also leave room for segment j: a next window that cannot reach past this
        # one would repeat part of it and add nothing new.
        nxt, tail = j, 0
        while (
            nxt - 1 > i
            and tail + token_counts[nxt - 1] <= params.overlap
            and tail + token_counts[nxt - 1] + token_counts[j] <= params.max_tokens
        ):
            nxt -= 1
            tail += token_counts[nxt]
        i = nxt
    return out


def chunk_video(
    segments: Sequence[Segment], token_counts: Sequence[int], params: ChunkParams, vhash: str = ""
) -> list[Chunk]:
    """Chunks of one video's time-ordered segments."""
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for i, j in windows(token_counts, params):
        part = segments[i:j]
        offsets, pieces, pos = [], [], 0
        for seg in part:
            offsets.append(pos)
            pieces.append(seg.text)
            pos += len(seg.text) + 1
        first = part[0]
        cid = f"{first.video_id}:{round(first.start * 1000)}:{params.key}"
        if cid in seen:  # two windows starting at one instant (zero-length or stacked cues)
            cid = f"{cid}:{i}"
        seen.add(cid)
        chunks.append(
            Chunk(
                id=cid,
                video_id=first.video_id,
                title=first.title,
                channel=first.channel,
                start=first.start,
                end=max(s.end for s in part),
                text=" ".join(pieces),
                segment_starts=tuple(s.start for s in part),
                segment_offsets=tuple(offsets),
                video_hash=vhash,
            )
        )
    return chunks


def chunk_segments(
    segments: Iterable[Segment], count_tokens: TokenCounter, params: ChunkParams, model: str = ""
) -> list[Chunk]:
    """Chunks of every video in `segments`, each window inside one video."""
    chunks: list[Chunk] = []
    for segs in group_by_video(segments).values():
        counts = count_tokens([s.text for s in segs])
        chunks.extend(chunk_video(segs, counts, params, video_hash(segs, params, model)))
    return chunks
