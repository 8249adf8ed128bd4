"""Refusal-gate signals from late interaction, tried after held-out 11 was read (seventh session): the
first look, before the match term was built into rag/ (eval/gate_match.py judges that one).

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/gate_maxsim.py     (the store eval/suite.sh builds)

Held-out 11 refused 3 of its 36 answerable questions: two just under the threshold, one asking in words
the talk does not use. The gate reads lexical coverage (the share of the question's idf-weighted words a
hit holds), which a paraphrase lowers. The re-ranking already has every content word of the question
matched against its best token of each of the first windows (rag/rerank.py); how well the worst-matched
word is matched, or how many are matched well, is coverage that sees paraphrase. For each question of
every set read so far this collects the gate's figures and those signals over the first 3 hits (after
merging, so a merged hit's text is read up to the model's 256 word pieces), then scores each gate variant
as eval/gate_match.py does, at 5%. The idf-weighted mean ("wmean") did best; built into rag/, it reads
the windows the re-ranking ran instead, before merging.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from gate_match import collect, judge

from rag.config import load_settings
from rag.pipeline import Lectern
from rag.rerank import TokenStates, best_cosines, idf_weights
from rag.retrieval import Retrieval

TAUS = (0.5, 0.6, 0.7)


def word_matches(asked: str, texts: list[str], lectern: Lectern) -> tuple[list[float], list[list[float]]]:
    """The question's content word pieces' idf, and for each text each piece's best cosine in it."""
    states = TokenStates(lectern.embedder)
    got = states.question(asked)
    if got is None:
        raise SystemExit("needs the bundled MiniLM's token states: unset RAG_EMBED_MODEL")
    pieces, q = got
    best = [best_cosines(q, w) if len(w) else np.full(len(q), -1.0) for w in map(states.window, texts)]
    return idf_weights(pieces, lectern.keyword().idf).tolist(), [b.tolist() for b in best]


def hits_matched(lectern: Lectern, got: Retrieval) -> dict[str, Any]:
    texts = [h.chunk.text for h in got.hits[:3]]
    weights, best = word_matches(got.asked, texts, lectern) if texts else ([], [])
    return {"weights": weights, "best": best}


def signals(r: dict) -> dict[str, float]:
    """Each signal's best over the first 3 hits."""
    w = np.array(r["weights"]) if r["weights"] else np.ones(1)
    out: dict[str, float] = {}
    for b in r["best"] or [[-1.0] * len(w)]:
        b = np.array(b)
        s = {"mean": float(b.mean()), "min": float(b.min()), "wmean": float((w * b).sum() / w.sum())}
        for tau in TAUS:
            s[f"soft{tau}"] = float((w * (b >= tau)).sum() / w.sum())
        for key, v in s.items():
            out[key] = max(out.get(key, -9.0), v)
    return out


def field(key: str, w: float, base: str = "") -> Callable[[dict], float]:
    """`key` alone (w 0), or `base` + w x `key`."""
    return lambda r: float(r[key]) if not w else float(r[base]) + w * float(r[key])


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out/gate-maxsim-rows.jsonl")
    if not path.exists():
        collect(path, hits_matched)
    rows = [json.loads(line) for line in path.open()]
    cw = load_settings().coverage_weight
    for r in rows:
        r.update(signals(r), relevance=r["similarity"] + cw * r["coverage"])  # the gate before match
    print(
        f"{'Lectern (similarity + ' + str(cw) + ' x coverage)':44}", judge(rows, field("relevance", 0), 0.05)
    )
    for key in ("mean", "min", "wmean", *(f"soft{t}" for t in TAUS)):
        print(f"{key + ' alone':44}", judge(rows, field(key, 0), 0.05))
        for w in (0.25, 0.5, 1.0):
            print(f"{'Lectern + ' + str(w) + ' x ' + key:44}", judge(rows, field(key, w, "relevance"), 0.05))
            print(
                f"{'similarity + ' + str(w) + ' x ' + key:44}", judge(rows, field(key, w, "similarity"), 0.05)
            )


if __name__ == "__main__":
    main()
