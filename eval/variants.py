"""Retrieval variants tried against Lectern's default (RRF k=5 of dense and BM25, 30 candidates each).

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/variants.py [--only NAME ...]

Prints hit@1 / MRR / hit@5 on the tuning set (eval/questions.jsonl) and the two held-out sets
(eval/heldout.jsonl, eval/heldout2.jsonl) for each variant, in eval/EXPERIMENTS.md's "Tried and dropped"
order; with --all-sets, on all six sets and pooled over them (253 answerable questions).
Every variant re-ranks the same two candidate lists (dense and BM25, 100 each, fetched once per question),
then merges overlapping windows exactly as `Retriever.retrieve` does, so only the fusion differs.
"default" is Lectern's fusion before the BM25 lead (RAG_KEYWORD_LEAD, 1.5 since aedd40a), which the
"keyword lead" variants add. "All six sets" are the tuning set and held-out 1 to 5, which chose the lead;
held-out 6 judged it; --every-set takes the tuning set and every held-out set there is. Needs the eval store
built by eval/suite.sh.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from functools import cached_property, partial
from pathlib import Path

import bm25s
import numpy as np

from rag.config import load_settings
from rag.embeddings import Embedder, LocalMiniLM
from rag.evaluation import Question, is_hit, read_questions
from rag.keyword import camel_split, camel_words, terms
from rag.models import Chunk, Hit
from rag.pipeline import Lectern
from rag.retrieval import dense_query, merge_neighbours, rrf, without_names

Lists = tuple[str, np.ndarray, list[tuple[str, float]], list[tuple[str, float]]]  # query, vec, dense, bm25
Fuse = Callable[[Lists], list[str]]  # chunk ids, best first
EVAL = Path(__file__).resolve().parent


SETS = {"tuning": "questions.jsonl", "held-out": "heldout.jsonl", "held-out 2": "heldout2.jsonl"}
ALL_SETS = {
    **SETS,
    "held-out 3": "heldout3.jsonl",
    "held-out 4": "heldout4.jsonl",
    "held-out 5": "heldout5.jsonl",
}


class Bench:
    def __init__(self, sets: dict[str, str] = SETS) -> None:
        self.lectern = Lectern(load_settings())
        self.kw = self.lectern.keyword()
        self.ids = [c.id for c in self.kw.chunks]
        self.sets = {n: read_questions(EVAL / f) for n, f in sets.items()}
        self.lists: dict[tuple[str, str], Lists] = {}
        for name, qs in self.sets.items():
            for q in qs:
                query = self.lectern.answerer.standalone(q.question, q.history) if q.history else q.question
                self.lists[name, q.id] = self.candidates(query)

    def candidates(self, query: str) -> Lists:
        """Dense and BM25 lists of 100 as `Retriever.retrieve` makes them: in the lectures the question
        names, if any, and with its second pass: the dense query without the names of the lecture that
        the default fusion ranks first."""
        scope = self.lectern.retriever().scope(query)
        allowed, asked = (scope.videos, scope.embed or scope.query) if scope else (None, query)
        where = sorted(allowed) if allowed else None
        text, store = dense_query(asked), self.lectern.store
        vec = self.lectern.embedder.embed_query(text)
        dense, kw = store.query(vec, 100, where), self.kw.search(query, 100, allowed)
        top = default()((query, vec, dense, kw))
        refined = without_names(text, self.kw.chunks[self.kw.by_id[top[0]]].title) if top else text
        if refined != text:
            vec = self.lectern.embedder.embed_query(refined)
            dense = store.query(vec, 100, where)
        return query, vec, dense, kw

    @cached_property
    def stored(self) -> tuple[list[str], np.ndarray]:
        """Every stored chunk id and its MiniLM vector, read from Chroma once for all the variants."""
        got = self.lectern.store.collection(create=False).get(include=["embeddings"])
        return list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)

    def top(self, fuse: Fuse, name: str, q: Question, n: int = 5) -> list[Hit]:
        """The first n hits of a fusion for one question, overlapping windows merged as retrieval does."""
        ids = fuse(self.lists[name, q.id])
        hits = [Hit(self.kw.chunks[self.kw.by_id[c]], 1.0 / (i + 1), 0.0) for i, c in enumerate(ids)]
        return merge_neighbours(hits, int(3.0 * self.kw.typical_chars))[:n]

    def score(self, fuse: Fuse, pooled: bool = False) -> str:
        """hit@1 / MRR / hit@5 per set, and with `pooled` over all the sets' questions first."""
        out, everything = [], []
        for name, qs in self.sets.items():
            ranks = [self.rank(fuse, name, q) for q in qs if q.video_id]
            everything += ranks
            out.append(f"{name} {_figures(ranks)}")
        return "   ".join([f"pooled {_figures(everything)}", *out] if pooled else out)

    def rank(self, fuse: Fuse, name: str, q: Question) -> int:
        return next((i for i, h in enumerate(self.top(fuse, name, q), 1) if is_hit(h, q)), 0)


def _figures(ranks: list[int]) -> str:
    n = max(len(ranks), 1)
    mrr = sum(1 / r for r in ranks if r) / n
    return f"{sum(r == 1 for r in ranks) / n:.3f} / {mrr:.3f} / {sum(r > 0 for r in ranks) / n:.3f}"


def fused(lists: list[tuple[list[str], float]], k: int = 5) -> list[str]:
    f = rrf(lists, k)
    return sorted(f, key=lambda c: -f[c])


def default(n: int = 30, k: int = 5, bm25_weight: float = 1.0) -> Fuse:
    return lambda x: fused([([c for c, _ in x[2][:n]], 1.0), ([c for c, _ in x[3][:n]], bm25_weight)], k)


def convex(alpha: float, norm: str, n: int = 30) -> Fuse:
    """alpha * normalised dense + (1 - alpha) * normalised BM25; missing from a list = that list's minimum."""

    def scale(lst: list[tuple[str, float]]) -> dict[str, float]:
        v = np.array([s for _, s in lst]) if lst else np.zeros(0)
        if not len(v):
            return {}
        z = (
            (v - v.min()) / ((v.max() - v.min()) or 1)
            if norm == "minmax"
            else (v - v.mean()) / (v.std() or 1)
        )
        return {c: float(s) for (c, _), s in zip(lst, z, strict=True)}

    def fuse(x: Lists) -> list[str]:
        d, b = scale(x[2][:n]), scale(x[3][:n])
        md, mb = min(d.values(), default=0.0), min(b.values(), default=0.0)
        s = {c: alpha * d.get(c, md) + (1 - alpha) * b.get(c, mb) for c in d.keys() | b.keys()}
        return sorted(s, key=lambda c: -s[c])

    return fuse


def bm25_params(bench: Bench, k1: float, b: float, method: str, n: int = 30) -> Fuse:
    model = bm25s.BM25(k1=k1, b=b, method=method)
    model.index([terms(f"{c.title} {c.text}") for c in bench.kw.chunks], show_progress=False)

    def fuse(x: Lists) -> list[str]:
        words = [w for w in terms(x[0]) if w in model.vocab_dict]
        kl: list[str] = []
        if words:
            docs, scores = model.retrieve([words], k=n, show_progress=False, n_threads=1)
            kl = [bench.ids[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        return fused([([c for c, _ in x[2][:n]], 1.0), (kl, 1.0)])

    return fuse


def char_grams(text: str, n: int, across: bool) -> list[str]:
    """Character n-grams of the stemmed words, inside each word (#word#) or across the joined words."""
    words = terms(text)
    if across:
        joined = f" {' '.join(words)} "
        return [joined[i : i + n] for i in range(len(joined) - n + 1)]
    return [f"#{w}#"[i : i + n] for w in words for i in range(max(1, len(w) + 3 - n))]


def char_ngrams(bench: Bench, n: int, across: bool, mode: str, weight: float = 1.0, k: int = 30) -> Fuse:
    """BM25 over character n-grams, which match words the recogniser split or misspelt ("Lisa doll" for
    "Lee Sedol") partly: alone, instead of the word BM25 list, or as a third list."""
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index([char_grams(f"{c.title} {c.text}", n, across) for c in bench.kw.chunks], show_progress=False)

    def fuse(x: Lists) -> list[str]:
        grams = [g for g in char_grams(x[0], n, across) if g in model.vocab_dict]
        ng: list[str] = []
        if grams:
            docs, scores = model.retrieve([grams], k=k, show_progress=False, n_threads=1)
            ng = [bench.ids[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
        dense, kw = [c for c, _ in x[2][:k]], [c for c, _ in x[3][:k]]
        if mode == "alone":
            return ng
        return fused(
            [(dense, 1.0), (ng, 1.0)] if mode == "instead" else [(dense, 1.0), (kw, 1.0), (ng, weight)]
        )

    return fuse


def token_states(emb: Embedder, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
    """Each chunk's last hidden states, for late chunking (the same model run ingest does, kept per token)."""
    if not isinstance(emb, LocalMiniLM):
        raise SystemExit("token states need the bundled MiniLM: unset RAG_EMBED_MODEL")
    out: dict[str, np.ndarray] = {}
    chunks = sorted(chunks, key=lambda c: len(c.text))
    for i in range(0, len(chunks), 32):
        batch = chunks[i : i + 32]
        encs = emb.tokenizer.encode_batch([c.text for c in batch])
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, e in enumerate(encs):
            ids[r, : len(e.ids)], mask[r, : len(e.ids)] = e.ids, 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = emb.session.run(None, feeds)
        for r, c in enumerate(batch):
            out[c.id] = hidden[r, : int(mask[r].sum())]
    return out


def late_chunking(bench: Bench, states: dict[str, np.ndarray], width: int, mode: str, n: int = 30) -> Fuse:
    """Sub-window vectors pooled from each chunk's token states: max-sim per chunk, or a third RRF list."""
    vecs, owner = [], []
    for ci, cid in enumerate(bench.ids):
        h = states[cid]
        for s in range(1, max(2, len(h) - width), width // 2):
            vecs.append(h[s : s + width].mean(0))
            owner.append(ci)
    m = np.array(vecs)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    own = np.array(owner)

    def fuse(x: Lists) -> list[str]:
        best = np.full(len(bench.ids), -1.0)
        np.maximum.at(best, own, m @ x[1])
        sub = [bench.ids[i] for i in np.argsort(-best)[:n]]
        dense, kw = [c for c, _ in x[2][:n]], [c for c, _ in x[3][:n]]
        return fused([(sub, 1.0), (kw, 1.0)] if mode == "max" else [(dense, 1.0), (sub, 1.0), (kw, 1.0)])

    return fuse


def rocchio(bench: Bench, beta: float, top: int, n: int = 30) -> Fuse:
    """Dense pseudo-relevance feedback: the query moved towards the first fused hits' vectors."""
    ids, mat = bench.stored
    pos = {c: i for i, c in enumerate(ids)}
    first = default(n)

    def fuse(x: Lists) -> list[str]:
        q = x[1] + beta * mat[[pos[c] for c in first(x)[:top]]].mean(0)
        dense = [ids[i] for i in np.argsort(-(mat @ (q / np.linalg.norm(q))))[:n]]
        return fused([(dense, 1.0), ([c for c, _ in x[3][:n]], 1.0)])

    return fuse


def video_idf(bench: Bench, weight: float, n: int = 30) -> Fuse:
    """A third list: BM25 with idf counted inside each chunk's own video (lecture-wide words weigh little)."""
    tfs = {c.id: Counter(terms(f"{c.title} {c.text}")) for c in bench.kw.chunks}
    vid = {c.id: c.video_id for c in bench.kw.chunks}
    df: dict[str, Counter[str]] = defaultdict(Counter)
    size: Counter[str] = Counter()
    lens: dict[str, list[int]] = defaultdict(list)
    for cid, tf in tfs.items():
        df[vid[cid]].update(tf.keys())
        size[vid[cid]] += 1
        lens[vid[cid]].append(sum(tf.values()))
    avg = {v: float(np.mean(ls)) for v, ls in lens.items()}

    def local(qt: list[str], cid: str) -> float:
        v, tf = vid[cid], tfs[cid]
        norm = 1.2 * (0.25 + 0.75 * sum(tf.values()) / avg[v])
        return sum(
            math.log(1 + (size[v] - df[v][t] + 0.5) / (df[v][t] + 0.5)) * tf[t] * 2.2 / (tf[t] + norm)
            for t in qt
            if tf[t]
        )

    def fuse(x: Lists) -> list[str]:
        qt = terms(x[0])
        dense, kw = [c for c, _ in x[2][:n]], [c for c, _ in x[3][:n]]
        loc = sorted(dict.fromkeys(dense + kw), key=lambda c: -local(qt, c))
        return fused([(dense, 1.0), (kw, 1.0), (loc, weight)])

    return fuse


def stripped_query(bench: Bench, mode: str, n: int = 30) -> Fuse:
    """The question embedded again without its asking words ("what", "why", "lecture", ...)."""
    asking = {
        "what", "why", "how", "when", "where", "which", "who", "whom", "whose", "does", "do", "did", "can",
        "could", "would", "should", "explain", "tell", "describe", "mean", "lecture", "lecturer", "professor",
        "speaker", "talk", "say", "said", "mention", "video", "is", "are", "the", "a", "an",
    }  # fmt: skip

    def fuse(x: Lists) -> list[str]:
        bare = " ".join(w for w in re.findall(r"[A-Za-z0-9'-]+", x[0]) if w.lower() not in asking)
        vec = bench.lectern.embedder.embed_query(bare)
        again = [c for c, _ in bench.lectern.store.query(vec, n)]
        dense, kw = [c for c, _ in x[2][:n]], [c for c, _ in x[3][:n]]
        lists = [(again, 1.0), (kw, 1.0)] if mode == "instead" else [(dense, 1.0), (again, 1.0), (kw, 1.0)]
        return fused(lists)

    return fuse


def naming(bench: Bench, mode: str, n: int = 30) -> Fuse:
    """The second pass changed: "none" keeps the first pass's dense list (only the placing phrases out);
    "acronyms too" also leaves out capitalised acronyms of the title ("VAE", "GAN", "AI")."""

    def fuse(x: Lists) -> list[str]:
        text = dense_query(x[0])
        first = [c for c, _ in bench.lectern.store.query(bench.lectern.embedder.embed_query(text), n)]
        kw = [c for c, _ in x[3][:n]]
        top = fused([(first, 1.0), (kw, 1.0)])
        if mode == "none" or not top:
            return top
        refined = without_names(text, bench.kw.chunks[bench.kw.by_id[top[0]]].title, acronyms=True)
        if refined == text:
            return top
        return fused(
            [
                (
                    [c for c, _ in bench.lectern.store.query(bench.lectern.embedder.embed_query(refined), n)],
                    1.0,
                ),
                (kw, 1.0),
            ]
        )

    return fuse


def camel_parts(bench: Bench, n: int = 30) -> Fuse:
    """The BM25 query with the parts of all its camel-case words added ("DeepMind" -> "Deep Mind"), as
    speech recognition writes them. (Lectern adds them only for words its index does not know.)"""

    def fuse(x: Lists) -> list[str]:
        parts = [" ".join(camel_split(w)) for w in camel_words(x[0])]
        kw = bench.kw.search(" ".join([x[0], *parts]), n) if parts else x[3][:n]
        return fused([([c for c, _ in x[2][:n]], 1.0), ([c for c, _ in kw], 1.0)])

    return fuse


def overlapping(bench: Bench, a: str, b: str) -> bool:
    x, y = bench.kw.chunks[bench.kw.by_id[a]], bench.kw.chunks[bench.kw.by_id[b]]
    return x.video_id == y.video_id and x.start < y.end and y.start < x.end


def deduplicated(bench: Bench, n: int = 30) -> Fuse:
    """Each list keeps only the best-ranked window of a moment before fusion (RRF over moments)."""

    def moments(ids: list[str]) -> list[str]:
        kept: list[str] = []
        for c in ids:
            if not any(overlapping(bench, c, k) for k in kept):
                kept.append(c)
        return kept

    return lambda x: fused(
        [(moments([c for c, _ in x[2][:n]]), 1.0), (moments([c for c, _ in x[3][:n]]), 1.0)]
    )


def supported_by_overlaps(bench: Bench, gamma: float, n: int = 30) -> Fuse:
    """A window's fused score plus gamma x the scores of the windows overlapping it: a moment that several
    windows match gains."""

    def fuse(x: Lists) -> list[str]:
        f = rrf([([c for c, _ in x[2][:n]], 1.0), ([c for c, _ in x[3][:n]], 1.0)], 5)
        s = {
            c: v + gamma * sum(w for o, w in f.items() if o != c and overlapping(bench, c, o))
            for c, v in f.items()
        }
        return sorted(s, key=lambda c: -s[c])

    return fuse


def keyword_lead(bench: Bench, lead: float, distinct: bool = True, base: Fuse | None = None) -> Fuse:
    """Lectern's RAG_KEYWORD_LEAD after the `base` fusion (the default): the BM25 top first when its score
    is `lead` times the runner-up's, the best passage not overlapping it (`distinct`) or simply the
    second."""
    fuse_default = base or default()

    def fuse(x: Lists) -> list[str]:
        ids, kw = fuse_default(x), x[3]
        top = kw[0][0] if kw else ""
        rest = [s for c, s in kw[1:] if not (distinct and overlapping(bench, c, top))]
        if rest and kw[0][1] >= lead * rest[0] > 0:
            return [top, *(c for c in ids if c != top)]
        return ids

    return fuse


def variants(bench: Bench) -> dict[str, Callable[[], Fuse]]:
    states: dict[str, np.ndarray] = {}

    def late(width: int, mode: str) -> Fuse:
        if not states:
            states.update(token_states(bench.lectern.embedder, bench.kw.chunks))
        return late_chunking(bench, states, width, mode)

    out: dict[str, Callable[[], Fuse]] = {"default (RRF k=5)": default}
    for k in (2, 5, 10, 20, 60):
        for weight in (0.8, 1.0, 1.25, 1.5, 2.0):
            out[f"rrf k={k} bm25 weight={weight:g}"] = partial(default, 30, k, weight)
    for norm in ("minmax", "z"):
        for a in (0.3, 0.4, 0.5, 0.6, 0.7):
            out[f"convex {norm} alpha={a}"] = partial(convex, a, norm)
    for method in ("lucene", "bm25+", "bm25l"):
        for k1, b in ((0.9, 0.75), (1.2, 0.75), (2.0, 0.75), (1.5, 0.3), (1.5, 1.0)):
            out[f"bm25 {method} k1={k1} b={b}"] = partial(bm25_params, bench, k1, b, method)
    for n in (3, 4, 5):
        for across in (False, True):
            where = "across words" if across else "in words"
            out[f"char {n}-grams {where} alone"] = partial(char_ngrams, bench, n, across, "alone")
            out[f"char {n}-grams {where} instead"] = partial(char_ngrams, bench, n, across, "instead")
            for weight in (1.0, 0.5):
                out[f"char {n}-grams {where} third {weight:g}"] = partial(
                    char_ngrams, bench, n, across, "third", weight
                )
    for w in (32, 64, 96, 128):
        out[f"late chunking {w} max"] = partial(late, w, "max")
        out[f"late chunking {w} rrf3"] = partial(late, w, "rrf3")
    for beta in (0.2, 0.5, 1.0):
        for top in (1, 3):
            out[f"rocchio beta={beta} top={top}"] = partial(rocchio, bench, beta, top)
    for weight in (0.5, 1.0):
        out[f"video idf weight={weight}"] = partial(video_idf, bench, weight)
    for mode in ("instead", "added"):
        out[f"stripped dense query {mode}"] = partial(stripped_query, bench, mode)
    for mode in ("none", "acronyms too"):
        out[f"second pass: {mode}"] = partial(naming, bench, mode)
    out["camel-case parts in the BM25 query"] = partial(camel_parts, bench)
    out["moments deduplicated per list"] = partial(deduplicated, bench)
    for g in (0.25, 0.5, 1.0):
        out[f"overlap support gamma={g}"] = partial(supported_by_overlaps, bench, g)
    for lead in (1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0):
        out[f"keyword lead {lead:g}"] = partial(keyword_lead, bench, lead)
        out[f"keyword lead {lead:g} over the second"] = partial(keyword_lead, bench, lead, False)
    for k in (5, 10, 20):  # Lectern as it runs: each fusion with the BM25 lead after it
        for weight in (1.0, 1.25, 1.5, 2.0):
            out[f"lead after rrf k={k} bm25 weight={weight:g}"] = partial(
                lambda k, w: keyword_lead(bench, 1.5, base=default(30, k, w)), k, weight
            )
    return out


def hnsw_check(bench: Bench) -> str:
    """How much of the exact top 30 Chroma's approximate (HNSW) search returns, and how often the top hit."""
    ids, mat = bench.stored
    found = same_top = 0
    for _query, vec, dense, _kw in bench.lists.values():
        exact = [ids[i] for i in np.argsort(-(mat @ vec))[:30]]
        found += len(set(exact) & {c for c, _ in dense[:30]})
        same_top += exact[0] == dense[0][0]
    n = len(bench.lists)
    return f"HNSW against exact search: {found / (30 * n):.3f} of the top 30, same top hit {same_top}/{n}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=[], help="run the variants whose name starts with these")
    p.add_argument("--all-sets", action="store_true", help="all six question sets, and pooled over them")
    p.add_argument(
        "--every-set", nargs="?", type=int, const=0, metavar="N",
        help="the tuning set and every held-out set (or held-out 1 to N), pooled",
    )  # fmt: skip
    args = p.parse_args()
    pooled = args.all_sets or args.every_set is not None
    sets = ALL_SETS if args.all_sets else SETS
    bench = Bench(every_set(args.every_set) if args.every_set is not None else sets)
    if not pooled:
        print(hnsw_check(bench))
    print(f"{'variant':36} hit@1 / MRR / hit@5")
    for name, make in variants(bench).items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        print(f"{name:36} {bench.score(make(), pooled=pooled)}", flush=True)


def every_set(upto: int = 0) -> dict[str, str]:
    """The tuning set and each held-out set in the order they were written (heldout.jsonl, heldout2, ...),
    up to held-out `upto` (0: all): the sets read at some earlier point."""
    held = sorted(EVAL.glob("heldout*.jsonl"), key=lambda p: int(p.stem[7:] or 1))
    held = [p for p in held if not upto or int(p.stem[7:] or 1) <= upto]
    return {"tuning": "questions.jsonl"} | {f"held-out {p.stem[7:] or 1}": p.name for p in held}


if __name__ == "__main__":
    main()
