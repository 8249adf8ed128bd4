"""Ingestion service: sources -> segments -> chunks -> vectors -> store, incremental and crash-safe.

Crash safety comes from order, not transactions: a video's new chunks are upserted before its stale ones
are deleted, and a video counts as done only when its stored chunk ids and hashes equal the new ones, so
a run killed anywhere is finished by the next run. The store's revision is marked dirty before the first
write, so the keyword index is rebuilt whenever the store may have changed.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .chunking import ChunkParams, chunk_video, group_by_video, video_hash
from .config import Settings
from .embeddings import Embedder
from .loaders import load
from .models import Chunk, IngestReport, Segment
from .store import Store, ingest_lock

# Chunks embedded per flush, sorted by length first. 256 left the model 7% slower than on the same texts
# sorted as a whole (bench/ingest_bench.py: 89.7 s in the model vs 83.9 s alone); 2048, 3% (85.2 vs 82.4).
# A run killed mid-flush redoes at most this many chunks.
FLUSH_CHUNKS = 2048


def new_segments(chunks: Sequence[Chunk]) -> list[int]:
    """Segments each chunk adds beyond the previous one: sums to the video's segment count."""
    out: list[int] = []
    last = float("-inf")
    for c in chunks:
        out.append(sum(1 for s in c.segment_starts if s > last) or (0 if out else len(c.segment_starts)))
        last = max(last, c.segment_starts[-1])
    return out


@dataclass
class _Writer:
    """Buffers chunks across videos so the model sees full, length-sorted batches."""

    store: Store
    embedder: Embedder
    progress: Any
    report: IngestReport
    dirty: bool = False
    buffer: list[tuple[Chunk, int]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    def mark_dirty(self) -> None:
        if not self.dirty:
            self.store.set_revision(f"writing-{uuid.uuid4().hex}")
            self.dirty = True

    def add(self, chunks: list[Chunk], stale: list[str]) -> None:
        self.mark_dirty()
        self.buffer.extend(zip(chunks, new_segments(chunks), strict=True))
        self.deletes.extend(stale)  # after this video's chunks are flushed
        if len(self.buffer) >= FLUSH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            chunks = [c for c, _ in self.buffer]
            vectors = self.embedder.embed([c.text for c in chunks])
            self.store.upsert(chunks, vectors)
            self.report.chunks_embedded += len(chunks)
            if self.progress is not None:
                self.progress.update(sum(n for _, n in self.buffer))
            self.buffer = []
        if self.deletes:
            self.store.delete(self.deletes)
            self.report.chunks_removed += len(self.deletes)
            self.deletes = []


def ingest(
    settings: Settings,
    embedder: Embedder,
    store: Store,
    sources: Sequence[str],
    *,
    reset: bool = False,
    strict: bool = False,
    progress: bool = False,
) -> tuple[IngestReport, bool]:
    """Ingest `sources`; returns the report and whether the store changed."""
    t0 = time.perf_counter()
    loaded = load(sources, strict=strict)
    report = IngestReport(skipped=list(loaded.skipped), segments=len(loaded.segments))
    params = ChunkParams(settings.chunk_tokens, settings.chunk_overlap)
    videos = group_by_video(loaded.segments)
    report.videos = len(videos)
    if not videos:  # nothing ingestable: leave the store alone, even under --reset
        report.seconds = time.perf_counter() - t0
        return report, False
    with ingest_lock(settings):
        bar = _progress_bar(report.segments) if progress else None
        writer = _Writer(store, embedder, bar, report)
        if reset:
            store.reset()
            writer.mark_dirty()  # a run killed after the reset must not leave a store that looks finished
        elif store.revision().startswith("writing-"):
            writer.dirty = True  # an earlier run was killed mid-write: this one marks the store clean
        _write_videos(videos, params, embedder, store, writer, report, bar)
        writer.flush()
        if bar is not None:
            bar.close()
        if writer.dirty:
            store.set_revision(uuid.uuid4().hex)
    report.seconds = time.perf_counter() - t0
    return report, writer.dirty


def _write_videos(
    videos: dict[str, list[Segment]],
    params: ChunkParams,
    embedder: Embedder,
    store: Store,
    writer: _Writer,
    report: IngestReport,
    bar: Any,
) -> None:
    """Chunk each video and queue what changed: new or edited chunks, and ids no longer produced."""
    states = store.video_states(list(videos))
    for vid, segs in videos.items():
        vhash = video_hash(segs, params, embedder.name)
        chunks = chunk_video(segs, embedder.count_tokens([s.text for s in segs]), params, vhash)
        report.chunks += len(chunks)
        stored = states[vid]
        fresh = [c for c in chunks if stored.get(c.id) != vhash]
        stale = sorted(set(stored) - {c.id for c in chunks})
        report.chunks_unchanged += len(chunks) - len(fresh)
        if bar is not None:
            todo = {c.id for c in fresh}
            bar.update(sum(n for c, n in zip(chunks, new_segments(chunks), strict=True) if c.id not in todo))
        if fresh or stale:
            writer.add(fresh, stale)


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="seg", desc="embedding", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
