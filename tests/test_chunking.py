"""Property tests of the chunker: windows of whole segments inside one video, sized in tokens."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from rag.chunking import ChunkParams, chunk_segments, chunk_video, group_by_video, video_hash, windows
from rag.models import Segment


def local_settings(max_examples: int) -> settings:
    """Local settings, not a loaded profile: other test modules keep their own hypothesis settings."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


many = local_settings(200)
few = local_settings(60)

WORDS = ["alpha", "beta", "gamma", "delta", "net", "loss", "grad", "x", "y", "z"]


def count_words(texts: Sequence[str]) -> list[int]:
    """A token counter the test can reason about: one token per word."""
    return [len(t.split()) for t in texts]


params_st = st.builds(ChunkParams, max_tokens=st.integers(1, 60), overlap=st.integers(0, 80))
counts_st = st.lists(st.integers(0, 45), max_size=60)


# -- windows over one video's token counts ----------------------------------------------------------


@many
@given(counts_st, params_st)
@example([100, 20, 120], ChunkParams(128, 32))  # a window that would add nothing new to the previous one
@example([5, 5, 5], ChunkParams(16, 200))  # overlap larger than the window
@example([0, 0, 0, 9], ChunkParams(4, 0))
def test_windows_cover_every_segment_in_order(counts: list[int], params: ChunkParams) -> None:
    out = windows(counts, params)
    n = len(counts)
    if n == 0:
        assert out == []
        return
    assert out[0][0] == 0, "the first window starts at the first segment"
    assert out[-1][1] == n, "the last window ends at the last segment"
    for i, j in out:
        assert 0 <= i < j <= n
        if j - i > 1:
            assert sum(counts[i:j]) <= params.max_tokens, (i, j)
        if j < n:  # greedy: the next segment did not fit
            assert sum(counts[i:j]) + counts[j] > params.max_tokens
    for (i0, j0), (i1, j1) in itertools.pairwise(out):
        assert i1 > i0, "starts strictly increase"
        assert j1 > j0, "every window adds a segment the previous one lacked"
        assert i1 <= j0, "no gap: windows are contiguous"
        assert sum(counts[i1:j0]) <= params.overlap, "shared tail within overlap"
    covered = set().union(*(range(i, j) for i, j in out))
    assert covered == set(range(n))


@many
@given(st.lists(st.integers(1, 30), min_size=1, max_size=40), st.integers(8, 64))
def test_windows_without_overlap_partition_the_video(counts: list[int], max_tokens: int) -> None:
    out = windows(counts, ChunkParams(max_tokens, 0))
    flat = [k for i, j in out for k in range(i, j)]
    assert flat == list(range(len(counts)))


def test_oversize_segment_is_a_window_of_its_own() -> None:
    assert windows([10, 300, 10], ChunkParams(128, 32)) == [(0, 1), (1, 2), (2, 3)]
    assert windows([300], ChunkParams(128, 32)) == [(0, 1)]


def test_overlap_repeats_the_tail() -> None:
    # 4 x 40 tokens, 100 per window, 40 overlap: [0,1] [1,2] [2,3]
    assert windows([40, 40, 40, 40], ChunkParams(100, 40)) == [(0, 2), (1, 3), (2, 4)]


# -- chunks of several videos -------------------------------------------------------------------------


GAPS = (0.0, 0.5, 1.0, 2.25, 7.0)
DURATIONS = (0.0, 0.5, 3.0, 12.0)  # long cues end after the next one starts

# One segment: (gap before it, duration, words, first word); few draws, so examples are cheap.
segment_st = st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(1, 12), st.integers(0, 9))


@st.composite
def videos_st(draw: st.DrawFn, distinct_starts: bool = False) -> list[Segment]:
    segments: list[Segment] = []
    for v, rows in enumerate(
        draw(st.lists(st.lists(segment_st, min_size=1, max_size=20), min_size=1, max_size=3))
    ):
        vid = f"video{v:06d}"
        t = float(draw(st.integers(0, 100)))
        for k, (gap, dur, n, w) in enumerate(rows):
            step = GAPS[gap]
            t += 0.125 if distinct_starts and k and step == 0.0 else step
            text = " ".join(WORDS[(w + x * x) % len(WORDS)] for x in range(n))
            segments.append(
                Segment(vid, t, t + DURATIONS[dur], f"{text} s{k}", title=f"Title {v}", channel="ch")
            )
    return segments


@few
@given(videos_st(), params_st, st.randoms(use_true_random=False))
def test_chunks_are_windows_of_one_video(
    segments: list[Segment], params: ChunkParams, rnd: random.Random
) -> None:
    shuffled = list(segments)
    rnd.shuffle(shuffled)  # interleaved videos: grouping, not input order, decides
    chunks = chunk_segments(shuffled, count_words, params, model="m")
    by_video = group_by_video(shuffled)
    seen: set[str] = set()
    covered: dict[str, set[float]] = {vid: set() for vid in by_video}
    per_video: dict[str, list] = {}
    for c in chunks:
        assert c.id not in seen, "ids are unique"
        seen.add(c.id)
        assert c.id.startswith(c.video_id + ":")
        per_video.setdefault(c.video_id, []).append(c)
    for vid, segs in by_video.items():
        spans = windows(count_words([s.text for s in segs]), params)
        got = per_video[vid]
        assert len(got) == len(spans)
        vhash = video_hash(segs, params, "m")
        for c, (i, j) in zip(got, spans, strict=True):
            part = segs[i:j]
            assert {s.video_id for s in part} == {vid}, "a chunk never mixes videos"
            assert c.start == part[0].start
            assert c.end == max(s.end for s in part), "end of the last included segment, not the next one's"
            assert c.text == " ".join(s.text for s in part)
            assert c.segment_starts == tuple(s.start for s in part)
            assert len(c.segment_offsets) == len(part)
            assert [t for _, _, t in c.segments()] == [s.text for s in part]
            for off, s in zip(c.segment_offsets, part, strict=True):
                assert c.text[off : off + len(s.text)] == s.text
            assert [a for a, _, _ in c.segments()] == list(c.segment_starts)
            assert c.segments()[-1][1] == c.end
            assert c.title == part[0].title and c.channel == part[0].channel
            assert c.video_hash == vhash
            covered[vid].update(range(i, j))
        assert covered[vid] == set(range(len(segs))), "every segment is in some chunk"
        assert got[-1].segment_starts[-1] == segs[-1].start


@few
@given(videos_st(), params_st)
def test_chunk_ids_are_deterministic(segments: list[Segment], params: ChunkParams) -> None:
    a = chunk_segments(segments, count_words, params, model="m")
    b = chunk_segments(list(segments), count_words, params, model="m")
    assert a == b
    assert len({c.id for c in a}) == len(a)


@few
@given(videos_st(distinct_starts=True), params_st, st.randoms(use_true_random=False))
def test_chunks_do_not_depend_on_row_order(
    segments: list[Segment], params: ChunkParams, rnd: random.Random
) -> None:
    shuffled = list(segments)
    rnd.shuffle(shuffled)
    a = sorted(chunk_segments(segments, count_words, params, "m"), key=lambda c: c.id)
    b = sorted(chunk_segments(shuffled, count_words, params, "m"), key=lambda c: c.id)
    assert a == b


def test_stacked_cues_get_distinct_ids() -> None:
    segs = [Segment("abcdefghijk", 5.0, 5.0, " ".join(["w"] * 10) + f" {k}") for k in range(6)]
    chunks = chunk_segments(segs, count_words, ChunkParams(12, 0))
    assert len(chunks) == 6
    assert len({c.id for c in chunks}) == 6


@few
@given(videos_st(), params_st, st.data())
def test_video_hash_changes_when_any_segment_changes(
    segments: list[Segment], params: ChunkParams, data: st.DataObject
) -> None:
    vid = segments[0].video_id
    segs = group_by_video(segments)[vid]
    before = video_hash(segs, params, "m")
    k = data.draw(st.integers(0, len(segs) - 1))
    field = data.draw(st.sampled_from(["text", "start", "end", "title", "channel"]))
    old = segs[k]
    new_value: float | str
    if field in ("start", "end"):
        new_value = getattr(old, field) + data.draw(st.sampled_from([0.001, 1.0, -0.5]))
    else:
        new_value = getattr(old, field) + data.draw(st.sampled_from(["!", " more", "x"]))
    change: dict[str, Any] = {field: new_value}  # a field drawn at run time: its type follows the branch
    changed = [*segs[:k], dataclasses.replace(old, **change), *segs[k + 1 :]]
    assume(changed[k] != old)
    assert video_hash(changed, params, "m") != before
    assert video_hash(segs, params, "m") == before
    assert video_hash(segs, ChunkParams(params.max_tokens + 1, params.overlap), "m") != before
    assert video_hash(segs, params, "other-model") != before
    assert video_hash(segs[:-1], params, "m") != before or len(segs) == 0


def test_chunk_video_matches_real_token_counts(embedder: object) -> None:
    """The real tokenizer drives the budget: no window over max_tokens unless it is one segment."""
    from conftest import corpus_rows

    rows = corpus_rows(videos=2, segments=60, words=9)
    segs = [Segment(r["video_id"], r["start_second"], r["end_second"], r["text"], r["title"]) for r in rows]
    params = ChunkParams(64, 16)
    chunks = chunk_segments(segs, embedder.count_tokens, params, "m")  # type: ignore[attr-defined]
    assert {c.video_id for c in chunks} == {segs[0].video_id, segs[-1].video_id}
    for c in chunks:
        pieces = [t for _, _, t in c.segments()]
        assert len(pieces) == 1 or sum(embedder.count_tokens(pieces)) <= 64  # type: ignore[attr-defined]
    assert chunk_video([], [], params) == []
