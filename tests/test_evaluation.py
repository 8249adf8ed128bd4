"""rag.evaluation on hand-made hits and answers: the slack, the distance, and the summary's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import Answer, Chunk, Citation, Hit, InputError
from rag.evaluation import SLACK, Question, Scores, is_hit, read_questions, span_distance

A = "LecternTstA"
B = "LecternTstB"


def hit(video_id: str, start: float, end: float) -> Hit:
    chunk = Chunk(f"{video_id}:{start}", video_id, "t", start, end, "text", (start,), (0,))
    return Hit(chunk, score=0.1)


def q(video_id: str | None, start: float | None = None, end: float | None = None) -> Question:
    return Question("question?", video_id, start, end)


def answer(mode: str, *cites: tuple[str, int]) -> Answer:
    citations = [Citation(i, v, "t", s, s + 10, "quote") for i, (v, s) in enumerate(cites, 1)]
    return Answer("question?", mode, "text", citations)  # type: ignore[arg-type]


# -- is_hit: overlap with the answer span widened by the slack ------------------------------------------
def test_slack_is_thirty_seconds() -> None:
    assert SLACK == 30


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (100, 120, True),  # inside
        (140, 200, True),  # overlaps
        (60, 70, True),  # ends exactly SLACK before the span
        (60, 69.9, False),  # ends just before the slack
        (190, 220, True),  # starts exactly SLACK after the span
        (190.1, 220, False),
        (0, 1000, True),  # covers the span
    ],
)
def test_is_hit_with_slack(start: float, end: float, expected: bool) -> None:
    assert is_hit(hit(A, start, end), q(A, 100, 160)) is expected


def test_is_hit_needs_the_same_video() -> None:
    assert not is_hit(hit(B, 100, 120), q(A, 100, 160))
    assert not is_hit(hit(A, 100, 120), q(None))


# -- span_distance ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("t", "expected"), [(100, 0.0), (130, 0.0), (160, 0.0), (90, 10.0), (175, 15.0)])
def test_span_distance(t: float, expected: float) -> None:
    assert span_distance(t, q(A, 100, 160)) == expected


# -- Scores --------------------------------------------------------------------------------------------
def test_summary_on_a_hand_made_set() -> None:
    s = Scores()
    # rank 1, cited inside the span
    s.add(q(A, 100, 120), [hit(A, 95, 125), hit(B, 0, 10)], answer("llm", (A, 110)))
    # rank 2, cited 20 s after the span; a citation of another video first is ignored
    s.add(q(A, 500, 520), [hit(B, 0, 10), hit(A, 490, 510)], answer("extractive", (B, 5), (A, 540)))
    # not found, and refused although answerable
    s.add(q(A, 900, 910), [hit(B, 0, 10)], answer("refused", (B, 0)))
    # rank 4, answered without citing the video
    s.add(
        q(A, 300, 310), [hit(B, 0, 1), hit(B, 5, 6), hit(B, 9, 10), hit(A, 300, 320)], answer("llm", (B, 1))
    )
    # unanswerable: one refused (right), one answered (wrong)
    s.add(q(None), [hit(A, 0, 10)], answer("refused"))
    s.add(q(None), [hit(A, 0, 10)], answer("llm", (A, 3)))

    assert s.ranks == [1, 2, 0, 4]
    assert s.no_citation == 1
    assert s.summary() == {
        "answerable": 4,
        "unanswerable": 2,
        "hit@1": 0.25,
        "hit@3": 0.5,
        "hit@5": 0.75,
        "mrr": round((1 + 1 / 2 + 1 / 4) / 4, 3),
        "median_timestamp_error_s": 10.0,
        "answers_citing_right_video": 2,
        "median_timestamp_error_when_top_hit_right_s": 0.0,  # only the first question's top hit was right
        "refusal_accuracy": 0.5,
        "false_refusal_rate": 0.25,
    }
    assert len(s.misses) == 3 and s.misses[0].endswith("rank=2 top LecternTstB 0-10s: question?")


def test_summary_without_answers_or_unanswerables() -> None:
    s = Scores()
    s.add(q(A, 10, 20), [hit(A, 0, 15)], None)
    summary = s.summary()
    assert summary["hit@1"] == 1.0 and summary["mrr"] == 1.0
    assert summary["median_timestamp_error_s"] is None
    assert summary["refusal_accuracy"] is None and summary["false_refusal_rate"] is None


def test_refusals_are_not_scored_without_answers() -> None:
    s = Scores()
    s.add(q(None), [hit(A, 0, 10)], None)
    s.add(q(A, 10, 20), [hit(A, 0, 15)], None)
    assert s.summary()["unanswerable"] == 1
    assert s.summary()["refusal_accuracy"] is None  # not 0.0: nothing was asked
    assert s.summary()["false_refusal_rate"] is None
    assert Scores().summary()["hit@1"] == 0.0


# -- read_questions --------------------------------------------------------------------------------
def test_read_questions(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "question": "what is a perceptron?", "video_id": "njKP3FqW3Sk", '
        '"answer_start": 700, "answer_end": 755}\n\n'
        '{"question": "and its bias?", "history": ["what is a perceptron?"], "video_id": null}\n',
        encoding="utf-8",
    )
    first, second = read_questions(path)
    assert first == Question("what is a perceptron?", "njKP3FqW3Sk", 700, 755, (), "a")
    assert second.history == ("what is a perceptron?",) and second.video_id is None and second.id == "3"


def test_read_questions_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "fine"}\n{"nope": 1}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2"):
        read_questions(path)
