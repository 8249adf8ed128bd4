"""Chroma, embedded (PersistentClient) or a `chroma run` server (HttpClient): the only module importing it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from operator import methodcaller
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .config import Settings
from .errors import ModelMismatchError, StoreError, StoreLockedError
from .models import Chunk

T = TypeVar("T")
PAGE = 5000


def chunk_to_record(chunk: Chunk) -> tuple[str, dict[str, Any]]:
    # Chroma metadata must be scalar: per-segment starts and offsets travel as JSON strings.
    meta = {
        "video_id": chunk.video_id,
        "title": chunk.title,
        "channel": chunk.channel,
        "start": float(chunk.start),
        "end": float(chunk.end),
        "seg_starts": json.dumps(list(chunk.segment_starts)),
        "seg_offsets": json.dumps(list(chunk.segment_offsets)),
        "video_hash": chunk.video_hash,
    }
    return chunk.text, meta


def record_to_chunk(cid: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=cid,
        video_id=str(meta["video_id"]),
        title=str(meta.get("title") or ""),
        channel=str(meta.get("channel") or ""),
        start=float(meta["start"]),
        end=float(meta["end"]),
        text=text,
        segment_starts=tuple(float(x) for x in json.loads(str(meta["seg_starts"]))),
        segment_offsets=tuple(int(x) for x in json.loads(str(meta["seg_offsets"]))),
        video_hash=str(meta.get("video_hash") or ""),
    )


class Store:
    """One collection of chunks, with the embedding model that built it recorded in its metadata."""

    def __init__(self, settings: Settings, embed_model: str, dim: int) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.dim = dim
        self._client: Any = None
        self._collection: Any = None

    # -- connection -------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        """Run a Chroma call; whatever goes wrong below becomes one StoreError a user can act on."""
        try:
            return fn()
        except (StoreError, KeyboardInterrupt):
            raise
        except Exception as exc:
            self._collection = None  # a restarted server may need a fresh handle
            where = self.settings.store_location
            hint = " Is `chroma run` up?" if self.settings.chroma_host else ""
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
            end = "" if detail.endswith(("?", "!")) else "."
            raise StoreError(f"the vector store at {where} failed: {detail}{end}{hint}") from exc

    def _make_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.settings.chroma_host:
            return chromadb.HttpClient(
                host=self.settings.chroma_host, port=self.settings.chroma_port, settings=chroma_settings
            )
        self.settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.settings.store_dir), settings=chroma_settings)

    def collection(self, create: bool = True) -> Any:
        if self._collection is not None:
            return self._collection
        if self._client is None:
            self._client = self._call(self._make_client)
        name = self.settings.collection
        if create:
            coll = self._call(
                lambda: self._client.get_or_create_collection(
                    name,
                    metadata={"embed_model": self.embed_model, "embed_dim": self.dim, "revision": "new"},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            )
        else:
            names = self._call(lambda: [c.name for c in self._client.list_collections()])
            if name not in names:
                return None
            coll = self._call(lambda: self._client.get_collection(name, embedding_function=None))
        self._check_model(coll)
        self._collection = coll
        return coll

    def _check_model(self, coll: Any) -> None:
        meta = coll.metadata or {}
        built_with = meta.get("embed_model")
        if built_with and (
            built_with != self.embed_model or int(meta.get("embed_dim", self.dim)) != self.dim
        ):
            raise ModelMismatchError(
                f"collection {self.settings.collection!r} at {self.settings.store_location} was built with "
                f"{built_with} ({meta.get('embed_dim')} dimensions), "
                f"but RAG_EMBED_MODEL is {self.embed_model}. "
                f"Set RAG_EMBED_MODEL={built_with}, or rebuild it: python ingest.py --reset SOURCE ..."
            )

    def reset(self) -> None:
        if self._client is None:
            self._client = self._call(self._make_client)
        names = self._call(lambda: [c.name for c in self._client.list_collections()])
        if self.settings.collection in names:
            self._call(lambda: self._client.delete_collection(self.settings.collection))
        self._collection = None

    def _on_collection(self, fn: Callable[[Any], T], create: bool = True) -> T | None:
        """fn(collection) as one store call; None when there is no collection and create is False.

        A handle whose collection was deleted and re-created elsewhere (`ingest.py --reset` while a chat
        runs) is fetched again once, so a long-lived process does not fail on its next call.
        """
        for attempt in (1, 2):
            coll = self.collection(create=create)
            if coll is None:
                return None
            try:
                return self._call(partial(fn, coll))
            except StoreError as exc:
                if attempt == 2 or not _collection_gone(exc.__cause__):
                    raise
        raise AssertionError("unreachable")

    # -- revision: lets the keyword index know whether it still matches ----------------------------

    def revision(self) -> str:
        return self._on_collection(lambda _: self._fresh_revision(), create=False) or ""

    def _fresh_revision(self) -> str:
        fresh = self._client.get_collection(self.settings.collection, embedding_function=None)
        if fresh.id != self._collection.id:  # re-created elsewhere since this handle was taken
            self._check_model(fresh)
            self._collection = fresh
        return str((fresh.metadata or {}).get("revision", ""))

    def set_revision(self, revision: str) -> None:
        def modify(coll: Any) -> None:
            meta = dict(coll.metadata or {})
            meta.update(embed_model=self.embed_model, embed_dim=self.dim, revision=revision)
            coll.modify(metadata=meta)

        self._on_collection(modify)

    # -- reads and writes ---------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._on_collection(lambda coll: coll.count(), create=False) or 0)

    def video_state(self, video_id: str) -> dict[str, str]:
        """Chunk id -> video hash of what is stored for one video."""
        return self.video_states([video_id])[video_id]

    def video_states(self, video_ids: Sequence[str], batch: int = 256) -> dict[str, dict[str, str]]:
        """video_state for many videos, a few hundred per query: re-ingesting 2,068 unchanged videos spent
        35% of its time in one lookup per video."""
        out: dict[str, dict[str, str]] = {vid: {} for vid in video_ids}
        for b in range(0, len(video_ids), batch):
            where: dict[str, Any] = {"video_id": {"$in": list(video_ids[b : b + batch])}}
            got = self._on_collection(methodcaller("get", where=where, include=["metadatas"]))
            assert got is not None
            for cid, m in zip(got["ids"], got["metadatas"], strict=True):
                vid = str(m.get("video_id", ""))
                if vid in out:
                    out[vid][cid] = str(m.get("video_hash", ""))
        return out

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        docs, metas = zip(*(chunk_to_record(c) for c in chunks), strict=True)
        self._on_collection(
            lambda coll: coll.upsert(
                ids=[c.id for c in chunks], embeddings=vectors, documents=list(docs), metadatas=list(metas)
            )
        )

    def delete(self, ids: Sequence[str]) -> None:
        for b in range(0, len(ids), PAGE):
            self._on_collection(methodcaller("delete", ids=list(ids[b : b + PAGE])))

    def iter_chunks(self) -> Iterator[Chunk]:
        offset = 0
        while True:
            page = methodcaller("get", include=["documents", "metadatas"], limit=PAGE, offset=offset)
            got = self._on_collection(page, create=False)
            if got is None:
                return
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield record_to_chunk(cid, doc or "", meta)
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def query(
        self, vector: np.ndarray, n: int, video_ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        where: dict[str, Any] | None = None
        if video_ids:
            where = {"video_id": {"$in": list(video_ids)}}
        got = self._on_collection(
            lambda coll: coll.query(
                query_embeddings=[vector], n_results=n, where=where, include=["distances"]
            ),
            create=False,
        )
        if got is None:
            return []
        return [(cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)]


def _collection_gone(exc: BaseException | None) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError)


@contextlib.contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """One writer per embedded store: two PersistentClients writing one directory corrupt it or hang."""
    if settings.chroma_host:
        yield  # the server serialises writes itself
        return
    path = Path(settings.store_dir) / ".ingest.lock"
    try:
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")  # noqa: SIM115 - closed by the with-block below
    except OSError as exc:
        raise StoreError(
            f"cannot write to the store directory {settings.store_dir}: {exc.strerror}"
        ) from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise StoreLockedError(
                f"another ingest (pid {holder}) is writing to {settings.store_dir}; wait for it to finish, "
                "or use a `chroma run` server (RAG_CHROMA_HOST) for concurrent writers"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
