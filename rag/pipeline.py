"""Lectern: the one object the CLI and the chat use. Models load lazily, once, and are shared by threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import indexing
from .answer import Answerer
from .config import BUNDLED_SAMPLE, Settings
from .embeddings import Embedder, cached, make_embedder
from .keyword import KeywordIndex
from .models import Answer, IngestReport
from .retrieval import Retrieval, Retriever
from .store import Store

REVISION_CHECK_SECONDS = 5.0


class Lectern:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store: Store | None = None
        self._keyword: KeywordIndex | None = None
        self._checked = 0.0
        self._answerer: Answerer | None = None
        self._lock = threading.RLock()

    # -- lazily built parts -----------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
            return self._embedder

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store(self.settings, self.embedder.name, self.embedder.dim)
            return self._store

    def _keyword_dir(self) -> Path:
        return Path(self.settings.store_dir) / "keyword" / self.settings.collection

    def keyword(self) -> KeywordIndex:
        """The BM25 index for the store as it is now: cached on disk, rebuilt when the store changed."""
        with self._lock:
            now = time.monotonic()
            if self._keyword is not None and now - self._checked < REVISION_CHECK_SECONDS:
                return self._keyword
            revision = self.store.revision()
            self._checked = now
            if self._keyword is None or self._keyword.revision != revision:
                cached = KeywordIndex.load(self._keyword_dir(), revision)
                if cached is None:
                    cached = KeywordIndex(list(self.store.iter_chunks()), revision)
                    if revision and not revision.startswith("writing-"):
                        cached.save(self._keyword_dir())
                self._keyword = cached
            return self._keyword

    @property
    def answerer(self) -> Answerer:
        with self._lock:
            if self._answerer is None:
                self._answerer = Answerer(self.settings, self._idf, cached(self.embedder))
            return self._answerer

    def _idf(self, term: str) -> float:
        # Called for every word of every cited sentence: skip keyword()'s lock and freshness check, which
        # the retrieval of the same question has just done.
        return (self._keyword or self.keyword()).idf(term)

    def warm_up(self) -> None:
        """Load the model, the store and the keyword index now rather than on the first question."""
        self.embedder.embed_query("warm up")
        self.keyword()
        self.answerer.warm_up()

    # -- ingestion --------------------------------------------------------------------------------

    def ingest(
        self,
        sources: Sequence[str] = (),
        *,
        reset: bool = False,
        strict: bool = False,
        progress: bool = False,
    ) -> IngestReport:
        sources = list(sources) or [str(BUNDLED_SAMPLE)]
        report, changed = indexing.ingest(
            self.settings, self.embedder, self.store, sources, reset=reset, strict=strict, progress=progress
        )
        if changed or reset:
            with self._lock:
                self._keyword = None
            self.keyword()  # rebuild and save now, so the first question does not pay for it
        return report

    # -- questions --------------------------------------------------------------------------------

    def retriever(self) -> Retriever:
        return Retriever(self.settings, self.embedder, self.store, self.keyword())

    def search(
        self,
        question: str,
        *,
        k: int | None = None,
        history: Sequence[str] = (),
        video_ids: Sequence[str] | None = None,
        title: str | None = None,
    ) -> Retrieval:
        query = self.answerer.standalone(question, history) if history else question
        return self.retriever().retrieve(query, k, video_ids, title)

    def ask_stream(
        self,
        question: str,
        *,
        k: int | None = None,
        history: Sequence[str] = (),
        video_ids: Sequence[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Text deltas, then the final Answer (always the last item)."""
        retrieval = self.search(question, k=k, history=history, video_ids=video_ids)
        yield from self.answerer.stream(question, retrieval)

    def ask(self, question: str, **kwargs: Any) -> Answer:
        return _last(self.ask_stream(question, **kwargs))

    def answer(self, question: str, retrieval: Retrieval) -> Answer:
        """The answer to `question` from a retrieval already made (by `search`), without searching again."""
        return _last(self.answerer.stream(question, retrieval))

    # -- what is indexed --------------------------------------------------------------------------

    def videos(self) -> list[tuple[str, str]]:
        """(video id, title) of every indexed lecture, by title."""
        return sorted(self.keyword().titles.items(), key=lambda kv: (kv[1].casefold() or "~", kv[0]))

    def stats(self) -> dict[str, object]:
        kw = self.keyword()
        return {
            "collection": self.settings.collection,
            "videos": len(kw.titles),
            "chunks": self.store.count(),
            "embed_model": self.embedder.name,
            "store": self.settings.store_location,
        }

    @property
    def mode(self) -> str:
        return self.answerer.mode


def _last(items: Iterator[str | Answer]) -> Answer:
    final: Answer | None = None
    for item in items:
        if isinstance(item, Answer):
            final = item
    assert final is not None  # Answerer.stream always ends with the Answer
    return final
