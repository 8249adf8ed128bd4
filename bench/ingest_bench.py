"""Ingestion throughput: the model alone, Lectern end to end, re-ingest, and the plain LlamaIndex tutorial.

(a) LocalMiniLM.embed on exactly the chunk texts the pipeline will embed (rag.chunking): the hardware
    limit, measured before and after (b) to average out drift on a busy machine;
(b) Lectern.ingest into a fresh embedded store: chunks/s, segments/s, and (a)/(b) (target <= 1.10);
    also the share of (b) spent outside the model, which machine load cannot skew the way it skews (a)/(b);
(c) Lectern.ingest again, nothing changed: seconds and chunks_embedded (targets: 0, <= 5% of (b));
(d) llama_index VectorStoreIndex.from_documents over ChromaVectorStore, one Document per segment with its
    metadata, the same model instance passed as embed_model=: segments/s; (b)/(d) (target >= 2x).

    python bench/ingest_bench.py              # >= 2,000 chunks (~32,000 segments at 192/48 word pieces)
    python bench/ingest_bench.py --quick      # 3,200 segments (~200 chunks); (d) on 500 segments
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import corpus

MIN_CHUNKS = 2_000  # the default subset: enough segments for this many chunks at the current settings
QUICK_SEGMENTS = 3_200
QUICK_TUTORIAL = 500
T0 = time.perf_counter()


def chunk_texts(path: Path, lectern: Any) -> tuple[list[str], int]:
    """The texts the pipeline will embed on a first ingest, and the segment count."""
    from rag.chunking import ChunkParams, chunk_segments
    from rag.loaders import load

    s = lectern.settings
    segments = load([str(path)]).segments
    emb, params = lectern.embedder, ChunkParams(s.chunk_tokens, s.chunk_overlap)
    chunks = chunk_segments(segments, emb.count_tokens, params, emb.name)
    return [c.text for c in chunks], len(segments)


def model_alone(embedder: Any, texts: list[str]) -> float:
    with common.timer() as t:
        embedder.embed(texts)
    return t[0]


def tutorial(path: Path, embedder: Any, limit: int, where: Path) -> dict[str, Any]:
    """The LlamaIndex starter pipeline on the first `limit` segments (whole file when 0)."""
    import json

    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.embeddings import as_llama_index

    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    rows = rows[:limit] if limit else rows
    keys = ("title", "published", "url", "video_id", "channel_id", "id", "start", "end")
    docs = [Document(text=r["text"], metadata={k: r[k] for k in keys}) for r in rows]
    client = chromadb.PersistentClient(path=str(where))
    coll = client.get_or_create_collection("tutorial", embedding_function=None)
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=coll))
    with common.timer() as t:
        VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=as_llama_index(embedder))
    return {"segments": len(docs), "seconds": t[0], "stored": coll.count()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import rag

    n = args.segments or (QUICK_SEGMENTS if args.quick else 0)
    tut_limit = QUICK_TUTORIAL if args.quick else 0
    if args.tutorial_segments is not None:
        tut_limit = args.tutorial_segments
    tmp = Path(tempfile.mkdtemp(prefix="lectern-ingest-bench-"))
    lectern = rag.Lectern(common.settings(tmp / "store"))
    with common.timer() as t_load:
        embedder = lectern.embedder
    if not n:  # size the subset from a pilot, so it tracks the chunk settings
        pilot, pilot_segments = chunk_texts(corpus.ensure(QUICK_SEGMENTS, args.seed), lectern)
        n = int(math.ceil(1.05 * MIN_CHUNKS * pilot_segments / len(pilot) / 1000) * 1000)
    path = corpus.ensure(n, args.seed)
    texts, n_segments = chunk_texts(path, lectern)
    print(f"corpus {path.name}: {n_segments:,} segments -> {len(texts):,} chunks")
    print(f"model load {t_load[0]:.1f} s (not counted below)")
    if not args.quick and len(texts) < MIN_CHUNKS:
        print(f"  note: only {len(texts)} chunks (< {MIN_CHUNKS:,}): raise --segments for stable figures")
    embedder.embed(texts[:64])  # warm-up: onnxruntime allocates its arenas on the first runs

    a1 = model_alone(embedder, texts)
    print(f"(a) model alone:      {len(texts) / a1:7.1f} chunks/s  ({a1:.1f} s)", flush=True)
    in_model = [0.0]  # seconds (b) spends inside the model: the rest is what the pipeline adds
    model_embed = embedder.embed

    def timed_embed(batch: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return model_embed(batch)
        finally:
            in_model[0] += time.perf_counter() - t0

    embedder.embed = timed_embed  # type: ignore[method-assign,assignment]  # instance attribute: shadows the method during (b) only
    with common.timer() as t_b:
        report = lectern.ingest([str(path)])
    del embedder.embed
    b = t_b[0]  # end to end, the keyword index build included
    assert report.chunks_embedded == len(texts), (report.chunks_embedded, len(texts))
    a2 = model_alone(embedder, texts) if not args.quick else a1
    a = (a1 + a2) / 2
    ratio = b / a  # = throughput(a) / throughput(b)
    if not args.quick:
        print(f"(a) again:            {len(texts) / a2:7.1f} chunks/s  ({a2:.1f} s)")
    print(
        f"(b) Lectern.ingest:   {len(texts) / b:7.1f} chunks/s  {n_segments / b:7.1f} segments/s  ({b:.1f} s)"
        f"  (a)/(b) = {ratio:.2f}  target <= 1.10: {common.verdict(ratio <= 1.10)}"
    )
    outside = b - in_model[0]
    print(
        f"    of which in the model {in_model[0]:.1f} s, outside it {outside:.1f} s = {outside / b:.1%}"
        f" (keyword index {b - report.seconds:.1f} s): the drift-proof view of the 10% target:"
        f" {common.verdict(outside / b <= 0.10)}"
    )
    with common.timer() as t_again:
        again = lectern.ingest([str(path)])
    share = t_again[0] / b
    print(
        f"(c) re-ingest:        {t_again[0]:.2f} s = {share:.1%} of (b)"
        f" (target <= 5%: {common.verdict(share <= 0.05)})"
        f"  chunks_embedded {again.chunks_embedded} (target 0: {common.verdict(again.chunks_embedded == 0)})"
    )
    figures: dict[str, Any] = {
        "segments": n_segments, "chunks": len(texts), "model_chunks_per_s": len(texts) / a,
        "lectern_chunks_per_s": len(texts) / b, "lectern_segments_per_s": n_segments / b, "a_over_b": ratio,
        "reingest_s": t_again[0], "reingest_share": share, "reingest_embedded": again.chunks_embedded,
    }  # fmt: skip
    figures["outside_model_share"] = outside / b
    try:
        import llama_index.vector_stores.chroma  # noqa: F401
    except ImportError:
        print("(d) skipped: llama-index-vector-stores-chroma is missing: pip install -e '.[bench]'")
        args.no_tutorial = True
    if not args.no_tutorial:
        tut = tutorial(path, embedder, tut_limit, tmp / "tutorial")
        rate = tut["segments"] / tut["seconds"]
        mult = (n_segments / b) / rate
        print(
            f"(d) LlamaIndex tutorial: {rate:7.1f} segments/s  ({tut['segments']:,} segments,"
            f" {tut['seconds']:.1f} s, {tut['stored']:,} nodes)"
            f"  Lectern = {mult:.1f}x  target >= 2x: {common.verdict(mult >= 2)}"
        )
        if tut["segments"] < n_segments:
            print(f"    (d) ran on the first {tut['segments']:,} segments; rates are per segment")
        figures.update(tutorial_segments_per_s=rate, lectern_over_tutorial=mult)
    shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--segments", type=int, default=0, help=f"corpus rows (default: enough for {MIN_CHUNKS:,} chunks)"
    )
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_SEGMENTS:,} segments, (a) measured once")
    ap.add_argument("--tutorial-segments", type=int, help="run (d) on only the first N segments (0 = all)")
    ap.add_argument("--no-tutorial", action="store_true", help="skip (d)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    figures = {"machine": common.print_machine(), **run(args)}
    common.write_json(args.json, figures)
    print(f"done in {time.perf_counter() - T0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
