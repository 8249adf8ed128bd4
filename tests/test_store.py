"""The Chroma store, embedded and behind a real `chroma run` server: no mocks."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import ChromaServer, free_port, settings_for

import rag
from rag import store as store_mod
from rag.config import LOCAL_EMBED_MODEL
from rag.models import Chunk
from rag.store import Store

VID_A, VID_B = "aaaaaaaaaaa", "bbbbbbbbbbb"


def make_chunks() -> list[Chunk]:
    def chunk(vid: str, start: float, texts: list[str], vhash: str) -> Chunk:
        text = " ".join(texts)
        offsets, pos = [], 0
        for t in texts:
            offsets.append(pos)
            pos += len(t) + 1
        starts = tuple(start + 4.5 * k for k in range(len(texts)))
        return Chunk(
            id=f"{vid}:{round(start * 1000)}:t128o32", video_id=vid, title=f"Title «{vid}»", start=start,
            end=starts[-1] + 5.25, text=text, segment_starts=starts, segment_offsets=tuple(offsets),
            channel="chan", video_hash=vhash,
        )  # fmt: skip

    return [
        chunk(VID_A, 0.0, ["convolutional networks learn filters", "pooling shrinks the feature map"], "ha"),
        chunk(VID_A, 9.0, ["pooling shrinks the feature map", "then a dense layer classifies"], "ha"),
        chunk(VID_B, 12.5, ["recurrent networks carry a hidden state", "through time"], "hb"),
        chunk(VID_B, 30.0, ["the recipe needs flour and salt"], "hb"),
    ]


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> rag.Settings:
    if request.param == "embedded":
        return settings_for(tmp_path / "store")
    server: ChromaServer = request.getfixturevalue("chroma_server")
    return settings_for(
        tmp_path / "store",
        chroma_host="127.0.0.1",
        chroma_port=server.port,
        collection=f"t{uuid.uuid4().hex}",
    )


def test_round_trip(settings: rag.Settings, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(settings, LOCAL_EMBED_MODEL, 384)
    assert store.revision() == "" and store.count() == 0
    assert list(store.iter_chunks()) == []
    assert store.query(np.ones(384, dtype=np.float32), 3) == []

    chunks = make_chunks()
    vectors = embedder.embed([c.text for c in chunks])
    store.upsert(chunks, vectors)
    assert store.count() == 4
    assert sorted(store.iter_chunks(), key=lambda c: c.id) == sorted(chunks, key=lambda c: c.id)
    assert store.video_state(VID_A) == {chunks[0].id: "ha", chunks[1].id: "ha"}
    assert store.video_state("zzzzzzzzzzz") == {}
    states = store.video_states([VID_A, "zzzzzzzzzzz", VID_A], batch=1)  # batches of one: paging works
    assert states == {VID_A: store.video_state(VID_A), "zzzzzzzzzzz": {}}

    hits = store.query(embedder.embed_query("what does a recurrent network remember over time"), 4)
    assert hits[0][0] == chunks[2].id
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert -1.0 <= hits[-1][1] <= hits[0][1] <= 1.0
    exact = store.query(vectors[3], 1)
    assert exact[0][0] == chunks[3].id and exact[0][1] == pytest.approx(1.0, abs=1e-4)
    only_a = store.query(vectors[3], 10, video_ids=[VID_A])
    assert {cid for cid, _ in only_a} == {chunks[0].id, chunks[1].id}

    # upsert replaces by id: no duplicates, new text and hash
    changed = dataclasses.replace(chunks[3], text="bread", video_hash="hc")
    store.upsert([changed], embedder.embed(["bread"]))
    assert store.count() == 4
    assert store.video_state(VID_B)[changed.id] == "hc"

    store.set_revision("rev-1")
    other = Store(settings, LOCAL_EMBED_MODEL, 384)  # another handle on the same collection
    assert other.revision() == "rev-1"
    assert other.count() == 4

    monkeypatch.setattr(store_mod, "PAGE", 3)  # iter_chunks pages through the whole collection
    assert sorted(c.id for c in other.iter_chunks()) == sorted(c.id for c in chunks)

    store.delete([chunks[0].id, chunks[2].id])
    store.delete([])
    assert sorted(c.id for c in store.iter_chunks()) == [chunks[1].id, chunks[3].id]
    assert store.video_state(VID_A) == {chunks[1].id: "ha"}

    store.reset()
    assert store.revision() == "" and store.count() == 0


def test_collection_recreated_elsewhere(settings: rag.Settings, embedder) -> None:
    """`ingest.py --reset` in another process: a long-lived Store follows the new collection."""
    chunks = make_chunks()
    vectors = embedder.embed([c.text for c in chunks])
    reader = Store(settings, LOCAL_EMBED_MODEL, 384)
    reader.upsert(chunks[:2], vectors[:2])
    reader.set_revision("old")
    assert reader.count() == 2

    writer = Store(settings, LOCAL_EMBED_MODEL, 384)
    writer.reset()
    assert reader.count() == 0 and reader.revision() == ""
    writer.upsert(chunks[2:], vectors[2:])
    writer.set_revision("new-content")
    assert reader.revision() == "new-content"
    assert reader.query(vectors[3], 1)[0][0] == chunks[3].id
    assert sorted(c.id for c in reader.iter_chunks()) == sorted(c.id for c in chunks[2:])
    writer.reset()
    writer.upsert(chunks[:1], vectors[:1])
    assert [cid for cid, _ in reader.query(vectors[0], 3)] == [chunks[0].id]
    assert reader.video_state(VID_B) == {}


@pytest.mark.parametrize(
    "built_with, opened_with", [(("model-A", 384), ("model-B", 384)), (("model-A", 384), ("model-A", 768))]
)
def test_model_mismatch(
    settings: rag.Settings, built_with: tuple[str, int], opened_with: tuple[str, int]
) -> None:
    built = Store(settings, *built_with)
    built.upsert(make_chunks()[:1], np.ones((1, built_with[1]), dtype=np.float32))
    built.set_revision("r1")
    for call in (
        lambda s: s.collection(),
        lambda s: s.revision(),
        lambda s: s.count(),
        lambda s: s.video_state(VID_A),
        lambda s: s.query(np.ones(opened_with[1], dtype=np.float32), 2),
    ):
        with pytest.raises(rag.ModelMismatchError) as err:
            call(Store(settings, *opened_with))
        msg = str(err.value)
        assert "model-A" in msg and "--reset" in msg
    # opening with the other model must not have rewritten what the collection records
    assert Store(settings, *built_with).revision() == "r1"
    # --reset is the way out
    other = Store(settings, *opened_with)
    other.reset()
    assert other.count() == 0
    other.upsert(make_chunks()[:1], np.ones((1, opened_with[1]), dtype=np.float32))
    with pytest.raises(rag.ModelMismatchError):
        Store(settings, *built_with).count()


def test_lectern_refuses_a_store_built_with_another_model(
    make_lectern: Callable[..., rag.Lectern], tmp_path
) -> None:
    built = Store(settings_for(tmp_path / "store"), "model-A", 384)
    built.upsert(make_chunks()[:1], np.ones((1, 384), dtype=np.float32))
    lectern = make_lectern()
    with pytest.raises(rag.ModelMismatchError, match="model-A"):
        lectern.keyword()
    with pytest.raises(rag.ModelMismatchError, match="--reset"):
        lectern.search("anything")


@pytest.mark.server
def test_server_down_is_a_store_error(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    for call in (
        lambda s: s.count(),
        lambda s: s.revision(),
        lambda s: s.query(np.ones(384, dtype=np.float32), 3),
        lambda s: s.upsert(make_chunks()[:1], np.ones((1, 384), dtype=np.float32)),
    ):
        with pytest.raises(rag.StoreError) as err:
            call(Store(settings, LOCAL_EMBED_MODEL, 384))
        msg = str(err.value)
        assert settings.store_location in msg and "chroma run" in msg
        assert "Traceback" not in msg and "?." not in msg and ".." not in msg


@pytest.mark.server
def test_server_restart_on_the_same_path(tmp_path: Path, embedder) -> None:
    server = ChromaServer(tmp_path / "data", free_port(), tmp_path / "chroma.log")
    server.start()
    try:
        settings = settings_for(tmp_path / "store", chroma_host="127.0.0.1", chroma_port=server.port)
        store = Store(settings, LOCAL_EMBED_MODEL, 384)
        chunks = make_chunks()
        vectors = embedder.embed([c.text for c in chunks])
        store.upsert(chunks, vectors)
        store.set_revision("before")

        server.stop()
        with pytest.raises(rag.StoreError, match="chroma run"):
            store.query(vectors[0], 2)
        with pytest.raises(rag.StoreError):
            store.count()
        with pytest.raises(rag.StoreError):
            store.revision()

        server.start()
        assert store.query(vectors[0], 1)[0][0] == chunks[0].id  # the same Store object, not a new one
        assert store.count() == 4
        assert store.revision() == "before"
        store.delete([chunks[0].id])
        assert sorted(c.id for c in store.iter_chunks()) == sorted(c.id for c in chunks[1:])

        server.stop()  # restarted while the Store was idle: no failed call in between
        server.start()
        assert store.query(vectors[1], 1)[0][0] == chunks[1].id
        assert store.video_state(VID_B) == {chunks[2].id: "hb", chunks[3].id: "hb"}
    finally:
        server.stop()


def test_unusable_store_directory_is_a_clear_store_error(tmp_path) -> None:
    from rag.store import ingest_lock

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store directory should be")
    settings = rag.Settings(store_dir=blocker / "store", _env_file=None)
    with pytest.raises(rag.StoreError, match="cannot write to the store directory"), ingest_lock(settings):
        pass
