"""Hybrid retrieval over real stores: filters, fusion, weights, and overlapping windows merged."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ingested
from hypothesis import given, settings
from hypothesis import strategies as st

import rag
from rag.chunking import ChunkParams, chunk_video
from rag.embeddings import LocalMiniLM  # the session `embedder` fixture (conftest) is one
from rag.keyword import KeywordIndex, joined_terms
from rag.models import Chunk, Hit, Segment
from rag.retrieval import coverage, dense_query, merge_chunks, merge_neighbours, rrf, without_names

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "youtube-transcriptions-sample.jsonl"
TRANSFER = "o3y1w6-Xhjg"  # Towards Understanding Transfer Learning with Applications to Medical Imaging
MIT = "njKP3FqW3Sk"  # MIT 6.S191 (2020): Introduction to Deep Learning
PERCEPTRON = "what is a perceptron?"

# One lecture of short cues: 128-token windows with a 32-token overlap share a few cues each.
TOPICS = [
    "gradient descent", "learning rate schedules", "momentum", "adam optimizer", "weight initialization",
    "vanishing gradients", "residual connections", "attention heads", "positional encodings",
    "tokenization", "beam search", "label smoothing", "knowledge distillation", "pruning", "quantization",
    "contrastive learning", "data augmentation", "curriculum learning", "mixture of experts",
    "reinforcement learning", "policy gradients", "value functions", "exploration bonuses", "reward shaping",
]  # fmt: skip
WINDOWS = "LecternWin1"


@pytest.fixture(scope="session")
def windows_store(tmp_path_factory, embedder) -> Path:
    path = tmp_path_factory.mktemp("windows") / "windows.jsonl"
    rows = [
        {
            "video_id": WINDOWS,
            "title": "Optimization and Beyond",
            "start_second": 10.0 * i,
            "end_second": 10.0 * i + 10,
            "text": f"in part {i} of the course we discuss {topic} at some length",
        }
        for i, topic in enumerate(TOPICS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # small windows, so that neighbouring windows share cues whatever the default chunk size is
    return ingested(tmp_path_factory, embedder, "lectern-windows", [path], chunk_tokens=48, chunk_overlap=16)


def lectern(store: Path, embedder: LocalMiniLM, **overrides) -> rag.Lectern:
    settings = rag.Settings(store_dir=store, _env_file=None, openai_api_key=None, **overrides)
    return rag.Lectern(settings, embedder)


def make_chunk(video_id: str, rows: list[tuple[float, float, str]]) -> Chunk:
    segs = [Segment(video_id, s, e, t, "Lecture") for s, e, t in rows]
    (chunk,) = chunk_video(segs, [1] * len(segs), ChunkParams(max_tokens=256, overlap=0))
    return chunk


# -- rrf ---------------------------------------------------------------------------------------------
def test_rrf_on_a_tiny_example() -> None:
    fused = rrf([(["a", "b", "c"], 1.0), (["c", "a", "d"], 1.0)], k=60)
    assert fused == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61, "d": 1 / 63})
    assert sorted(fused, key=lambda c: -fused[c]) == ["a", "c", "b", "d"]


def test_rrf_weights_and_k() -> None:
    fused = rrf([(["a", "b"], 1.0), (["b", "a"], 3.0)], k=1)
    assert fused == pytest.approx({"a": 1 / 2 + 3 / 3, "b": 1 / 3 + 3 / 2})
    assert fused["b"] > fused["a"]


def test_rrf_ignores_a_list_weighted_zero() -> None:
    assert rrf([(["a", "b"], 1.0), (["c", "a"], 0.0)], k=60) == pytest.approx({"a": 1 / 61, "b": 1 / 62})
    assert rrf([], k=60) == {}


# -- merging overlapping windows --------------------------------------------------------------------
def test_merge_chunks_keeps_each_segment_once_in_time_order() -> None:
    a = make_chunk("LecternTstA", [(0, 10, "one"), (10, 20, "two"), (20, 30, "three")])
    b = make_chunk("LecternTstA", [(20, 30, "three"), (30, 40, "four")])
    merged = merge_chunks(b, a)
    assert merged.id == a.id
    assert (merged.start, merged.end) == (0, 40)
    assert merged.text == "one two three four"
    assert merged.segment_starts == (0, 10, 20, 30)
    assert [t for _, _, t in merged.segments()] == ["one", "two", "three", "four"]


def test_merge_neighbours_merges_only_overlapping_windows_of_one_video() -> None:
    a = make_chunk("LecternTstA", [(0, 10, "one"), (10, 20, "two")])
    b = make_chunk("LecternTstB", [(15, 25, "other video")])
    c = make_chunk("LecternTstA", [(10, 20, "two"), (20, 30, "three")])
    d = make_chunk("LecternTstA", [(30, 40, "touching, not overlapping")])
    hits = [Hit(a, 0.5, 0.4), Hit(b, 0.4, 0.6), Hit(c, 0.3, 0.9), Hit(d, 0.2, 0.1)]
    merged = merge_neighbours(hits)
    assert [h.chunk.video_id for h in merged] == ["LecternTstA", "LecternTstB", "LecternTstA"]
    first = merged[0]
    assert (first.chunk.start, first.chunk.end, first.chunk.text) == (0, 30, "one two three")
    assert first.score == 0.5 and first.similarity == 0.9  # the better rank, the best similarity
    assert merged[2].chunk is d


def test_overlapping_windows_of_one_moment_are_listed_once(windows_store, embedder) -> None:
    lec = lectern(windows_store, embedder)
    stored = sorted((c for c in lec.keyword().chunks if c.video_id == WINDOWS), key=lambda c: c.start)
    assert len(stored) >= 3
    first, second = stored[0], stored[1]
    shared = sorted(set(first.segment_starts) & set(second.segment_starts))
    assert shared, "the fixture should make windows that share cues"
    topic = TOPICS[int(shared[-1] // 10)]
    hits = lec.search(f"what do they say about {topic}?").hits
    mine = [h for h in hits if h.video_id == WINDOWS]
    for i, h in enumerate(mine):
        for other in mine[i + 1 :]:
            assert not (h.chunk.start < other.chunk.end and other.chunk.start < h.chunk.end)
    top = mine[0]
    assert top.chunk.start <= first.start and top.chunk.end >= second.end  # both windows, as one hit
    assert top.chunk.text.count(topic) == 1
    assert len(set(top.chunk.segment_starts)) == len(top.chunk.segment_starts)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


# -- filters ---------------------------------------------------------------------------------------
def test_filter_by_video_id(sample_store, embedder) -> None:
    lec = lectern(sample_store, embedder)
    assert {h.video_id for h in lec.search(PERCEPTRON).hits} == {MIT}
    only = lec.search(PERCEPTRON, video_ids=[TRANSFER]).hits
    assert len(only) == 5 and {h.video_id for h in only} == {TRANSFER}
    assert lec.search(PERCEPTRON, video_ids=["NoSuchVid00"]).hits == []


def test_filter_by_title_substring(sample_store, embedder) -> None:
    lec = lectern(sample_store, embedder)
    hits = lec.search(PERCEPTRON, title="MEDICAL imaging").hits
    assert hits and {h.video_id for h in hits} == {TRANSFER}
    assert lec.search(PERCEPTRON, title="introduction to deep").hits[0].video_id == MIT
    assert lec.search(PERCEPTRON, title="no such lecture").hits == []
    assert lec.search(PERCEPTRON, title="medical", video_ids=[MIT]).hits == []


def test_a_question_that_names_a_lecture_is_searched_in_it(sample_store, embedder) -> None:
    # The perceptron is the intro lecture's topic; asked "in the transfer learning talk", the answer must
    # come from that talk (or nowhere). A filter the user set wins over the name.
    lec = lectern(sample_store, embedder)
    named = "In the transfer learning talk, what is a perceptron?"
    found = lec.search(named)
    assert {h.video_id for h in found.hits} == {TRANSFER}
    assert found.query == named and found.asked == "In the talk, what is a perceptron?"  # what coverage read
    by_user = lec.search(named, video_ids=[MIT])
    assert {h.video_id for h in by_user.hits} == {MIT} and by_user.asked == named
    assert lec.search("In the Friday lecture, what is a perceptron?").hits[0].video_id == MIT  # no such name


def test_a_question_that_names_a_speaker_is_searched_in_their_talks(make_lectern, tmp_path) -> None:
    # Two talks on the same topic; the channel opens with the speaker. The second names Lex Fridman too,
    # as its host: only the speaker who opens a channel counts.
    talks = {
        "LexTalk0001": ("Deep RL", "Lex Fridman (MIT), course channel"),
        "IlyaTalk001": ("Meta-learning", "Ilya Sutskever (OpenAI), guest lecture in Lex Fridman's course"),
        "NoSpeaker01": ("Policy methods", ""),  # unknown speaker: searched, not named
    }
    rows = [
        {"video_id": vid, "title": title, "channel_id": channel, "start_second": 20 * i,
         "end_second": 20 * i + 20,
         "text": f"a policy gradient method pushes up the probability of good actions, part {i} of {title}"}
        for vid, (title, channel) in talks.items() for i in range(6)
    ]  # fmt: skip
    source = tmp_path / "talks.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    lec = make_lectern()
    lec.ingest([str(source)])
    asked = "How does a policy gradient work, according to Lex Fridman?"
    found = lec.search(asked)
    assert {h.video_id for h in found.hits} == {"LexTalk0001", "NoSpeaker01"}
    # the gate reads the name: every chunk of the talk holds it, as its speaker
    assert found.named == ["Deep RL"] and found.asked == asked
    strict = make_lectern(min_relevance=5.0)  # refuses everything: the refusal says what was searched
    refusal = strict.ask(asked)
    assert refusal.mode == "refused"
    assert "“Deep RL”" in refusal.answer and "Policy methods" not in refusal.answer
    assert {h.video_id for h in lec.search("How does a policy gradient work?").hits} == set(talks)


def test_an_empty_result_is_refused(sample_store, embedder) -> None:
    answer = lectern(sample_store, embedder).ask(PERCEPTRON, video_ids=["NoSuchVid00"])
    assert answer.mode == "refused" and answer.citations == []


# -- the text embedded for the dense list ----------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "embedded"),
    [
        (
            "What requirements should a network for sequence data meet, according to the RNN lecture?",
            "What requirements should a network for sequence data meet?",
        ),
        (
            "In the deep RL lecture, how did the mathematician describe finishing his proof?",
            "how did the mathematician describe finishing his proof?",
        ),
        (
            "What is the co-adaptation problem mentioned in the transfer learning talk?",
            "What is the co-adaptation problem?",
        ),
        (
            "The welcome video at the start of the intro lecture looked like whom?",
            "The welcome video looked like whom?",
        ),
        (
            "In the intro lecture's two-input neuron, what is the output?",
            "two-input neuron, what is the output?",
        ),
    ],
)
def test_dense_query_drops_phrases_that_only_place_the_question(question: str, embedded: str) -> None:
    assert dense_query(question) == embedded


@pytest.mark.parametrize(
    "question",
    [
        "what is a perceptron?",
        "In the 'will I pass this class' example, what did the network predict?",  # a quoted example
        "What is covered in the RNN lecture?",  # nothing left but the phrase: embedded whole
        "How does the lecture define a loss?",  # no placing phrase, only the word
    ],
)
def test_dense_query_keeps_questions_without_a_placing_phrase(question: str) -> None:
    assert dense_query(question) == question


def test_the_store_is_searched_with_the_dense_query_and_bm25_with_the_whole(
    sample_store, embedder, monkeypatch
) -> None:
    embedded: list[str] = []
    searched: list[str] = []
    real_embed, lec = embedder.embed_query, lectern(sample_store, embedder)
    real_search = lec.keyword().search

    def embed_query(text: str) -> Any:
        embedded.append(text)
        return real_embed(text)

    def search(query: str, *args: Any) -> Any:
        searched.append(query)
        return real_search(query, *args)

    monkeypatch.setattr(embedder, "embed_query", embed_query)
    monkeypatch.setattr(lec.keyword(), "search", search)
    r = lec.search("In the intro lecture, what is a perceptron?")
    assert embedded == ["what is a perceptron?"]
    assert searched == ["In the intro lecture, what is a perceptron?"]
    assert r.query == "In the intro lecture, what is a perceptron?" and "perceptron" in r.hits[0].chunk.text

    # a second pass, once the lecture is found, without the words of the question that name it
    embedded.clear()
    question = "Why does Transfer Learning from natural images help with chest x-rays?"
    r = lec.search(question)
    assert r.hits[0].video_id == TRANSFER
    assert embedded == [question, "Why does from natural images help with chest x-rays?"]

    # BM25 alone: the dense list cannot change the ranking, so it is searched once
    embedded.clear()
    bm25_only = lectern(sample_store, embedder, dense_weight=0.0)
    assert bm25_only.search(question).hits[0].video_id == TRANSFER
    assert embedded == [question]


HASSABIS = "Public Lecture with Google DeepMind's Demis Hassabis"


@pytest.mark.parametrize(
    ("text", "title", "refined"),
    [
        (
            "How much energy did DeepMind save in Google's data centers?",
            HASSABIS,
            "How much energy did save in data centers?",
        ),
        (
            "According to Hassabis, what holds back models of real buildings?",
            HASSABIS,
            "According to what holds back models of real buildings?",
        ),
        (
            "Why does Hassabis think personalised recommendations do not work?",
            HASSABIS,
            "Why does think personalised recommendations do not work?",
        ),
        # acronyms name concepts, which tell the parts of a lecture apart
        ("How can a VAE be trained with backpropagation?", "Deep Generative Models (VAEs and GANs)", None),
        ("Hassabis says what about the game of Go?", HASSABIS, None),  # the first word stays
        ("What did Google do?", HASSABIS, None),  # fewer than four words would be left
        ("How did DeepMind play Atari games?", "Introduction to Deep Learning", None),  # not this title
    ],
)
def test_without_names_drops_the_names_of_the_lecture_found(
    text: str, title: str, refined: str | None
) -> None:
    assert without_names(text, title) == (refined or text)


def test_without_names_can_drop_acronyms_too() -> None:
    text, title = "How can a VAE be trained with backpropagation?", "Deep Generative Models (VAEs and GANs)"
    assert without_names(text, title, acronyms=True) == "How can a be trained with backpropagation?"


# -- the refusal gate's coverage term --------------------------------------------------------------
def _chunk(text: str, title: str = "") -> Chunk:
    return Chunk("v:0", "abcdefghijk", title, 0.0, 10.0, text, (0.0,), (0,))


def test_coverage_weighs_the_rare_terms_of_the_question() -> None:
    idf = {"adam": 5.0, "learn": 1.0, "rate": 1.0}.get
    text = "the learning rate sets the step size"
    assert coverage("adam learning rate", _chunk(text), lambda t: idf(t) or 0.0) == pytest.approx(2 / 7)
    assert coverage("learning rate", _chunk(text), lambda t: idf(t) or 0.0) == 1.0
    assert coverage("adam", _chunk(text, title="Adam explained"), lambda t: 5.0) == 1.0  # titles count
    assert coverage("what is it?", _chunk(text), lambda t: 1.0) == 1.0  # no content terms: nothing missed


def test_coverage_matches_words_as_written_not_their_stems() -> None:
    # eval q082 (unanswerable) scored full coverage on a VAE passage when stems were compared.
    passage = _chunk("the position of the encoder after many transformations")
    assert coverage("how does positional encoding work in a transformer?", passage, lambda t: 1.0) == 0.0
    plural = _chunk("each layer of the network has weights")
    assert coverage("what are the layers of networks?", plural, lambda t: 1.0) == 1.0


def test_coverage_finds_compounds_that_recognition_split() -> None:
    # heldout2 k018 ("DeepTraffic") and k013 ("variational autoencoder") were refused: the transcript
    # says "deep traffic" and "auto encoders".
    assert joined_terms("a deep traffic game, auto encoders") >= {"deeptraffic", "autoencoder", "trafficgame"}
    passage = _chunk("it is called deep traffic: a simulation game")
    assert coverage("What is the DeepTraffic game?", passage, lambda t: 1.0) == 1.0
    assert coverage("What is the traffic light?", passage, lambda t: 1.0) == 0.5  # no pair makes "light"


def test_bm25_searches_an_unknown_camel_case_word_as_its_parts() -> None:
    # heldout2 k018 asks about "DeepTraffic"; the transcript says "deep traffic".
    index = KeywordIndex(
        [
            make_chunk("aaaaaaaaaaa", [(0, 5, "the deep traffic game is a competition")]),
            make_chunk("bbbbbbbbbbb", [(0, 5, "DeepMind built AlphaGo, a deep network")]),
        ]
    )
    assert index.query_terms("What is DeepTraffic?") == ["deep", "traffic"]
    assert index.search("What is DeepTraffic?", 2)[0][0].startswith("aaaaaaaaaaa")
    # a camel-case word the index knows is searched as written, not as its parts ("deep", "mind")
    assert index.query_terms("What did DeepMind do with a network?") == ["deepmind", "network"]


def test_coverage_counts_the_speaker_like_the_title() -> None:
    # heldout2 k016 and the NVIDIA talk's questions name the lecturer, whom recognition rarely writes.
    text = "I cite a blog post on policy gradients"
    passage = Chunk("v:0", "abcdefghijk", "Deep RL", 0.0, 10.0, text, (0.0,), (0,))
    spoken_by = dataclasses.replace(passage, channel="Lex Fridman (MIT)")
    question = "Which blog post on policy gradients did Lex Fridman cite?"
    assert coverage(question, passage, lambda t: 1.0) < coverage(question, spoken_by, lambda t: 1.0) == 1.0


def test_relevance_is_similarity_plus_weighted_coverage_and_match_of_the_first_hits(
    sample_store, embedder
) -> None:
    lec = lectern(sample_store, embedder)
    r, s = lec.search(PERCEPTRON), lec.settings
    idf = lec.keyword().idf
    assert 0.0 < r.coverage <= 1.0
    shown = r.hits[: s.coverage_hits]
    assert len(shown) == 3
    assert r.coverage == pytest.approx(max(coverage(PERCEPTRON, h.chunk, idf) for h in shown))
    assert 0.0 < r.match <= 1.0
    gate = r.best_similarity + s.coverage_weight * r.coverage + s.match_weight * r.match
    assert r.relevance == pytest.approx(gate)
    off = lectern(sample_store, embedder, match_weight=0.0).search(PERCEPTRON)
    assert off.match == 0.0 and off.relevance == pytest.approx(r.relevance - s.match_weight * r.match)
    first = lectern(sample_store, embedder, coverage_hits=1).search(PERCEPTRON)
    assert first.coverage == pytest.approx(coverage(PERCEPTRON, first.hits[0].chunk, idf))


class _CountingEmbedder:
    """The real model, counting the texts it runs for token states."""

    def __init__(self, inner: LocalMiniLM) -> None:
        self.inner = inner
        self.runs: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def token_states(self, texts: Any) -> Any:
        self.runs.extend(texts)
        return self.inner.token_states(texts)


def test_the_gate_reads_the_windows_the_reranking_ran_without_running_them_again(
    sample_store, embedder
) -> None:
    counting = _CountingEmbedder(embedder)
    r = lectern(sample_store, counting).search(PERCEPTRON)  # type: ignore[arg-type]
    assert r.match > 0.0
    assert counting.runs[0] == PERCEPTRON and len(counting.runs) == 4  # the question and 3 windows, once each
    assert len(set(counting.runs)) == 4


# -- the BM25 top's lead ------------------------------------------------------------------------------
def _lead_retriever(chunks: list[Chunk], **overrides: Any) -> Any:
    from rag.retrieval import Retriever

    settings = rag.Settings(_env_file=None, openai_api_key=None, **overrides)
    return Retriever(settings, None, None, KeywordIndex(chunks))  # type: ignore[arg-type]


LEAD = [
    make_chunk("aaaaaaaaaaa", [(0, 30, "we introduce the topic of the lecture")]),
    make_chunk("aaaaaaaaaaa", [(120, 150, "the rare answer words again, in the window after")]),
    make_chunk("aaaaaaaaaaa", [(100, 130, "an answer passage holding the question's rare words")]),
    make_chunk("bbbbbbbbbbb", [(0, 30, "another talk")]),
]


def _ids(hits: list[Hit]) -> list[str]:
    return [h.chunk.id for h in hits]


@pytest.mark.parametrize(
    ("keyword", "first"),
    [
        # 9 against the best passage that does not overlap it (5), not its neighbour window: it leads
        ([(2, 9.0), (1, 8.9), (3, 5.0)], 2),
        # 9 against 7: a narrow BM25 win leaves the fused order as it is
        ([(2, 9.0), (3, 7.0)], 0),
        # already first: nothing to do
        ([(0, 9.0), (3, 1.0)], 0),
    ],
)
def test_a_far_ahead_bm25_top_goes_first(keyword: list[tuple[int, float]], first: int) -> None:
    retriever = _lead_retriever(LEAD)
    fused = [Hit(LEAD[i], 1.0 / (n + 1), 0.5) for n, i in enumerate([0, 3, 2, 1])]
    out = retriever._keyword_lead(list(fused), [(LEAD[i].id, s) for i, s in keyword])
    assert out[0].chunk.id == LEAD[first].id
    assert sorted(_ids(out)) == sorted(_ids(fused))  # reordered, nothing lost or added
    assert out[0].score >= fused[0].score and out[0].score == pytest.approx(fused[0].score)


def test_the_bm25_lead_can_be_switched_off() -> None:
    fused = [Hit(LEAD[i], 1.0 / (n + 1), 0.5) for n, i in enumerate([0, 3, 2])]
    keyword = [(LEAD[2].id, 9.0), (LEAD[3].id, 1.0)]
    assert _ids(_lead_retriever(LEAD, keyword_lead=0)._keyword_lead(fused, keyword)) == _ids(fused)
    assert _ids(_lead_retriever(LEAD, bm25_weight=0)._keyword_lead(fused, keyword)) == _ids(fused)


# -- fusion and weights ----------------------------------------------------------------------------
def test_hybrid_ranks_and_scores(sample_store, embedder) -> None:
    r = lectern(sample_store, embedder).search(PERCEPTRON, k=7)
    assert [h.rank for h in r.hits] == list(range(1, 8))
    scores = [h.score for h in r.hits]
    assert scores == sorted(scores, reverse=True)
    assert r.best_similarity == max(s for _, s in r.dense)
    assert "perceptron" in r.hits[0].chunk.text
    assert r.query == PERCEPTRON


def test_dense_only_and_bm25_only_via_weights(sample_store, embedder) -> None:
    # One list alone, as `rag eval --retrieval dense|bm25` scores it: without the late re-ranking.
    question = "how do we quantify the loss of the network?"
    dense = lectern(sample_store, embedder, bm25_weight=0.0, rerank_top=0).search(question)
    assert [h.chunk.id for h in dense.hits] == [cid for cid, _ in dense.dense[:5]]
    assert [h.similarity for h in dense.hits] == [s for _, s in dense.dense[:5]]

    bm25 = lectern(sample_store, embedder, dense_weight=0.0, rerank_top=0).search(question)
    assert [h.chunk.id for h in bm25.hits] == [cid for cid, _ in bm25.keyword[:5]]

    hybrid = lectern(sample_store, embedder).search(question)
    assert [h.chunk.id for h in hybrid.hits] != [h.chunk.id for h in dense.hits] or (
        [h.chunk.id for h in hybrid.hits] != [h.chunk.id for h in bm25.hits]
    )


def test_bm25_only_returns_only_keyword_matches(sample_store, embedder) -> None:
    # one rare word: BM25 finds few chunks, and dense results must not pad the list
    r = lectern(sample_store, embedder, dense_weight=0.0, rerank_top=0).search("imagenet")
    assert 0 < len(r.keyword) < 5
    assert [h.chunk.id for h in r.hits] == [cid for cid, _ in r.keyword]
    # re-ranking reorders the first few but cannot add a window BM25 did not find
    reranked = lectern(sample_store, embedder, dense_weight=0.0).search("imagenet")
    assert {h.chunk.id for h in reranked.hits} == {cid for cid, _ in r.keyword}


def test_merging_cascades_and_keeps_the_better_rank() -> None:
    # 1306-1348 joins 1271-1317 and, grown, reaches 1339-1382: all three are one moment, at rank 1.
    vid = "aaaaaaaaaaa"
    hits = [
        Hit(make_chunk(vid, [(1271, 1317, "a")]), 0.333),
        Hit(make_chunk(vid, [(2344, 2386, "b")]), 0.286),
        Hit(make_chunk(vid, [(1339, 1382, "c")]), 0.25),
        Hit(make_chunk(vid, [(1306, 1348, "d")]), 0.211),
        Hit(make_chunk(vid, [(2309, 2354, "e")]), 0.188),
    ]
    merged = merge_neighbours(hits)
    got = [(h.chunk.start, h.chunk.end, h.score) for h in merged]
    assert got == [(1271, 1382, 0.333), (2309, 2386, 0.286)]


def test_merging_keeps_the_given_order_of_equal_scores() -> None:
    # RRF ties (rank i in one list only, against rank i in the other only) are common. A merged hit
    # used to move behind its equals; held-out h024 lost its top place that way.
    first = Hit(make_chunk("aaaaaaaaaaa", [(0, 10, "a")]), 0.5)
    tied = Hit(make_chunk("bbbbbbbbbbb", [(0, 10, "b")]), 0.5)
    joins_first = Hit(make_chunk("aaaaaaaaaaa", [(5, 15, "c")]), 0.3)
    merged = merge_neighbours([first, tied, joins_first])
    assert [(h.video_id, h.chunk.start, h.chunk.end) for h in merged] == [
        ("aaaaaaaaaaa", 0, 15),
        ("bbbbbbbbbbb", 0, 10),
    ]


def test_merging_stops_at_the_cap_and_drops_the_overflowing_window() -> None:
    # Four overlapping windows of one talk: unbounded they became one 4-window "moment" that overlapped
    # any answer span nearby. Capped at 2 windows' text, rank 1 absorbs rank 2; rank 3 overlaps it and
    # would overflow, so it is dropped (its moment is already shown); rank 4 no longer overlaps anything.
    vid = "aaaaaaaaaaa"
    text = "x" * 100
    hits = [
        Hit(make_chunk(vid, [(0, 40, text), (40, 60, text)]), 0.5),
        Hit(make_chunk(vid, [(40, 60, text), (60, 100, text)]), 0.4),
        Hit(make_chunk(vid, [(60, 100, text), (100, 120, text)]), 0.3),
        Hit(make_chunk(vid, [(200, 240, text)]), 0.2),
    ]
    capped = merge_neighbours([Hit(h.chunk, h.score) for h in hits], max_chars=310)
    assert [(h.chunk.start, h.chunk.end, h.score) for h in capped] == [(0, 100, 0.5), (200, 240, 0.2)]
    unbounded = merge_neighbours([Hit(h.chunk, h.score) for h in hits])
    assert [(h.chunk.start, h.chunk.end) for h in unbounded] == [(0, 120), (200, 240)]


@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(5, 80), st.integers(1, 99)), min_size=1, max_size=25),
    st.sampled_from([None, 120, 250, 600]),
)
@settings(max_examples=200, deadline=None)
def test_merged_hits_never_overlap_and_respect_the_cap(rows, cap) -> None:
    vid = "aaaaaaaaaaa"
    hits = [Hit(make_chunk(vid, [(s, s + d, "w" * d)]), score / 100) for s, d, score in rows]
    hits.sort(key=lambda h: -h.score)  # retrieval hands them over best first
    merged = merge_neighbours(hits, cap)
    for i, a in enumerate(merged):
        for b in merged[i + 1 :]:
            assert not (a.chunk.start < b.chunk.end and b.chunk.start < a.chunk.end), (a.chunk, b.chunk)
    if cap is not None:  # a single window may be longer than the cap; a merged one never is
        assert all(len(h.chunk.segment_starts) == 1 or len(h.chunk.text) <= cap for h in merged)
    assert [h.score for h in merged] == sorted((h.score for h in merged), reverse=True)


def test_a_merged_hit_keeps_the_window_that_earned_its_rank() -> None:
    # Rank 1 absorbs the two windows overlapping it, one of them through the other: the merged hit shows
    # all three, and its focus stays rank 1's own window, where the offline answer places its citation.
    vid = "aaaaaaaaaaa"
    best = make_chunk(vid, [(40, 60, "b"), (60, 80, "c")])
    hits = [
        Hit(best, 0.5),
        Hit(make_chunk(vid, [(0, 40, "a"), (40, 60, "b")]), 0.4),
        Hit(make_chunk(vid, [(60, 80, "c"), (80, 100, "d")]), 0.3),
        Hit(make_chunk(vid, [(200, 240, "e")]), 0.2),
    ]
    merged = merge_neighbours(hits)
    assert [(h.chunk.start, h.chunk.end) for h in merged] == [(0, 100), (200, 240)]
    assert merged[0].window is best and (merged[0].window.start, merged[0].window.end) == (40, 80)
    assert merged[1].focus is None and merged[1].window is merged[1].chunk  # never merged: itself
