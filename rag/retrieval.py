"""Hybrid retrieval: dense (Chroma) and keyword (BM25) lists fused by reciprocal rank, neighbours merged."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .config import Settings
from .embeddings import Embedder
from .keyword import ASKING, KeywordIndex, joined_terms, surface_terms
from .models import Chunk, Hit
from .naming import named_lectures, named_speakers
from .rerank import TokenStates, maxsim_order, word_match
from .store import Store


@dataclass(slots=True)
class Retrieval:
    hits: list[Hit]
    best_similarity: float  # the query's closest dense match
    dense: list[tuple[str, float]] = field(default_factory=list)
    keyword: list[tuple[str, float]] = field(default_factory=list)
    query: str = ""  # what was searched for: the standalone rewrite of a follow-up
    coverage: float = 0.0  # share of the query's idf-weighted words found: the best of the first hits
    relevance: float = 0.0  # what the refusal gate reads: similarity plus weighted coverage and match
    named: list[str] = field(default_factory=list)  # titles of the lectures or speaker's talks it named
    asked: str = ""  # what the gate's coverage reads: `query` without the names of the lectures it named
    match: float = 0.0  # how well the first windows match the question's words in context (rerank.word_match)


@dataclass(frozen=True, slots=True)
class Scope:
    videos: set[str] | None  # the videos to search; None: all
    query: str  # what the gate's coverage reads: the query without the names of the lectures that chose them
    named: list[str] = field(default_factory=list)  # titles of the lectures or speaker's talks it names
    embed: str = ""  # what the dense search embeds, when not `query`: without the speaker's name too


def rrf(ranked: Sequence[tuple[Sequence[str], float]], k: int) -> dict[str, float]:
    """Reciprocal-rank fusion of several ranked id lists, each with its weight."""
    fused: dict[str, float] = {}
    for ids, weight in ranked:
        if weight <= 0:  # a retriever weighted zero is switched off: its ids must not pad the list
            continue
        for rank, cid in enumerate(ids):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank + 1)
    return fused


def coverage(query: str, chunk: Chunk, idf: Callable[[str], float]) -> float:
    """Share of the query's idf-weighted words that the chunk (title and speaker included) contains, as
    written.

    Dense similarity alone cannot tell a near-topic question the lectures never answer ("how does Adam
    adapt the learning rate?") from a paraphrased one they do: both land in the same lecture at similar
    cosine. The rare words of an unanswered question are missing from the best chunk; a word found
    nowhere in the corpus weighs most. Words are compared as written (plurals folded), not stemmed:
    stems let "positional encoding in a transformer" match a passage on "position", "encoder" and
    "transformations". Two neighbouring words of the chunk also count written as one ("deep traffic" for
    "DeepTraffic"): speech recognition splits compounds. A question with no content words has nothing
    to miss.
    """
    words = coverage_words(query, chunk)
    if not words:
        return 1.0
    weights = {w: idf(stem) for w, (stem, _) in words.items()}
    return sum(weights[w] for w, (_, found) in words.items() if found) / (sum(weights.values()) or 1.0)


def coverage_words(query: str, chunk: Chunk) -> dict[str, tuple[str, bool]]:
    """The query's content words as written, each with its stem and whether the chunk holds it: what
    `coverage` weighs. The title and the speaker (channel) count as part of every chunk of their video:
    "what did Lex Fridman say about ..." names the lecture, and recognition rarely writes the name."""
    wanted = {w: s for w, s in surface_terms(query).items() if s not in ASKING}
    text = f"{chunk.title} {chunk.channel} {chunk.text}"
    found = surface_terms(text).keys() | joined_terms(text)
    return {w: (s, w in found) for w, s in wanted.items()}


# "according to the RNN lecture", "In the deep RL lecture,", "at the start of the intro lecture": where
# the question is set. Word by word, so a quoted example ("the 'will I pass this class' example") is kept.
_SCOPE = re.compile(
    r",?\s*\b(?:according to|mentioned in|discussed in|in|from|during|at the (?:start|beginning|end) of)"
    r"\s+(?:the|this|that)\s+(?:[a-z][\w-]*\s+){0,4}?(?:lecture|talk|video|class|interview|course)(?:'s)?\b",
    re.IGNORECASE,
)


def dense_query(query: str) -> str:
    """The text to embed: the query without phrases that only place it in a lecture.

    Embedded, "in the RNN lecture" pulls the query towards whatever in that lecture names its topic (its
    opening, mostly) rather than the part that answers. BM25 still searches the whole query, and it
    indexes each chunk with its title, so the phrase keeps helping it find the lecture. A query left with
    fewer than four words ("What is covered in the RNN lecture?") is embedded whole.
    """
    stripped = re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s+", " ", _SCOPE.sub(" ", query))).strip(" ,")
    return _unless_too_short(stripped, query)


def without_names(text: str, title: str, acronyms: bool = False) -> str:
    """`text` without its capitalised words, after the first, that the lecture's title also holds.

    Once the first pass has found the lecture, the names in the question that name it ("Hassabis",
    "DeepMind's", "Google") say nothing about where in it the answer is; embedded, they pull the query
    towards the parts about the speaker or the company. Acronyms stay: in a title they name concepts
    ("VAEs and GANs") that tell the parts of a lecture apart (`acronyms=True` drops them too; measured
    worse, README). Text left with fewer than four words is kept whole.
    """
    named = surface_terms(title).keys()
    kept = []
    for i, token in enumerate(text.split()):
        bare = re.sub(r"['’]s$", "", token.strip("\"'“”‘’(),.?!:;"))
        name = bare[:1].isupper() and (acronyms or not re.fullmatch(r"[A-Z0-9]{2,}s?", bare))
        words = surface_terms(bare).keys()
        if i and name and words and words <= named:
            continue
        kept.append(token)
    return _unless_too_short(" ".join(kept), text)


def _unless_too_short(stripped: str, whole: str) -> str:
    # Under four words, too little is left to embed on its own ("What did Google do?" -> "What did do?").
    return stripped if len(re.findall(r"\w+", stripped)) >= 4 else whole


def merge_chunks(a: Chunk, b: Chunk) -> Chunk:
    """One chunk covering both windows of the same video, each segment once, in time order."""
    segs = {round(s, 3): (s, t) for s, _e, t in a.segments()}
    for s, _e, t in b.segments():
        segs.setdefault(round(s, 3), (s, t))
    starts, offsets, pieces, pos = [], [], [], 0
    for _key, (s, t) in sorted(segs.items()):
        starts.append(s)
        offsets.append(pos)
        pieces.append(t)
        pos += len(t) + 1
    first = a if a.start <= b.start else b
    return Chunk(
        id=first.id, video_id=a.video_id, title=a.title, channel=a.channel,
        start=min(a.start, b.start), end=max(a.end, b.end), text=" ".join(pieces),
        segment_starts=tuple(starts), segment_offsets=tuple(offsets), video_hash=a.video_hash,
    )  # fmt: skip


def _overlaps(a: Chunk, b: Chunk) -> bool:
    return a.video_id == b.video_id and a.start < b.end and b.start < a.end


def merge_neighbours(hits: list[Hit], max_chars: int | None = None) -> list[Hit]:
    """Overlapping windows of one moment become one hit, at the better rank.

    A merge can make a kept hit reach one it did not overlap before, so merging repeats until stable, but
    never past `max_chars` of text: unbounded, a run of windows on one topic grew into a single 5-minute
    "moment", so long that it overlapped any answer span nearby. Of two overlapping windows that would
    overflow the cap, the worse-ranked one is dropped: the other already shows the moment.
    """
    merged: list[Hit] = []
    place = {id(h): i for i, h in enumerate(hits)}  # equal scores (RRF ties) keep the order given
    for hit in hits:
        grown: Hit | None = hit
        while grown is not None:
            other = next((h for h in merged if _overlaps(h.chunk, grown.chunk)), None)
            if other is None:
                merged.append(grown)
                break
            keep, drop = (other, grown) if other.score >= grown.score else (grown, other)
            joined = merge_chunks(keep.chunk, drop.chunk)
            if max_chars is not None and len(joined.text) > max_chars:
                if keep is other:
                    grown = None  # the kept hit already shows this moment
                else:
                    merged.remove(other)  # the better one stays and may overlap more: check again
                continue
            merged.remove(other)
            keep.focus = keep.window
            keep.chunk = joined
            keep.similarity = max(keep.similarity, drop.similarity)
            grown = keep
        merged.sort(key=lambda h: (-h.score, place[id(h)]))
    return merged


class Retriever:
    def __init__(self, settings: Settings, embedder: Embedder, store: Store, keyword: KeywordIndex) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.keyword = keyword

    def videos_matching(self, title: str) -> set[str]:
        needle = title.casefold()
        return {vid for vid, name in self.keyword.names.items() if needle in name.casefold()}

    def scope(
        self, query: str, video_ids: Sequence[str] | None = None, title: str | None = None
    ) -> Scope | None:
        """Which videos to search and with what query; None when the filters leave no video. A filter the
        user set wins over the lectures the question names, and BM25 keeps the whole query: the names
        match all of a lecture's chunks alike."""
        allowed = set(video_ids) if video_ids else None
        if title:
            by_title = self.videos_matching(title)
            allowed = by_title if allowed is None else allowed & by_title
            if not allowed:
                return None
        if allowed is not None:
            return Scope(allowed, query)
        named = named_lectures(query, self.keyword.names)
        if named is not None:
            return Scope(named.videos, named.strip(query), self._titles(named.videos))
        # A speaker's name stays in what coverage reads: every chunk of their talks holds it (the speaker
        # counts as part of each), so leaving it out would only lower the coverage of their talks.
        spoken = named_speakers(query, self.keyword.speakers)
        if spoken is not None:
            searched = spoken.videos | spoken.also
            return Scope(searched, query, self._titles(spoken.videos), spoken.strip(query))
        return Scope(None, query)

    def _titles(self, videos: set[str]) -> list[str]:
        return sorted({self.keyword.titles[v] or v for v in videos})

    def _fused(self, dense: list[tuple[str, float]], keyword: list[tuple[str, float]]) -> list[Hit]:
        """Both lists fused by reciprocal rank, best first, before overlapping windows are merged."""
        fused = rrf(
            [
                ([c for c, _ in dense], self.settings.dense_weight),
                ([c for c, _ in keyword], self.settings.bm25_weight),
            ],
            self.settings.rrf_k,
        )
        sims = dict(dense)
        hits: list[Hit] = []
        for cid in sorted(fused, key=lambda c: -fused[c]):
            idx = self.keyword.by_id.get(cid)
            if idx is None:  # stored after the keyword index was loaded; skip rather than guess
                continue
            hits.append(Hit(self.keyword.chunks[idx], fused[cid], sims.get(cid, 0.0)))
        return self._keyword_lead(hits, keyword)

    def _keyword_lead(self, hits: list[Hit], keyword: list[tuple[str, float]]) -> list[Hit]:
        """The BM25 top first when it scores `keyword_lead` times any other passage's BM25 score.

        Reciprocal rank sees only ranks: a passage holding all of the question's rare words, far ahead of
        every other on BM25, counts no more than a narrow BM25 win, and the dense list's first pick, often
        where the lecture introduces the topic, outranks it. The runner-up is the best passage not
        overlapping the top one: overlapping windows share the words, so their scores are close."""
        lead = self.settings.keyword_lead
        if not lead or len(keyword) < 2 or not hits or not self.settings.bm25_weight:
            return hits
        by_id = self.keyword.by_id
        top_id, top_score = keyword[0]
        if top_id not in by_id:
            return hits
        top = self.keyword.chunks[by_id[top_id]]
        runner_up = next(
            (s for c, s in keyword[1:] if c in by_id and not _overlaps(top, self.keyword.chunks[by_id[c]])),
            0.0,
        )
        promoted = next((h for h in hits if h.chunk.id == top_id), None)
        if promoted is None or top_score < lead * runner_up or runner_up <= 0 or hits[0] is promoted:
            return hits
        # Just above the old first: merging keeps the better-scored of two hits that meet, and a tie
        # would let the old first absorb or drop it.
        promoted.score = math.nextafter(hits[0].score, math.inf)
        return [promoted, *(h for h in hits if h is not promoted)]

    def _late(self, query: str, hits: list[Hit], states: TokenStates | None = None) -> list[Hit]:
        """The first `rerank_top` windows re-ranked by reciprocal rank over their fused order and their
        MaxSim order (rag/rerank.py), MaxSim weighted `rerank_weight`. They keep the scores they had, best
        first, so the windows after them stay behind and merging keeps the new order."""
        top, weight = self.settings.rerank_top, self.settings.rerank_weight
        head = hits[:top]
        if top < 2 or weight <= 0 or len(head) < 2:
            return hits
        order = maxsim_order(query, [h.chunk.text for h in head], states or TokenStates(self.embedder))
        if order is None:
            return hits
        ids = [h.chunk.id for h in head]
        fused = rrf([(ids, 1.0), ([ids[i] for i in order], weight)], self.settings.rrf_k)
        ranked = sorted(range(len(head)), key=lambda i: -fused[ids[i]])  # stable: ties keep fused order
        scores = sorted((h.score for h in head), reverse=True)
        for i, score in zip(ranked, scores, strict=True):
            head[i].score = score
        return [head[i] for i in ranked] + hits[top:]

    def retrieve(
        self,
        query: str,
        k: int | None = None,
        video_ids: Sequence[str] | None = None,
        title: str | None = None,
    ) -> Retrieval:
        k = k or self.settings.k
        scope = self.scope(query, video_ids, title)
        if scope is None:
            return Retrieval([], 0.0, query=query, asked=query)
        allowed, asked = scope.videos, scope.query
        n, where = self.settings.candidates, sorted(allowed) if allowed else None
        text = dense_query(scope.embed or asked)
        dense = self.store.query(self.embedder.embed_query(text), n, where)
        keyword = self.keyword.search(query, n, allowed)
        hits = self._fused(dense, keyword)
        # Second pass, within the lecture found: the dense query without the words that name it.
        refined = without_names(text, hits[0].chunk.title) if hits and self.settings.dense_weight else text
        if refined != text:
            dense = self.store.query(self.embedder.embed_query(refined), n, where)
            hits = self._fused(dense, keyword)
        states = TokenStates(self.embedder)
        hits = self._late(query, hits, states)
        # Read before merging, which grows the chunks: the windows the re-ranking has just run.
        windows = [h.chunk.text for h in hits[: self.settings.coverage_hits]]
        cap = int(self.settings.merge_cap * self.keyword.typical_chars) or None
        hits = merge_neighbours(hits, cap)[:k]
        for rank, hit in enumerate(hits, 1):
            hit.rank = rank
        best = max((s for _, s in dense), default=0.0)
        # The best coverage of the first few hits: when retrieval ranks another part of the right lecture
        # first, the passage holding the question's words is usually among the next two.
        shown = hits[: self.settings.coverage_hits]
        cov = max((coverage(asked, h.chunk, self.keyword.idf) for h in shown), default=0.0)
        match = word_match(asked, windows, states, self.keyword.idf) if self.settings.match_weight else 0.0
        relevance = best + self.settings.coverage_weight * cov + self.settings.match_weight * match
        return Retrieval(hits, best, dense, keyword, query, cov, relevance, scope.named, asked, match)
