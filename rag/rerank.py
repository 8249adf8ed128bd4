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
did not find; it costs one model run over each of them per question (about 0.25 s for three on 2 cores).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .keyword import ASKING, terms


def _content(piece: str) -> bool:
    """A word piece that says what the question is about: a whole word, not a stop or asking word."""
    return piece.isalnum() and bool(set(terms(piece)) - ASKING)


def question_states(question: str, embedder: Any) -> np.ndarray | None:
    """The token states of the question's content words (all its word pieces when it has none); None when
    the embedder has no token states (OpenAI embeddings)."""
    states = getattr(embedder, "token_states", None)
    if states is None:
        return None
    ((pieces, q),) = states([question])
    keep = [i for i, p in enumerate(pieces) if _content(p)]
    return q[keep] if keep else q


def maxsim(q: np.ndarray, w: np.ndarray) -> float:
    """The mean, over the question's rows, of each one's best cosine with a row of the window (-1: empty)."""
    return float((q @ w.T).max(axis=1).mean()) if len(q) and len(w) else -1.0


def maxsim_scores(question: str, texts: Sequence[str], embedder: Any) -> np.ndarray | None:
    """Each text's MaxSim against the question; None when the embedder has no token states."""
    q = question_states(question, embedder)
    if q is None:
        return None
    # Each text is run alone: the int8 model's activation scales depend on the whole batch, and a score
    # should not depend on which other windows came with it.
    return np.array([maxsim(q, embedder.token_states([text])[0][1]) for text in texts], dtype=float)


def maxsim_order(question: str, texts: Sequence[str], embedder: Any) -> list[int] | None:
    """The indices of `texts`, best first by MaxSim (ties keep their order); None without token states,
    so the order retrieval found stands."""
    scores = maxsim_scores(question, texts, embedder)
    if scores is None:
        return None
    return sorted(range(len(texts)), key=lambda i: -scores[i])
