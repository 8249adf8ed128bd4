"""Question latency: Lectern.search and extractive Lectern.ask, against the floor measured in the same run.

For each size the store is built once from bench/corpus.py's output (kept in bench/out/stores/). The floor
is one query embedding plus one bare Chroma query (collection.query, n_results=settings.candidates) on the
same index. Questions are pairs of consecutive corpus segments; the models load once, warm-up excluded.

Above --standin-above segments (default: only the 208,619 size) the index is built with a labelled fast
stand-in embedder (bench/common.py: StandinEmbedder, "standin-hash-384") because the real model would take
about an hour to ingest it here; queries then use the stand-in too, and the real model's query-embedding
time is reported on its own line, to add to those figures.

    python bench/retrieval_bench.py                      # 11,298 and 208,619 segments
    python bench/retrieval_bench.py --sizes 11298        # the quick size only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import corpus

TARGETS = "search p50 <= 1.5x floor, p50 <= 30 ms, p95 <= 80 ms; extractive ask p95 <= 150 ms"


def questions(path: Path, n: int, seed: int) -> list[str]:
    """n distinct questions: two consecutive segments of one video, picked at random."""
    with open(path, encoding="utf-8") as fh:
        rows = [(r["video_id"], r["text"]) for r in map(json.loads, fh)]
    rng = np.random.default_rng(seed + 1)
    out: dict[str, None] = {}
    while len(out) < n:
        i = int(rng.integers(len(rows) - 1))
        if rows[i][0] == rows[i + 1][0]:
            out[f"{rows[i][1]} {rows[i + 1][1]}"] = None
    return list(out)


def embedder_for(size: int, args: argparse.Namespace) -> Any:
    from rag.embeddings import LocalMiniLM

    if args.standin or size > args.standin_above:
        return common.StandinEmbedder()
    return LocalMiniLM()


def bench_size(size: int, args: argparse.Namespace) -> dict[str, Any]:
    path = corpus.ensure(size, args.seed)
    embedder = embedder_for(size, args)
    where = common.store_dir(size, embedder.name, args.seed)
    lectern, built = common.build_store(path, where, embedder, rebuild=args.rebuild)
    how = f"built in {built['ingest_seconds']:.0f} s"
    if built["reused"]:
        how = f"reused, updated in {built['update_seconds']:.0f} s ({built['updated_chunks']} re-embedded)"
    standin = embedder.name == common.StandinEmbedder.name
    label = f"  [index and query embeddings: STAND-IN {embedder.name}]" if standin else ""
    print(f"\n== {size:,} segments: {built['chunks']:,} chunks, {built['videos']:,} videos ({how}){label}")
    with common.timer() as t_warm:
        lectern.warm_up()
    s = lectern.settings
    coll = lectern.store.collection(create=False)
    keyword = lectern.keyword()
    qs = questions(path, args.warmup + 2 * args.questions, args.seed)
    warm, search_qs, ask_qs = qs[: args.warmup], qs[args.warmup :][::2], qs[args.warmup :][1::2]

    def floor(q: str) -> tuple[float, float, float]:
        t0 = time.perf_counter()
        vec = embedder.embed([q])[0]  # embed(), not embed_query(): no query cache on either side
        t1 = time.perf_counter()
        coll.query(query_embeddings=[vec], n_results=s.candidates, include=["distances"])
        t2 = time.perf_counter()
        return t2 - t0, t1 - t0, t2 - t1

    for q in warm:
        floor(q)
        lectern.search(q)
        lectern.ask(q + " ?")
    fl, emb, chroma, bm25, search, ask = [], [], [], [], [], []
    for q in search_qs:  # floor and search interleaved, so drift on a busy machine hits both alike
        total, e, c = floor(q)
        fl.append(total)
        emb.append(e)
        chroma.append(c)
        t0 = time.perf_counter()
        keyword.search(q, s.candidates)
        bm25.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lectern.search(q)
        search.append(time.perf_counter() - t0)
    modes: dict[str, int] = {}
    for q in ask_qs:
        t0 = time.perf_counter()
        answer = lectern.ask(q)
        ask.append(time.perf_counter() - t0)
        modes[answer.mode] = modes.get(answer.mode, 0) + 1
    star = " *" if standin else ""
    print(f"warm_up {t_warm[0]:.1f} s; {len(search)} search + {len(ask)} ask questions, {len(warm)} warm-up")
    print(f"floor (embed + chroma){star}: {common.ms(fl)}")
    print(f"  query embedding{star}:    {common.ms(emb)}")
    print(f"  chroma query:          {common.ms(chroma)}  (n_results={s.candidates})")
    print(f"  bm25 search:           {common.ms(bm25)}  (not in the floor)")
    p50, p95, f50 = common.pct(search, 50), common.pct(search, 95), common.pct(fl, 50)
    ok = p50 <= 1.5 * f50 and p50 <= 0.030 and p95 <= 0.080
    print(f"Lectern.search{star}:        {common.ms(search)}  = {p50 / f50:.2f}x floor  {common.verdict(ok)}")
    a95 = common.pct(ask, 95)
    print(f"Lectern.ask extractive{star}: {common.ms(ask)}  modes {modes}  {common.verdict(a95 <= 0.150)}")
    figures = {
        "size": size, "chunks": built["chunks"], "embedder": embedder.name,
        "floor_p50_ms": f50 * 1000, "search_p50_ms": p50 * 1000, "search_p95_ms": p95 * 1000,
        "search_over_floor": p50 / f50, "ask_p50_ms": common.pct(ask, 50) * 1000, "ask_p95_ms": a95 * 1000,
        "embed_p50_ms": common.pct(emb, 50) * 1000, "chroma_p50_ms": common.pct(chroma, 50) * 1000,
        "bm25_p50_ms": common.pct(bm25, 50) * 1000,
    }  # fmt: skip
    if standin:
        from rag.embeddings import LocalMiniLM

        real = LocalMiniLM()
        real.embed(["warm up"])
        times = []
        for q in search_qs:
            t0 = time.perf_counter()
            real.embed([q])
            times.append(time.perf_counter() - t0)
        print(f"* used the stand-in; the real model's query embedding: {common.ms(times)} (add to the above)")
        extra = common.pct(times, 50) - common.pct(emb, 50)  # swap the stand-in's embedding for the model's
        est, est_floor = p50 + extra, f50 + extra
        ok = est <= 1.5 * est_floor and est <= 0.030
        print(
            f"  estimate with the real model: search p50 {est * 1000:.1f} ms,"
            f" floor p50 {est_floor * 1000:.1f} ms"
            f" = {est / est_floor:.2f}x floor  {common.verdict(ok)}"
        )
        figures.update(real_embed_p50_ms=common.pct(times, 50) * 1000, est_search_p50_ms=est * 1000)
        figures["est_search_over_floor"] = est / est_floor
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=f"{common.QUICK_SIZE},{common.FULL_SIZE}", help="comma-separated")
    ap.add_argument("--questions", type=int, default=200, help="per measurement (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--standin-above", type=int, default=50_000, help="sizes above this use the stand-in")
    ap.add_argument("--standin", action="store_true", help="use the stand-in embedder for every size")
    ap.add_argument("--rebuild", action="store_true", help="re-ingest even if bench/out/stores has it")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    info = common.print_machine()
    print(f"targets: {TARGETS}")
    sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
    results = [bench_size(size, args) for size in sizes]
    common.write_json(args.json, {"machine": info, "sizes": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
