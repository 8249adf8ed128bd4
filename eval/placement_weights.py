"""Where a citation opens, under other word weights: Lectern's placement against two ideas that the third
held-out set's early citations suggested. Neither was adopted (README, Retrieval quality).

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/placement_weights.py

Over the answerable questions of all four sets whose top hit is right (default hybrid retrieval, k = 5),
the citation is placed in the top hit from the question alone, as the offline answer does: word overlap
shortlists 8 segments and the one closest to the question by embedding wins. Varied here:
- the word weights: the corpus idf (Lectern), the idf among the chunks of the cited video only (a word
  the whole lecture uses, such as "RNN" in the RNN lecture, says nothing about where in it the answer
  is), or their product;
- how much a neighbour's words add to a segment's overlap: the next segment's (Lectern: 0.5) or the
  previous one's (most wrong placements open before the answer, where the topic is introduced).
Prints, per set, how many citations open within 10 s of the answer span, and the median error.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from rag.citations import EmbedFn, IdfFn, Seg
from rag.config import load_settings
from rag.evaluation import Question, is_hit, read_questions, span_distance
from rag.keyword import KeywordIndex, terms
from rag.models import Chunk
from rag.pipeline import Lectern

EVAL = Path(__file__).resolve().parent
SETS = ("questions", "heldout", "heldout2", "heldout3")
SHORTLIST = 8


def video_idf(index: KeywordIndex) -> Callable[[str], IdfFn]:
    """For a video id, an idf over that video's chunks only."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    sizes: Counter[str] = Counter()
    for chunk in index.chunks:
        counts[chunk.video_id].update(set(terms(chunk.text)))
        sizes[chunk.video_id] += 1

    def for_video(video_id: str) -> IdfFn:
        n, df = sizes[video_id], counts[video_id]
        return lambda t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))

    return for_video


def place(segs: list[Seg], text: str, weight: IdfFn, embed: EmbedFn | None, nxt: float, prev: float) -> int:
    words = set(terms(text))
    own = [sum(weight(t) for t in words & set(terms(s[2]))) for s in segs]
    joint = [
        sc + nxt * (own[i + 1] if i + 1 < len(own) else 0.0) + prev * (own[i - 1] if i else 0.0)
        for i, sc in enumerate(own)
    ]
    short = sorted(range(len(segs)), key=lambda i: (-joint[i], i))[:SHORTLIST]
    if embed is None:
        return math.floor(segs[short[0]][0])  # whole seconds, as a citation opens
    vecs = embed([text, *(segs[i][2] for i in short)])
    sims = (vecs[1:] @ vecs[0]).tolist()
    return math.floor(segs[short[max(range(len(short)), key=lambda j: (round(sims[j], 4), -j))]][0])


def main() -> None:
    lectern = Lectern(load_settings())
    index, embed = lectern.keyword(), lectern.answerer.embed
    local = video_idf(index)
    found: dict[str, list[tuple[Question, Chunk, str]]] = {}
    for name in SETS:
        for q in read_questions(EVAL / f"{name}.jsonl"):
            got = lectern.search(q.question, k=5, history=q.history) if q.video_id else None
            if got and got.hits and is_hit(got.hits[0], q):
                found.setdefault(name, []).append((q, got.hits[0].chunk, got.query or q.question))

    def weights(mode: str, video_id: str) -> IdfFn:
        if mode == "corpus":
            return index.idf
        inside = local(video_id)
        if mode == "video":
            return inside
        return lambda t: index.idf(t) * inside(t)

    variants = [(m, True, 0.5, 0.0) for m in ("corpus", "video", "product")]
    variants += [("corpus", True, n, p) for n, p in ((0.0, 0.0), (0.0, 0.25), (0.0, 0.5), (0.0, 1.0))]
    variants += [("corpus", False, n, p) for n, p in ((0.5, 0.0), (0.0, 0.5))]
    print("weights  embedding  next  prev   within 10 s (median error), questions whose top hit is right")
    for mode, use_embed, nxt, prev in variants:
        row = []
        by = embed if use_embed else None
        for name in SETS:
            errors = [
                span_distance(place(c.segments(), text, weights(mode, c.video_id), by, nxt, prev), q)
                for q, c, text in found.get(name, [])
            ]
            median = statistics.median(errors) if errors else 0.0
            row.append(f"{name} {sum(e <= 10 for e in errors)}/{len(errors)} ({median:.0f} s)")
        label = f"{mode:8} {'yes' if use_embed else 'no':9}  {nxt:<4}  {prev:<4}"
        print(label, "  ".join(row), flush=True)


if __name__ == "__main__":
    main()
