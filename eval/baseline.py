"""The simplest baseline a tutorial would build: every segment its own node, dense only, same model.

    .venv/bin/python eval/baseline.py eval/questions.jsonl SOURCE ... [--k 5]

Exact cosine search over a numpy matrix: for a few tens of thousands of vectors this is what Chroma's
HNSW returns too, without the store in the way. Prints the same retrieval figures as `python -m rag eval`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rag.chunking import ChunkParams, chunk_video
from rag.embeddings import LocalMiniLM
from rag.evaluation import Scores, read_questions, span_distance
from rag.loaders import load
from rag.models import Hit


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("questions", type=Path)
    p.add_argument("sources", nargs="+")
    p.add_argument("--k", type=int, default=5)
    args = p.parse_args()
    t0 = time.perf_counter()
    segments = load(args.sources).segments
    one_each = ChunkParams(max_tokens=1, overlap=0)  # a budget of 1 puts every segment in its own window
    chunks = [c for s in segments for c in chunk_video([s], [1], one_each)]
    model = LocalMiniLM()
    matrix = model.embed([c.text for c in chunks])
    scores = Scores()
    for q in read_questions(args.questions):
        query = " ".join([*q.history[-1:], q.question])  # the tutorial has no rewriting: it concatenates
        sims = matrix @ model.embed_query(query)
        top = np.argsort(-sims)[: args.k]
        hits = [Hit(chunks[i], float(sims[i]), float(sims[i]), r) for r, i in enumerate(top, 1)]
        scores.add(q, hits, None)
        # The baseline's "citation" is its best hit in the right video: a segment start.
        right = [h for h in hits if q.video_id and h.video_id == q.video_id]
        if right:
            scores.ts_errors.append(span_distance(right[0].chunk.start, q))
    summary = {"baseline": "per-segment dense", "segments": len(chunks), "k": args.k, **scores.summary()}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps({k: v for k, v in summary.items() if v is not None}))


if __name__ == "__main__":
    main()
