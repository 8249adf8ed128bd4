"""rag.citations on hand-made chunks: numbers map by position, moments are the supporting segment, and
nothing the model writes becomes a link."""

from __future__ import annotations

import math

import pytest

from rag.chunking import ChunkParams, chunk_video
from rag.citations import (
    cited_numbers,
    clean_model_text,
    locate,
    resolve,
    split_sentences,
    strip_marks,
    supported,
)
from rag.keyword import KeywordIndex
from rag.models import Chunk, Segment

VID_A = "LecternTstA"
VID_B = "LecternTstB"

LECTURE_A = [
    (12.4, 19.8, "welcome back everyone today we continue our course on training neural networks"),
    (19.8, 27.3, "a quick reminder that the homework is due on friday at noon"),
    (27.3, 35.9, "dropout randomly sets some activations to zero during training"),
    (35.9, 44.1, "this forces the network not to rely on any single neuron"),
    (44.1, 52.6, "next week we will look at recurrent models for sequences"),
]
LECTURE_B = [
    (100.0, 108.5, "batch normalization rescales activations using the mean and variance of each mini batch"),
    (108.5, 117.2, "it lets us use larger learning rates and makes training more stable"),
    (117.2, 125.0, "at test time we use running averages of the statistics instead"),
]


def make_chunk(video_id: str, rows: list[tuple[float, float, str]], title: str = "Lecture") -> Chunk:
    """One chunk holding every row, built by the real chunker."""
    segs = [Segment(video_id, s, e, t, title) for s, e, t in rows]
    (chunk,) = chunk_video(segs, [1] * len(segs), ChunkParams(max_tokens=256, overlap=0))
    return chunk


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return [
        make_chunk(VID_A, LECTURE_A, "Deep Learning Basics"),
        make_chunk(VID_B, LECTURE_B, "Normalization"),
    ]


@pytest.fixture(scope="module")
def idf(chunks):
    filler = [
        make_chunk(f"Filler{i:05d}", [(0, 5, f"filler text number {i} about nothing")]) for i in range(8)
    ]
    return KeywordIndex([*chunks, *filler]).idf


# -- locate: the segment inside the chunk, not the chunk start -----------------------------------------
def test_locate_picks_the_supporting_segment_not_the_chunk_start(chunks, idf) -> None:
    moment = locate(chunks[0], "Dropout randomly sets activations to zero during training.", idf)
    assert chunks[0].start == 12.4
    assert moment.start == 27 == math.floor(27.3)
    assert "dropout randomly sets some activations to zero" in moment.quote
    assert moment.end >= 36  # a short segment is quoted with its neighbour, and the end follows it


def test_locate_floors_start_and_ceils_end(chunks, idf) -> None:
    moment = locate(chunks[1], "running averages of the statistics at test time", idf)
    assert moment.start == 117
    assert moment.end == 125
    assert moment.quote.startswith("at test time")


def test_locate_first_segment_when_nothing_matches_and_no_embedder(chunks, idf) -> None:
    moment = locate(chunks[0], "zzz qqq", idf)
    assert moment.start == 12
    assert moment.score == 0.0


def test_locate_uses_embeddings_when_no_word_is_shared(chunks, idf) -> None:
    def embed(texts):
        import numpy as np

        # the query is "closest" to the fourth segment
        vecs = np.zeros((len(texts), 2), dtype=np.float32)
        vecs[:, 0] = 1.0
        vecs[0] = [0.0, 1.0]
        vecs[4] = [0.0, 1.0]
        return vecs

    moment = locate(chunks[0], "zzz qqq", idf, embed)
    assert moment.start == 35


def test_long_quotes_are_cut_at_a_word(idf) -> None:
    long_text = " ".join(["gradient"] * 200)
    chunk = make_chunk(VID_A, [(0.0, 30.0, long_text)])
    moment = locate(chunk, "gradient", idf)
    assert len(moment.quote) <= 321
    assert moment.quote.endswith("…")


# -- parsing model output ------------------------------------------------------------------------------
def test_cited_numbers_and_strip_marks() -> None:
    assert cited_numbers("A [1] b [2, 3][12].") == [1, 2, 3, 12]
    assert cited_numbers("no marks (1) here") == []
    assert strip_marks("Dropout zeroes activations [1][2].") == "Dropout zeroes activations."


def test_split_sentences() -> None:
    assert split_sentences("One [1]. Two? Three!\nFour") == ["One [1].", "Two?", "Three!", "Four"]


@pytest.mark.parametrize(
    ("raw", "forbidden"),
    [
        ("See [click](javascript:alert(1)) now.", "javascript:"),
        ("Go to https://evil.example/x for more.", "https://"),
        ("Visit http://evil.example.", "evil.example"),
        ("![img](https://evil.example/p.png) text", "https://"),
        ("JaVaScRiPt:alert(1) hidden", "alert"),
        ("data:text/html;base64,PHNjcmlwdD4= here", "data:"),
        ("zero\u200bwidth\u200d joiner\ufeff", "\u200b"),
        ("tag\U000e0041\U000e0042 chars", "\U000e0041"),
        ("visit www.evil.example today", "www.evil"),
    ],
)
def test_clean_model_text_removes_links_and_invisible_characters(raw: str, forbidden: str) -> None:
    cleaned = clean_model_text(raw)
    assert forbidden.casefold() not in cleaned.casefold()


def test_clean_model_text_keeps_link_text_and_citations() -> None:
    assert clean_model_text("Read [the notes](https://x.example) [1].").startswith("Read the notes")
    assert "[1]" in clean_model_text("Dropout helps [1].")


# -- support ------------------------------------------------------------------------------------------
def test_support_is_lexical_first(chunks, idf) -> None:
    assert supported("Dropout sets activations to zero [1].", chunks[0], idf)
    assert not supported("Bananas are purple [1].", chunks[0], idf)
    assert supported("That is it [1].", chunks[0], idf)  # nothing to check


# -- resolve: by position, renumbered, checked ---------------------------------------------------------
def test_resolve_maps_by_position_and_renumbers_by_first_appearance(chunks, idf) -> None:
    text = (
        "Batch normalization uses the mean and variance of each mini batch [2]. "
        "Dropout randomly sets activations to zero during training [1]."
    )
    r = resolve(text, chunks, idf)
    assert [c.n for c in r.citations] == [1, 2]
    first, second = r.citations
    assert (first.video_id, first.start) == (VID_B, 100)
    assert (second.video_id, second.start) == (VID_A, 27)
    assert first.title == "Normalization"
    assert first.url == f"https://www.youtube.com/watch?v={VID_B}&t=100s"
    assert second.url == f"https://www.youtube.com/watch?v={VID_A}&t=27s"
    assert r.text == (
        "Batch normalization uses the mean and variance of each mini batch [1]. "
        "Dropout randomly sets activations to zero during training [2]."
    )
    assert r.unsupported == []


def test_resolve_drops_numbers_that_match_no_source(chunks, idf) -> None:
    r = resolve("Dropout sets activations to zero [9][0][1]. Nothing else [3].", chunks, idf)
    assert [(c.n, c.video_id) for c in r.citations] == [(1, VID_A)]
    assert "[9]" not in r.text and "[0]" not in r.text and "[3]" not in r.text
    assert r.text.startswith("Dropout sets activations to zero [1].")


def test_resolve_drops_unsupported_citations(chunks, idf) -> None:
    r = resolve("The lecture says bananas are purple [1]. Dropout zeroes activations [1].", chunks, idf)
    assert r.unsupported == ["The lecture says bananas are purple."]
    assert r.text.startswith("The lecture says bananas are purple. ")
    assert len(r.citations) == 1 and r.citations[0].start == 27


def test_resolve_one_moment_cited_twice_is_one_citation(chunks, idf) -> None:
    r = resolve(
        "Dropout zeroes activations [1]. During training, dropout zeroes activations [1].", chunks, idf
    )
    assert len(r.citations) == 1
    assert r.text.count("[1]") == 2


def test_resolve_two_moments_of_one_source(chunks, idf) -> None:
    r = resolve("Dropout zeroes activations [1]. The homework is due on friday [1].", chunks, idf)
    assert [c.start for c in r.citations] == [27, 19]
    assert "[1]" in r.text and "[2]" in r.text


def test_resolve_strips_links_from_the_answer(chunks, idf) -> None:
    r = resolve("See [7] and [click](javascript:alert(1)) https://evil.example [1].", chunks, idf)
    assert "javascript" not in r.text.casefold()
    assert "http" not in r.text
    assert "[7]" not in r.text
    assert all(c.url.startswith("https://www.youtube.com/watch?v=") for c in r.citations)
