"""Late-interaction re-ranking (rag/rerank.py) with the real MiniLM, and how the retriever applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rag.config import Settings
from rag.models import Chunk, Hit
from rag.rerank import TokenStates, _content, maxsim_order, maxsim_scores, word_match
from rag.retrieval import Retriever

QUESTION = "How did the Normans win the battle of Hastings?"
TOPIC = "Battles decided the history of England, and this lecture is about wars and how they were fought."
ANSWER = "At Hastings it was luck: the Normans won after an arrow hit King Harold in the eye."


def test_a_window_holding_the_answer_outranks_one_sharing_the_topic(embedder: Any) -> None:
    scores = maxsim_scores(QUESTION, [TOPIC, ANSWER], embedder)
    assert scores is not None and scores[1] > scores[0]
    assert maxsim_order(QUESTION, [TOPIC, ANSWER], embedder) == [1, 0]


def test_a_score_does_not_depend_on_the_other_windows(embedder: Any) -> None:
    alone = maxsim_scores(QUESTION, [ANSWER], embedder)
    with_others = maxsim_scores(QUESTION, [TOPIC, "x " * 200, ANSWER], embedder)
    assert alone is not None and with_others is not None
    assert np.isclose(alone[0], with_others[2], atol=1e-6)


def test_asking_and_stop_words_are_not_matched() -> None:
    assert not _content("what") and not _content("the") and not _content("##ing") and not _content("?")
    assert _content("hastings") and _content("normans")


class _NoTokenStates:
    """OpenAI embeddings expose no token states."""

    def embed_query(self, text: str) -> np.ndarray:
        return np.zeros(3, dtype=np.float32)


def test_without_token_states_the_order_stands() -> None:
    assert maxsim_order(QUESTION, [TOPIC, ANSWER], _NoTokenStates()) is None


# -- the refusal gate's match term ----------------------------------------------------------------------
NOT_ASKED = "Why did the longbow archers win at Agincourt?"  # near-topic: no window says anything of it


def test_match_is_the_best_window_and_higher_where_the_words_are_answered(embedder: Any) -> None:
    states = TokenStates(embedder)
    one = {text: word_match(QUESTION, [text], states, lambda t: 1.0) for text in (TOPIC, ANSWER)}
    assert 0.0 < one[TOPIC] < one[ANSWER] <= 1.0
    assert word_match(QUESTION, [TOPIC, ANSWER], states, lambda t: 1.0) == one[ANSWER]
    assert word_match(NOT_ASKED, [ANSWER], states, lambda t: 1.0) < one[ANSWER]


def test_match_weighs_rare_words_by_idf(embedder: Any) -> None:
    """A question word nothing in the window resembles costs more the rarer it is."""
    states, question = TokenStates(embedder), "How did the Normans and their cavalry win at Hastings?"
    flat = word_match(question, [ANSWER], states, lambda t: 1.0)
    rare = word_match(question, [ANSWER], states, lambda t: 9.0 if t.startswith("cavalr") else 1.0)
    assert rare < flat


def test_without_token_states_or_windows_match_is_zero(embedder: Any) -> None:
    assert word_match(QUESTION, [ANSWER], TokenStates(_NoTokenStates()), lambda t: 1.0) == 0.0
    assert word_match(QUESTION, [], TokenStates(embedder), lambda t: 1.0) == 0.0


def test_each_window_is_run_once_for_the_reranking_and_the_gate(embedder: Any) -> None:
    runs: list[str] = []

    class Counting:
        def token_states(self, texts: Any) -> Any:
            runs.extend(texts)
            return embedder.token_states(texts)

    states = TokenStates(Counting())
    maxsim_order(QUESTION, [TOPIC, ANSWER], states)
    word_match(QUESTION, [TOPIC, ANSWER], states, lambda t: 1.0)
    assert runs.count(TOPIC) == 1 and runs.count(ANSWER) == 1


def _hit(i: int, text: str, score: float) -> Hit:
    chunk = Chunk(
        id=f"c{i}", video_id="v", title="t", channel="", start=100.0 * i, end=100.0 * i + 60, text=text,
        segment_starts=(100.0 * i,), segment_offsets=(0,),
    )  # fmt: skip
    return Hit(chunk, score)


def _retriever(embedder: Any, **overrides: Any) -> Retriever:
    settings = Settings(_env_file=None, **overrides)
    return Retriever(settings, embedder, store=None, keyword=None)  # type: ignore[arg-type]


def test_the_first_windows_are_reordered_and_keep_their_scores(embedder: Any) -> None:
    hits = [_hit(0, TOPIC, 0.5), _hit(1, ANSWER, 0.4), _hit(2, "Something else entirely.", 0.1)]
    out = _retriever(embedder, rerank_top=2, rerank_weight=2.0)._late(QUESTION, list(hits))
    assert [h.chunk.id for h in out] == ["c1", "c0", "c2"]
    assert [h.score for h in out] == [0.5, 0.4, 0.1]  # best first still, the window after them behind


def test_switched_off_nothing_moves(embedder: Any) -> None:
    hits = [_hit(0, TOPIC, 0.5), _hit(1, ANSWER, 0.4)]
    for settings in ({"rerank_top": 0}, {"rerank_weight": 0.0}):
        out = _retriever(embedder, **settings)._late(QUESTION, list(hits))
        assert [h.chunk.id for h in out] == ["c0", "c1"]
