"""More fusion variants, tried after held-out 6 and 7 were read (fifth session), against Lectern's default.

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/variants_more.py [--cost | --every-set [N]]

Prints hit@1 / MRR / hit@5 pooled over the tuning set and held-out 1 to 7 (325 answerable questions), and
per set, for each variant. Re-ranks the candidate lists of eval/variants.py's Bench (dense and BM25, 100
each, in the lectures or speakers the question names), with Lectern's BM25 lead (RAG_KEYWORD_LEAD 1.5)
applied after every fusion, as `Retriever` does:
- "within lecture": the lecture the default ranks first keeps its place, and its windows are re-ranked by
  RRF with BM25 weighted w: dense finds the lecture, BM25 the part of it (misses are mostly other parts);
- "maxsim": token-level late interaction (each question word piece's best cosine against the window's
  MiniLM token states, averaged; ColBERT's scoring with a model not trained for it) as a third RRF list;
- "learned": logistic regression over per-candidate features (the two RRF terms, dense similarity to the
  best, BM25 score over the best, how much of the fused score the window's lecture holds, coverage),
  trained on all sets but one and scored on the one left out, for every set in turn.
With --every-set, the default and MaxSim as they were fixed then, over the tuning set and every held-out
set, including those written after them (held-out 8 to 10), and the MaxSim re-ranking of the first few
windows that rag/rerank.py became (sixth session, after held-out 10 was read; `--every-set 10` is the
433 questions it was chosen on).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from variants import ALL_SETS, Bench, Fuse, Lists, _figures, default, every_set, fused, keyword_lead

from rag.evaluation import is_hit
from rag.models import Hit
from rag.rerank import maxsim, question_states
from rag.retrieval import coverage

SETS = {**ALL_SETS, "held-out 6": "heldout6.jsonl", "held-out 7": "heldout7.jsonl"}


def within_lecture(bench: Bench, bm25_weight: float, dense_weight: float = 1.0, n: int = 30) -> Fuse:
    base = keyword_lead(bench, 1.5)
    video = {c.id: c.video_id for c in bench.kw.chunks}

    def fuse(x: Lists) -> list[str]:
        ids = base(x)
        if not ids:
            return ids
        v = video[ids[0]]
        inside = fused(
            [([c for c, _ in x[2][:n] if video[c] == v], dense_weight),
             ([c for c, _ in x[3][:n] if video[c] == v], bm25_weight)]
        )  # fmt: skip
        order = iter(c for c in inside if c in set(ids))
        return [next(order, c) if video[c] == v else c for c in ids]

    return fuse


class MaxSim:
    def __init__(self, bench: Bench) -> None:
        from variants import token_states

        self.bench = bench
        states = token_states(bench.lectern.embedder, bench.kw.chunks)
        self.states = {c: _unit(h[1:-1]) for c, h in states.items()}
        self.queries: dict[str, np.ndarray] = {}

    def query(self, text: str) -> np.ndarray:
        if text not in self.queries:
            q = question_states(text, self.bench.lectern.embedder)
            if q is None:
                raise SystemExit("MaxSim needs the bundled MiniLM's token states: unset RAG_EMBED_MODEL")
            self.queries[text] = q
        return self.queries[text]

    def third(self, weight: float, n: int = 30, pool: int = 60) -> Fuse:
        def fuse(x: Lists) -> list[str]:
            q = self.query(x[0])
            cands = list(dict.fromkeys([c for c, _ in x[2][:pool]] + [c for c, _ in x[3][:pool]]))
            best = sorted(cands, key=lambda c: -maxsim(q, self.states[c]))[:n]
            return fused([([c for c, _ in x[2][:n]], 1.0), ([c for c, _ in x[3][:n]], 1.0), (best, weight)])

        return keyword_lead(self.bench, 1.5, base=fuse)

    def rerank(self, m: int, w: float) -> Fuse:
        """The first m windows of Lectern's fusion (with the lead) re-ranked by RRF over their fused order
        and their MaxSim order, MaxSim weighted w (rag/rerank.py, batch-computed states)."""
        base = keyword_lead(self.bench, 1.5)

        def fuse(x: Lists) -> list[str]:
            ids = base(x)
            head, q = ids[:m], self.query(x[0])
            by_maxsim = sorted(head, key=lambda c: -maxsim(q, self.states[c]))
            return fused([(head, 1.0), (by_maxsim, w)]) + ids[m:]

        return fuse


def _unit(a: np.ndarray) -> np.ndarray:
    return a / (np.linalg.norm(a, axis=-1, keepdims=True) + 1e-9)


def features(bench: Bench, x: Lists, n: int = 30) -> tuple[list[str], np.ndarray]:
    query, _vec, dense, kw = x
    drank = {c: i for i, (c, _) in enumerate(dense)}
    brank = {c: i for i, (c, _) in enumerate(kw)}
    dsim, bscore = dict(dense), dict(kw)
    cands = list(dict.fromkeys([c for c, _ in dense[:n]] + [c for c, _ in kw[:n]]))
    top_sim, low_sim = (dense[0][1], dense[-1][1]) if dense else (0.0, 0.0)
    top_bm25 = kw[0][1] if kw else 1.0
    chunk = {c: bench.kw.chunks[bench.kw.by_id[c]] for c in cands}
    rrf_terms = {c: 1 / (6 + drank.get(c, 999)) + 1 / (6 + brank.get(c, 999)) for c in cands}
    per_video: dict[str, float] = {}
    for c in cands:
        per_video[chunk[c].video_id] = per_video.get(chunk[c].video_id, 0.0) + rrf_terms[c]
    most = max(per_video.values(), default=1.0)
    rows = [
        [1 / (6 + drank.get(c, 999)), 1 / (6 + brank.get(c, 999)), dsim.get(c, low_sim) - top_sim,
         bscore.get(c, 0.0) / top_bm25, per_video[chunk[c].video_id] / most,
         coverage(query, chunk[c], bench.kw.idf)]
        for c in cands
    ]  # fmt: skip
    return cands, np.array(rows)


def learned_left_out(bench: Bench, c_reg: float = 0.1) -> str:
    """Leave-one-set-out: train on the other sets, score the one left out; figures pooled over all."""
    from sklearn.linear_model import LogisticRegression

    feats = {key: features(bench, x) for key, x in bench.lists.items()}
    by_query = {bench.lists[key][0]: value for key, value in feats.items()}
    ranks_all, per_set = [], []
    for held in bench.sets:
        xs, ys = [], []
        for name in bench.sets:
            for q in bench.sets[name]:
                if name == held or not q.video_id:
                    continue
                cands, f = feats[name, q.id]
                y = np.array([is_hit(Hit(bench.kw.chunks[bench.kw.by_id[c]], 0, 0), q) for c in cands])
                if y.any():
                    xs.append(f)
                    ys.append(y)
        big_x, big_y = np.vstack(xs), np.concatenate(ys)
        mu, sd = big_x.mean(0), big_x.std(0) + 1e-9
        model = LogisticRegression(C=c_reg, max_iter=2000, class_weight="balanced")
        model.fit((big_x - mu) / sd, big_y)

        def fuse(x: Lists, model: Any = model, mu: Any = mu, sd: Any = sd) -> list[str]:
            cands, f = by_query[x[0]]
            return [cands[i] for i in np.argsort(-model.decision_function((f - mu) / sd))]

        led = keyword_lead(bench, 1.5, base=fuse)
        ranks = [bench.rank(led, held, q) for q in bench.sets[held] if q.video_id]
        ranks_all += ranks
        per_set.append(f"{held} {_figures(ranks)}")
    return "   ".join([f"pooled {_figures(ranks_all)}", *per_set])


def maxsim_cost(bench: Bench, windows: int = 60) -> None:
    """What MaxSim would cost: the index's token states, and computing them for one query's candidates."""
    import time

    from variants import token_states

    emb, chunks = bench.lectern.embedder, bench.kw.chunks
    began = time.perf_counter()
    states = token_states(emb, chunks)
    pieces = sum(len(h) for h in states.values())
    print(f"{len(states)} windows, {pieces} word pieces: {pieces * 384 * 2 / 1e6:.0f} MB as float16 states")
    print(f"all of them computed in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    token_states(emb, chunks[:windows])
    print(f"{windows} windows, as for one query's candidates: {time.perf_counter() - began:.2f} s")


def main() -> None:
    import sys

    if "--cost" in sys.argv:
        maxsim_cost(Bench({}))
        return
    if "--every-set" in sys.argv:  # the variants as fixed then, on every set since written too
        after = sys.argv[sys.argv.index("--every-set") + 1 :]
        bench = Bench(every_set(int(after[0]) if after and after[0].isdigit() else 0))
        print("default (with the lead)", bench.score(keyword_lead(bench, 1.5), pooled=True), flush=True)
        maxsim = MaxSim(bench)
        for w in (0.5, 1.0):
            print(f"maxsim third list, weight {w}", bench.score(maxsim.third(w), pooled=True), flush=True)
        # what rag/rerank.py became: the first m fused windows re-ranked, MaxSim weighted w
        tried = ((3, 2.0), (4, 2.0), (5, 0.5), (5, 1.0), (5, 1.5), (5, 2.0), (5, 3.0), (6, 2.0), (10, 1.0))
        for m, w in tried:
            figures = bench.score(maxsim.rerank(m, w), pooled=True)
            print(f"maxsim re-rank of the first {m}, weight {w}", figures, flush=True)
        return
    bench = Bench(SETS)
    print("default (with the lead)", bench.score(keyword_lead(bench, 1.5), pooled=True), flush=True)
    print("default without the lead", bench.score(default(), pooled=True), flush=True)
    for w in (0.5, 1.5, 2.0, 3.0):
        print(f"within lecture, BM25 weight {w}", bench.score(within_lecture(bench, w), pooled=True))
    print("within lecture, BM25 only", bench.score(within_lecture(bench, 1.0, 0.0), pooled=True), flush=True)
    maxsim = MaxSim(bench)
    for w in (0.5, 1.0):
        print(f"maxsim third list, weight {w}", bench.score(maxsim.third(w), pooled=True), flush=True)
    print("learned, left-out set", learned_left_out(bench), flush=True)


if __name__ == "__main__":
    main()
