"""Incremental ingestion through Lectern.ingest, on a real embedded Chroma and the real model."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import RenamedModel, corpus_rows, keyword_ids, store_ids, video_id, write_jsonl

import rag
from rag import indexing
from rag.keyword import KeywordIndex

MakeLectern = Callable[..., rag.Lectern]


def snapshot(lectern: rag.Lectern) -> list[tuple[Any, ...]]:
    """Everything stored about each chunk, except the vector."""
    return sorted(
        (c.id, c.video_id, c.title, c.start, c.end, c.text, c.segment_starts, c.segment_offsets, c.video_hash)
        for c in lectern.store.iter_chunks()
    )


def assert_consistent(lectern: rag.Lectern, make_lectern: MakeLectern) -> list[str]:
    """The keyword index (cached in this Lectern, and as a new process would load it) matches Chroma."""
    ids = store_ids(lectern)
    assert len(ids) == len(set(ids))
    assert keyword_ids(lectern) == ids
    fresh = make_lectern(lectern.settings.store_dir)
    assert keyword_ids(fresh) == ids
    assert fresh.store.revision() and not fresh.store.revision().startswith("writing-")
    return ids


def clean(
    make_lectern: MakeLectern, tmp_path: Path, sources: Sequence[Path], name: str = "clean"
) -> rag.Lectern:
    lectern = make_lectern(tmp_path / name)
    lectern.ingest([str(s) for s in sources])
    return lectern


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    rows = corpus_rows(videos=3, segments=30, words=8, seed=1)
    return write_jsonl(tmp_path / "a.jsonl", rows), rows


def test_rerun_embeds_nothing(make_lectern: MakeLectern, corpus) -> None:
    path, _ = corpus
    lectern = make_lectern()
    first = lectern.ingest([str(path)])
    assert first.videos == 3 and first.segments == 90
    assert first.chunks_embedded == first.chunks > 3 and first.chunks_unchanged == 0
    ids = assert_consistent(lectern, make_lectern)
    revision = lectern.store.revision()

    again = make_lectern().ingest([str(path)])
    assert again.chunks_embedded == 0 and again.chunks_removed == 0
    assert again.chunks_unchanged == again.chunks == first.chunks
    assert store_ids(lectern) == ids
    assert make_lectern().store.revision() == revision, (
        "a run that changed nothing must not invalidate caches"
    )


@pytest.mark.parametrize("edit", ["same-length", "longer"])
def test_changed_video_is_replaced_whole(
    make_lectern: MakeLectern, corpus, tmp_path: Path, edit: str
) -> None:
    path, rows = corpus
    lectern = make_lectern()
    lectern.ingest([str(path)])
    before = {c[0]: c for c in snapshot(lectern)}

    changed = copy.deepcopy(rows)
    k = 30 + 12  # a segment in the middle of the second video
    assert changed[k]["video_id"] == video_id(1)
    if edit == "same-length":
        changed[k]["text"] = changed[k]["text"].replace(changed[k]["text"].split()[0], "transformer", 1)
    else:  # many more tokens: the windows after it shift, so some chunk ids go away
        changed[k]["text"] += " " + " ".join(["attention"] * 40)
    new_path = write_jsonl(tmp_path / "b.jsonl", changed)

    report = lectern.ingest([str(new_path)])
    expected = clean(make_lectern, tmp_path, [new_path])
    assert snapshot(lectern) == snapshot(expected), "the store must equal a clean ingest of the new file"
    assert_consistent(lectern, make_lectern)

    after = {c[0]: c for c in snapshot(lectern)}
    for cid, row in after.items():
        if row[1] != video_id(1):
            assert before[cid] == row, "other videos are untouched"
    video1 = [cid for cid, row in after.items() if row[1] == video_id(1)]
    assert report.chunks_embedded == len(video1), "only the changed video is embedded again"
    stale = {cid for cid, row in before.items() if row[1] == video_id(1)} - set(video1)
    assert report.chunks_removed == len(stale)
    if edit == "longer":
        assert stale, "the edit should have moved window boundaries"
    assert len({row[-1] for row in after.values() if row[1] == video_id(1)}) == 1, (
        "no chunk keeps the old hash"
    )


def test_other_sources_are_untouched(make_lectern: MakeLectern, corpus, tmp_path: Path) -> None:
    path_a, _ = corpus
    rows_b = corpus_rows(videos=2, segments=20, words=8, seed=2, first_video=10)
    path_b = write_jsonl(tmp_path / "b.jsonl", rows_b)
    lectern = make_lectern()
    lectern.ingest([str(path_a)])
    only_a = snapshot(lectern)
    lectern.ingest([str(path_b)])
    both = snapshot(lectern)
    assert set(only_a) <= set(both)
    assert {c[1] for c in both} == {video_id(v) for v in (0, 1, 2, 10, 11)}
    assert_consistent(lectern, make_lectern)

    rows_b[5]["text"] = "a brand new sentence about dropout"
    write_jsonl(path_b, rows_b)
    report = lectern.ingest([str(path_b)])
    assert report.chunks_embedded > 0
    assert set(only_a) <= set(snapshot(lectern)), "re-ingesting B left A's chunks as they were"
    expected = clean(make_lectern, tmp_path, [path_a, path_b])
    assert snapshot(lectern) == snapshot(expected)
    assert_consistent(lectern, make_lectern)


def test_reset(make_lectern: MakeLectern, corpus, tmp_path: Path) -> None:
    path_a, _ = corpus
    path_b = write_jsonl(
        tmp_path / "b.jsonl", corpus_rows(videos=1, segments=25, words=8, seed=3, first_video=20)
    )
    lectern = make_lectern()
    lectern.ingest([str(path_a)])
    report = lectern.ingest([str(path_b)], reset=True)
    assert report.chunks_embedded == report.chunks
    assert snapshot(lectern) == snapshot(clean(make_lectern, tmp_path, [path_b]))
    ids = assert_consistent(lectern, make_lectern)
    # reset also clears a store built with another model: the documented way out of a mismatch
    other = make_lectern(embedder_=RenamedModel(lectern.embedder))
    with pytest.raises(rag.ModelMismatchError):
        other.ingest([str(path_b)])
    other.ingest([str(path_b)], reset=True)
    assert store_ids(other) == ids
    with pytest.raises(rag.ModelMismatchError, match="other-model"):
        lectern.search("neural networks")  # the first Lectern's handle now sees the re-created collection


def test_keyword_cache_reused_when_revision_matches(
    make_lectern: MakeLectern, corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = corpus
    lectern = make_lectern()
    lectern.ingest([str(path)])
    folder = lectern._keyword_dir()
    revision = lectern.store.revision()
    assert (folder / "revision").read_text() == revision

    builds: list[int] = []
    real_init = KeywordIndex.__init__

    def counting_init(self: KeywordIndex, chunks: Any, revision: str = "") -> None:
        builds.append(len(chunks))
        real_init(self, chunks, revision)

    monkeypatch.setattr(KeywordIndex, "__init__", counting_init)
    reader = make_lectern()
    assert keyword_ids(reader) == store_ids(lectern)
    assert builds == [], "the cached index of the same revision is loaded, not rebuilt"
    assert reader.keyword().search("neural", 3) == lectern.keyword().search("neural", 3)

    # another writer changes the store: a new reader sees the new revision and rebuilds once
    extra = write_jsonl(
        tmp_path / "c.jsonl", corpus_rows(videos=1, segments=12, words=8, seed=4, first_video=30)
    )
    make_lectern().ingest([str(extra)])
    builds.clear()
    reader2 = make_lectern()
    assert keyword_ids(reader2) == store_ids(reader2)
    assert video_id(30) in {c.video_id for c in reader2.keyword().chunks}
    assert len(builds) <= 1
    assert (folder / "revision").read_text() == reader2.store.revision()

    # a cache whose revision does not match is rebuilt, not trusted
    (folder / "revision").write_text("something-else")
    builds.clear()
    assert keyword_ids(make_lectern()) == store_ids(reader2)
    assert len(builds) == 1
    assert (folder / "revision").read_text() == reader2.store.revision()


class Crash(Exception):
    pass


class CrashingModel:
    """The real model that dies on its n-th embed call: an ingest killed mid-run, in-process."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after, self.calls = inner, after, 0
        self.name, self.dim = inner.name, inner.dim

    def embed(self, texts: Sequence[str]) -> Any:
        self.calls += 1
        if self.calls > self.after:
            raise Crash
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def test_interrupted_runs_never_leave_a_stale_keyword_index(
    make_lectern: MakeLectern, embedder, corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexing, "FLUSH_CHUNKS", 4)  # several flushes in a small corpus
    path_a, _ = corpus
    path_b = write_jsonl(
        tmp_path / "b.jsonl", corpus_rows(videos=3, segments=30, words=8, seed=5, first_video=40)
    )

    for source in (path_a, path_b):  # two --reset runs, each interrupted after one flush
        with pytest.raises(Crash):
            make_lectern(embedder_=CrashingModel(embedder, after=1)).ingest([str(source)], reset=True)
        reader = make_lectern()
        assert len(store_ids(reader)) > 0 and keyword_ids(reader) == store_ids(reader)

    # interrupted without --reset, then finished by a normal run
    with pytest.raises(Crash):
        make_lectern(embedder_=CrashingModel(embedder, after=1)).ingest([str(path_a)])
    reader = make_lectern()
    assert keyword_ids(reader) == store_ids(reader)
    lectern = make_lectern()
    lectern.ingest([str(path_a), str(path_b)])
    assert snapshot(lectern) == snapshot(clean(make_lectern, tmp_path, [path_b, path_a]))
    assert_consistent(lectern, make_lectern)


def test_run_after_a_crash_past_the_last_write_finishes_the_revision(
    make_lectern: MakeLectern, corpus
) -> None:
    """Killed after its last write but before marking the store clean: the next run, with nothing to
    embed, must still mark it clean, or every process rebuilds the keyword index from scratch forever."""
    path, _ = corpus
    lectern = make_lectern()
    lectern.ingest([str(path)])
    lectern.store.set_revision("writing-killed")
    report = make_lectern().ingest([str(path)])
    assert report.chunks_embedded == 0
    reader = make_lectern()
    revision = reader.store.revision()
    assert revision and not revision.startswith("writing-")
    assert keyword_ids(reader) == store_ids(reader)
    assert (reader._keyword_dir() / "revision").read_text() == revision
