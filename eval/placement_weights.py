"""Where a citation opens, under other word weights: Lectern's placement against two ideas that the third
held-out set's early citations suggested. Neither was adopted (eval/EXPERIMENTS.md).

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/placement_weights.py

Over the answerable questions of all four sets whose top hit is right (default hybrid retrieval, k = 5),
the citation is placed in the top hit's best window (Hit.window) from the question alone, as the offline
answer does: word overlap shortlists 8 segments and the one closest to the question by embedding wins.
Varied here:
- the word weights: the corpus idf (Lectern), the idf among the chunks of the cited video only (a word
  the whole lecture uses, such as "RNN" in the RNN lecture, says nothing about where in it the answer
  is), or their product;
- how much a neighbour's words add to a segment's overlap: the next segment's (Lectern: 0.5) or the
  previous one's (most wrong placements open before the answer, where the topic is introduced).
Prints, per set, how many citations open within 10 s of the answer span, and the median error.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable

from placement import SETS, Place, top_right, within_10s  # eval/ is on sys.path when run as a script

from rag.citations import SHORTLIST, EmbedFn, IdfFn, locate
from rag.config import load_settings
from rag.keyword import KeywordIndex, terms
from rag.models import Chunk
from rag.pipeline import Lectern


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


def neighbours(idf: IdfFn, embed: EmbedFn | None, nxt: float, prev: float) -> Place:
    """Lectern's placement with the next and previous segments' words weighted `nxt` and `prev` (Lectern's
    own is `rag.citations.locate`: 0.5 and 0)."""

    def place(chunk: Chunk, text: str) -> float:
        segs, words = chunk.segments(), set(terms(text))
        own = [sum(idf(t) for t in words & set(terms(s[2]))) for s in segs]
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

    return place


def main() -> None:
    lectern = Lectern(load_settings())
    index, embed = lectern.keyword(), lectern.answerer.embed
    local = video_idf(index)
    found = top_right(lectern, SETS)

    def weighted(mode: str) -> Place:
        def weight(video_id: str) -> IdfFn:
            inside = local(video_id)
            return inside if mode == "video" else lambda t: index.idf(t) * inside(t)

        return lambda c, text: locate(c, text, weight(c.video_id), embed).start

    places: dict[str, Place] = {
        "Lectern (corpus idf, next 0.5)": lambda c, t: locate(c, t, index.idf, embed).start
    }
    places["idf inside the video"] = weighted("video")
    places["corpus idf x idf inside the video"] = weighted("product")
    for nxt, prev in ((0.0, 0.0), (0.0, 0.25), (0.0, 0.5), (0.0, 1.0)):
        places[f"next {nxt:g}, previous {prev:g}"] = neighbours(index.idf, embed, nxt, prev)
    for nxt, prev in ((0.5, 0.0), (0.0, 0.5)):
        places[f"words alone, next {nxt:g}, previous {prev:g}"] = neighbours(index.idf, None, nxt, prev)
    print(f"{'placement':36} within 10 s (median error), questions whose top hit is right")
    for label, place in places.items():
        print(f"{label:36} {within_10s(found, place)}", flush=True)


if __name__ == "__main__":
    main()
