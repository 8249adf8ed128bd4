"""Where a citation opens inside a correctly found passage: Lectern's placement against variants and the
best possible.

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/placement.py

Over the answerable questions of the four sets whose top hit is right (default hybrid retrieval, k = 5),
place a citation in the top hit from the question alone, as the offline extractive answer does: in the
window that retrieval ranked first, before overlapping windows were merged into the hit (Hit.window). Count
how often it opens within 10 s of the answer span. "best possible" is the segment of the whole merged hit
closest to the span. Variants score windows of W characters starting at each segment (W = 0: the segment
alone) by word overlap, by embedding (among the 8 best by overlap, or among all), or by both. Results are in
eval/EXPERIMENTS.md.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from rag.citations import locate
from rag.config import load_settings
from rag.evaluation import Question, is_hit, read_questions, span_distance
from rag.keyword import terms
from rag.models import Chunk, Hit
from rag.pipeline import Lectern

EVAL = Path(__file__).resolve().parent
Place = Callable[[Chunk, str], float]  # a chunk and the question -> the start second cited
SETS = {"tuning": "questions.jsonl", "ho1": "heldout.jsonl", "ho2": "heldout2.jsonl", "ho3": "heldout3.jsonl"}


def windowed(lectern: Lectern, width: int, mode: str, shortlist: int) -> Place:
    idf, embed = lectern.keyword().idf, lectern.answerer.embed

    def place(chunk: Chunk, question: str) -> float:
        segs = chunk.segments()
        wins = []
        for i in range(len(segs)):
            j, text = i, segs[i][2]
            while len(text) < width and j + 1 < len(segs):
                j += 1
                text += " " + segs[j][2]
            wins.append(text)
        words = set(terms(question))
        lex = [sum(idf(w) for w in words & set(terms(t))) for t in wins]
        short = sorted(range(len(segs)), key=lambda i: (-lex[i], i))[:shortlist]
        if mode == "words" or embed is None:
            return segs[short[0]][0]
        vecs = embed([question, *(wins[i] for i in short)])
        sims = (vecs[1:] @ vecs[0]).tolist()
        top = max(lex[i] for i in short) or 1.0
        weight = 1.0 if mode == "both" else 0.0
        best = max(range(len(short)), key=lambda k: (round(sims[k] + weight * lex[short[k]] / top, 4), -k))
        return segs[short[best]][0]

    return place


Found = dict[str, list[tuple[Question, Hit, str]]]


def top_right(lectern: Lectern, sets: dict[str, str]) -> Found:
    """Per set (label -> file in eval/), the answerable questions whose top hit is right: the question,
    that hit, and the query asked (follow-ups rewritten), which is what a citation is placed from."""
    found: Found = {}
    for name, f in sets.items():
        found[name] = []
        for q in read_questions(EVAL / f):
            if q.video_id is None:
                continue
            got = lectern.search(q.question, k=5, history=q.history)
            if got.hits and is_hit(got.hits[0], q):
                found[name].append((q, got.hits[0], got.query or q.question))
    return found


def within_10s(found: Found, place: Place | None, merged: bool = False) -> str:
    """Per set: how many citations open within 10 s of the answer span, and the median error. A citation
    is placed in the hit's best window (Hit.window), as Lectern places it, or with `merged` across the whole
    merged hit. `place` None: the best possible, the segment of the whole merged hit closest to the span."""
    cells = []
    for name, triples in found.items():
        errs = [
            min(span_distance(s, q) for s, _, _ in hit.chunk.segments())
            if place is None
            else span_distance(place(hit.chunk if merged else hit.window, asked), q)
            for q, hit, asked in triples
        ]
        median = statistics.median(errs) if errs else 0.0
        cells.append(f"{name} {sum(e <= 10 for e in errs)}/{len(errs)} ({median:.0f} s)")
    return "   ".join(cells)


def main() -> None:
    lectern = Lectern(load_settings())
    found = top_right(lectern, SETS)
    idf, embed = lectern.keyword().idf, lectern.answerer.embed
    places: dict[str, Place | None] = {
        "Lectern (segment, 8 by words, embedding)": lambda c, q: locate(c, q, idf, embed).start,
        "best possible": None,
    }
    for width in (0, 120, 200, 300):
        for mode, shortlist in (("words", 8), ("embedding", 8), ("embedding", 10_000), ("both", 8)):
            places[f"W={width} {mode} of {'all' if shortlist > 8 else 8}"] = windowed(
                lectern, width, mode, shortlist
            )
    print(f"{'placement':42} within 10 s (median error), per set's questions with the right top hit")
    across = within_10s(found, places["Lectern (segment, 8 by words, embedding)"], merged=True)
    print(f"{'the same, across the merged hit':42} {across}", flush=True)
    for label, place in places.items():
        print(f"{label:42} {within_10s(found, place)}", flush=True)


if __name__ == "__main__":
    main()
