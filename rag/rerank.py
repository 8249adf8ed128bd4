"""Late interaction: the first few windows re-ranked by how well each of the question's words is matched
somewhere in them (ColBERT's MaxSim, with the token states of the same MiniLM that embeds the windows).

A window's one vector averages 192 word pieces, so the part of a lecture that introduces a topic scores as
well as the part that answers the question about it; BM25 matches words as written and misses paraphrase.
Most of the questions retrieval got wrong ranked the right lecture first and another part of it above the
answer. MaxSim compares each content word of the question with its best-matching word piece in the
window, in context, and averages: a window that holds the question's particular words, or words used
like them, rises above one that only shares its topic. MiniLM was not trained for this, but over every
question set read before it was adopted it puts 13 more of 433 at rank 1 than the fusion alone
(eval/EXPERIMENTS.md). Only the first few windows are re-ranked, so it cannot bring in a window retrieval
did not find; it costs one model run over each of them per question (search p50 272 ms against 11 ms
without it at 11,298 segments on 2 cores; README, Benchmarks). The refusal gate's match term reads the
same windows' states (`word_match`), so it adds no run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .keyword import ASKING, terms


def _content(piece: str) -> bool:
    """A word piece that says what the question is about: a whole word, not a stop or asking word."""
    return piece.isalnum() and bool(set(terms(piece)) - ASKING)


class TokenStates:
    """The token states of one query's windows, each text run once: the re-ranking and the refusal gate
    read the same windows, and a model run is most of the cost of either (55 ms for 256 word pieces alone
    on 2 cores)."""

    def __init__(self, embedder: Any) -> None:
        self._run = getattr(embedder, "token_states", None)
        self._windows: dict[str, np.ndarray] = {}
        self._questions: dict[str, tuple[list[str], np.ndarray]] = {}

    def question(self, question: str) -> tuple[list[str], np.ndarray] | None:
        """The question's content word pieces and their states (all its pieces when it has none)."""
        if self._run is None:
            return None
        if question not in self._questions:
            ((pieces, q),) = self._run([question])
            keep = [i for i, p in enumerate(pieces) if _content(p)] or list(range(len(pieces)))
            self._questions[question] = [pieces[i] for i in keep], q[keep]
        return self._questions[question]

    def window(self, text: str) -> np.ndarray:
        # Each text is run alone: the int8 model's activation scales depend on the whole batch, and a
        # score should not depend on which other windows came with it.
        if text not in self._windows:
            assert self._run is not None
            self._windows[text] = self._run([text])[0][1]
        return self._windows[text]


def question_states(question: str, embedder: Any) -> np.ndarray | None:
    """The token states of the question's content words (all its word pieces when it has none); None when
    the embedder has no token states (OpenAI embeddings)."""
    got = TokenStates(embedder).question(question)
    return None if got is None else got[1]


def best_cosines(q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each of the question's rows' best cosine with a row of the window (both L2-normalised)."""
    return (q @ w.T).max(axis=1)


def maxsim(q: np.ndarray, w: np.ndarray) -> float:
    """The mean, over the question's rows, of each one's best cosine with a row of the window (-1: empty)."""
    return float(best_cosines(q, w).mean()) if len(q) and len(w) else -1.0


def idf_weights(pieces: Sequence[str], idf: Callable[[str], float]) -> np.ndarray:
    """Each word piece's weight: the idf of its rarest term (1 when it has none)."""
    return np.array([max((idf(t) for t in terms(p)), default=1.0) for p in pieces])


def maxsim_scores(question: str, texts: Sequence[str], embedder: Any) -> np.ndarray | None:
    """Each text's MaxSim against the question; None when the embedder has no token states."""
    states = embedder if isinstance(embedder, TokenStates) else TokenStates(embedder)
    got = states.question(question)
    if got is None:
        return None
    return np.array([maxsim(got[1], states.window(text)) for text in texts], dtype=float)


def maxsim_order(question: str, texts: Sequence[str], embedder: Any) -> list[int] | None:
    """The indices of `texts`, best first by MaxSim (ties keep their order); None without token states,
    so the order retrieval found stands. `embedder` may be a TokenStates, to share its windows' runs."""
    scores = maxsim_scores(question, texts, embedder)
    if scores is None:
        return None
    return sorted(range(len(texts)), key=lambda i: -scores[i])


def word_match(
    question: str, texts: Sequence[str], states: TokenStates, idf: Callable[[str], float]
) -> float:
    """How well the best of `texts` matches each of the question's content words, in context: the
    idf-weighted mean of each word piece's best cosine in the text (0 without token states or texts).

    What the refusal gate adds to lexical coverage: a paraphrase finds close token states where it finds
    no written word, while a near-topic question the lectures never answer keeps a rare word that nothing
    in the windows resembles."""
    got = states.question(question) if texts else None
    if got is None:
        return 0.0
    pieces, q = got
    weights = idf_weights(pieces, idf)
    total = float(weights.sum()) or 1.0
    best = [float(weights @ best_cosines(q, w)) / total for w in map(states.window, texts) if len(w)]
    return max(best, default=0.0)
