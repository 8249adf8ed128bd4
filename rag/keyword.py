"""The keyword (BM25) side index, kept beside the store because local Chroma has no sparse index.

It is built once from the store's documents and cached on disk with the store's revision; a query never
rebuilds it (open-webui rebuilt BM25 per query: minutes before the first token).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from .models import Chunk

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL_WORD = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z]*\b")  # DeepTraffic, AlphaGo, iPhone
_CAMEL_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# Words of asking, not of content: a transcript answers "why ..." without saying "why". The refusal gate's
# coverage ignores them. (Dropping them from BM25 queries too measured -1 hit@1 over both question sets.)
ASKING = frozenset(
    {
        "what", "whi", "how", "when", "where", "which", "who", "whom", "whose", "doe", "do", "did", "can",
        "could", "would", "should", "explain", "tell", "describ", "mean", "lectur", "professor", "speaker",
        "talk", "say", "said", "mention", "video",
    }
)  # fmt: skip


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def plain_words(text: str) -> list[str]:
    """The lower-cased words and numbers of `text`, punctuation dropped: what every word list here reads."""
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Lower-cased, stop words out, Snowball-stemmed: 'Training networks' -> ['train', 'network']."""
    words = [w for w in plain_words(text) if w not in _stopwords()]
    return list(_stemmer().stemWords(words))


def singular(word: str) -> str:
    """Plurals folded, as written: "networks" -> "network", "policies" -> "policy", "loss" stays."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def surface_terms(text: str) -> dict[str, str]:
    """Words as written, plurals folded, each mapped to its stem: {'transformer': 'transform'}.

    Stemming suits ranking but merges the distinct technical terms a question names ("transformer" and
    "transformations", "positional" and "position"): the refusal gate matches written words instead.
    """
    words = [w for w in plain_words(text) if w not in _stopwords()]
    stems = _stemmer().stemWords(words)
    return {singular(w): s for w, s in zip(words, stems, strict=True)}


def camel_words(text: str) -> list[str]:
    """The camel-case words of `text`: "DeepTraffic", "AlphaGo", "iPhone"."""
    return _CAMEL_WORD.findall(text)


def camel_split(word: str) -> list[str]:
    """A camel-case word's parts, as speech recognition writes them: "DeepTraffic" -> ["Deep", "Traffic"]."""
    return _CAMEL_PART.findall(word)


def joined_terms(text: str) -> set[str]:
    """Each pair of neighbouring words written as one, plurals folded: "auto encoders" -> "autoencoder".

    Speech recognition splits compounds and names that a question writes whole ("DeepTraffic",
    "autoencoder", "backprop"), so a passage that says them looks as if it lacked them.
    """
    words = plain_words(text)
    return {singular(a + b) for a, b in pairwise(words)}


class KeywordIndex:
    """BM25 over chunk texts, plus the chunks themselves so hits need no second store round trip."""

    def __init__(self, chunks: Sequence[Chunk], revision: str = "") -> None:
        import bm25s

        self.revision = revision
        self.chunks = list(chunks)
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        self._bm25 = bm25s.BM25()
        self._lock = threading.Lock()  # bm25s keeps per-call state on the object
        if self.chunks:
            self._bm25.index([terms(f"{c.title} {c.text}") for c in self.chunks], show_progress=False)
        self._vocab: dict[str, int] = dict(getattr(self._bm25, "vocab_dict", {}) or {})
        self.doc_freq = self._document_frequencies()

    def _document_frequencies(self) -> dict[str, int]:
        scores = getattr(self._bm25, "scores", None)
        if not self.chunks or not scores:
            return {}
        indptr = np.asarray(scores["indptr"])
        counts = np.diff(indptr)  # one column per vocabulary entry in bm25s' CSC layout
        return {t: int(counts[i]) for t, i in self._vocab.items() if i < len(counts)}

    @cached_property
    def titles(self) -> dict[str, str]:
        """Each video's title, by video id (every chunk of a video carries the same one)."""
        return {c.video_id: c.title for c in self.chunks}

    @cached_property
    def names(self) -> dict[str, str]:
        """Each video's title and speaker (channel), by video id: what a question may call a lecture."""
        return {c.video_id: f"{c.title} {c.channel}" for c in self.chunks}

    @cached_property
    def speakers(self) -> dict[str, str]:
        """Each video's speaker (the ingested channel, "" when unknown), by video id."""
        return {c.video_id: c.channel for c in self.chunks}

    @cached_property
    def typical_chars(self) -> int:
        """Median text length of a stored chunk: the scale retrieval caps merged windows at."""
        return int(np.median([len(c.text) for c in self.chunks])) if self.chunks else 0

    def idf(self, term: str) -> float:
        n = max(len(self.chunks), 1)
        df = self.doc_freq.get(term, 0)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def query_terms(self, query: str) -> list[str]:
        """The query's terms that the index knows. A camel-case word it does not know ("DeepTraffic") is
        also searched as its parts: speech recognition writes such names as separate words."""
        parts = [
            part
            for word in camel_words(query)
            if not set(terms(word)) <= self._vocab.keys()
            for part in camel_split(word)
        ]
        return [w for w in terms(" ".join([query, *parts])) if w in self._vocab]

    def search(self, query: str, n: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first; `allowed` restricts to those video ids."""
        words = self.query_terms(query)
        if not words or not self.chunks:
            return []
        mask = None
        if allowed is not None:
            mask = np.fromiter((c.video_id in allowed for c in self.chunks), dtype=np.float32)
            if not mask.any():
                return []
        k = min(n, len(self.chunks))
        with self._lock:
            docs, scores = self._bm25.retrieve(
                [words], k=k, show_progress=False, weight_mask=mask, n_threads=1
            )
        return [(self.chunks[int(d)].id, float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    # -- persistence ------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.chunks:
            self._bm25.save(str(tmp / "bm25"))
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in self.chunks:
                fh.write(json.dumps(_chunk_dict(c), ensure_ascii=False) + "\n")
        (tmp / "revision").write_text(self.revision, encoding="utf-8")
        # Swap in whole so a crash never leaves a half-written index that looks current.
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path, revision: str) -> KeywordIndex | None:
        """The cached index when it was built from this store revision, else None."""
        try:
            if (folder / "revision").read_text(encoding="utf-8") != revision or not revision:
                return None
            with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
                chunks = [_chunk_from(json.loads(line)) for line in fh]
        except (OSError, ValueError, KeyError):
            return None
        return cls._restore(folder, chunks, revision)

    @classmethod
    def _restore(cls, folder: Path, chunks: list[Chunk], revision: str) -> KeywordIndex | None:
        import bm25s

        self = cls.__new__(cls)
        self.revision, self.chunks = revision, chunks
        self.by_id = {c.id: i for i, c in enumerate(chunks)}
        self._lock = threading.Lock()
        try:
            self._bm25 = bm25s.BM25.load(str(folder / "bm25")) if chunks else bm25s.BM25()
        except (OSError, ValueError):
            return None
        self._vocab = dict(getattr(self._bm25, "vocab_dict", {}) or {})
        self.doc_freq = self._document_frequencies()
        return self


def _chunk_dict(c: Chunk) -> dict[str, object]:
    return {
        "id": c.id, "video_id": c.video_id, "title": c.title, "channel": c.channel, "start": c.start,
        "end": c.end, "text": c.text, "seg_starts": c.segment_starts, "seg_offsets": c.segment_offsets,
        "video_hash": c.video_hash,
    }  # fmt: skip


def _chunk_from(d: dict[str, Any]) -> Chunk:
    return Chunk(
        id=d["id"], video_id=d["video_id"], title=d["title"], channel=d.get("channel", ""),
        start=float(d["start"]), end=float(d["end"]), text=d["text"],
        segment_starts=tuple(d["seg_starts"]), segment_offsets=tuple(d["seg_offsets"]),
        video_hash=d.get("video_hash", ""),
    )  # fmt: skip


def build(chunks: Iterable[Chunk], revision: str) -> KeywordIndex:
    return KeywordIndex(list(chunks), revision)
