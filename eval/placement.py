"""Where a citation opens inside a correctly found passage: Lectern's placement against variants and the
best possible.

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/placement.py

Over the answerable questions of both sets whose top hit is right (default hybrid retrieval, k = 5), place
a citation in the top hit from the question alone, as the offline extractive answer does, and count how
often it opens within 10 s of the answer span. "best possible" is the segment of that passage closest to
the span. Variants score windows of W characters starting at each segment (W = 0: the segment alone) by
word overlap, by embedding (among the 8 best by overlap, or among all), or by both. Results are in
README.md (Retrieval quality).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from rag.citations import locate
from rag.config import load_settings
from rag.evaluation import Question, is_hit, read_questions, span_distance
from rag.keyword import terms
from rag.models import Chunk
from rag.pipeline import Lectern

EVAL = Path(__file__).resolve().parent
Place = Callable[[Chunk, str], float]  # a chunk and the question -> the start second cited


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


def top_right(lectern: Lectern, sets: dict[str, str]) -> dict[str, list[tuple[Question, Chunk, str]]]:
    """Per set (label -> file in eval/), the answerable questions whose top hit is right: the question,
    that chunk, and the query asked (follow-ups rewritten), which is what a citation is placed from."""
    found: dict[str, list[tuple[Question, Chunk, str]]] = {}
    for name, f in sets.items():
        found[name] = []
        for q in read_questions(EVAL / f):
            if q.video_id is None:
                continue
            got = lectern.search(q.question, k=5, history=q.history)
            if got.hits and is_hit(got.hits[0], q):
                found[name].append((q, got.hits[0].chunk, got.query or q.question))
    return found


def within_10s(found: dict[str, list[tuple[Question, Chunk, str]]], place: Place | None) -> str:
    """Per set: how many citations open within 10 s of the answer span, and the median error.
    `place` None: the best possible, the segment of the chunk closest to the span."""
    cells = []
    for name, triples in found.items():
        errs = [
            min(span_distance(s, q) for s, _, _ in c.segments())
            if place is None
            else span_distance(place(c, asked), q)
            for q, c, asked in triples
        ]
        median = statistics.median(errs) if errs else 0.0
        cells.append(f"{name} {sum(e <= 10 for e in errs)}/{len(errs)} ({median:.0f} s)")
    return "   ".join(cells)


def main() -> None:
    lectern = Lectern(load_settings())
    found = top_right(lectern, {"tuning": "questions.jsonl", "held-out": "heldout.jsonl"})
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
    for label, place in places.items():
        print(f"{label:42} {within_10s(found, place)}", flush=True)


if __name__ == "__main__":
    main()
