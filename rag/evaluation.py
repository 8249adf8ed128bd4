"""Retrieval and answer quality on a question set: hit@1/3/5, MRR, timestamp error, refusal accuracy."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .models import Answer, Hit

SLACK = 30  # a hit counts when it overlaps the answer span widened by this many seconds


@dataclass(frozen=True, slots=True)
class Question:
    question: str
    video_id: str | None
    answer_start: float | None
    answer_end: float | None
    history: tuple[str, ...] = ()
    id: str = ""


def read_questions(path: Path) -> list[Question]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out.append(
                    Question(
                        d["question"],
                        d.get("video_id"),
                        d.get("answer_start"),
                        d.get("answer_end"),
                        tuple(d.get("history") or ()),
                        str(d.get("id", n)),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(str(path), f"not a question line ({exc})", n) from None
    return out


def is_hit(hit: Hit, q: Question) -> bool:
    if q.video_id is None or hit.video_id != q.video_id:
        return False
    lo, hi = (q.answer_start or 0) - SLACK, (q.answer_end or 0) + SLACK
    return hit.chunk.start <= hi and hit.chunk.end >= lo


def span_distance(t: float, q: Question) -> float:
    lo, hi = q.answer_start or 0, q.answer_end or 0
    return 0.0 if lo <= t <= hi else min(abs(t - lo), abs(t - hi))


@dataclass
class Scores:
    answerable: int = 0
    unanswerable: int = 0
    ranks: list[int] = field(default_factory=list)  # 0 = not in the top k
    ts_errors: list[float] = field(default_factory=list)
    ts_errors_when_top_right: list[float] = field(default_factory=list)  # citation placement alone
    no_citation: int = 0
    refused_right: int = 0
    refused_wrong: int = 0
    answered: int = 0  # answerable questions that were also answered (not only searched)
    refusals_asked: int = 0  # unanswerable questions that were answered
    misses: list[str] = field(default_factory=list)
    relevance: list[tuple[float, bool]] = field(default_factory=list)  # (gate score, answerable)

    def add(self, q: Question, hits: list[Hit], answer: Answer | None, relevance: float = 0.0) -> None:
        self.relevance.append((relevance, q.video_id is not None))
        if q.video_id is None:
            self.unanswerable += 1
            if answer is not None:
                self.refusals_asked += 1
                self.refused_right += answer.mode == "refused"
            return
        self.answerable += 1
        rank = next((i for i, h in enumerate(hits, 1) if is_hit(h, q)), 0)
        self.ranks.append(rank)
        if rank != 1:
            self.misses.append(_miss(q, hits, rank))
        if answer is None:
            return
        self.answered += 1
        self.refused_wrong += answer.mode == "refused"
        cites = [c for c in answer.citations if c.video_id == q.video_id]
        if answer.mode != "refused" and cites:
            self.ts_errors.append(span_distance(cites[0].start, q))
            if rank == 1:
                self.ts_errors_when_top_right.append(self.ts_errors[-1])
        elif answer.mode != "refused":
            self.no_citation += 1

    def hit_at(self, k: int) -> float:
        return sum(1 for r in self.ranks if 0 < r <= k) / max(len(self.ranks), 1)

    def summary(self) -> dict[str, Any]:
        return {
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "hit@1": round(self.hit_at(1), 3),
            "hit@3": round(self.hit_at(3), 3),
            "hit@5": round(self.hit_at(5), 3),
            "mrr": round(sum(1 / r for r in self.ranks if r) / max(len(self.ranks), 1), 3),
            "median_timestamp_error_s": _median(self.ts_errors),
            "answers_citing_right_video": len(self.ts_errors),
            # the same error over the questions whose top hit was right: where in a found passage it opens
            "median_timestamp_error_when_top_hit_right_s": _median(self.ts_errors_when_top_right),
            # without answers (--no-answers) refusals were not measured: None, not 0
            "refusal_accuracy": round(self.refused_right / self.refusals_asked, 3)
            if self.refusals_asked
            else None,
            "false_refusal_rate": round(self.refused_wrong / self.answered, 3) if self.answered else None,
        }


def _miss(q: Question, hits: list[Hit], rank: int) -> str:
    where = "no hit"
    if hits:
        top = hits[0]
        where = f"top {top.video_id} {top.chunk.start:.0f}-{top.chunk.end:.0f}s"
        if top.video_id == q.video_id:
            where += " (right lecture, other part)"
    return f"{q.id} rank={rank or '-'} {where}: {q.question}"


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def calibration(scores: Scores, thresholds: Iterable[float]) -> list[dict[str, float]]:
    """For each min_relevance: the share of unanswerable questions refused and of answerable ones refused."""
    unans = [r for r, answerable in scores.relevance if not answerable]
    ans = [r for r, answerable in scores.relevance if answerable]
    return [
        {
            "min_relevance": round(t, 3),
            "refusal_accuracy": round(sum(r < t for r in unans) / max(len(unans), 1), 3),
            "false_refusal_rate": round(sum(r < t for r in ans) / max(len(ans), 1), 3),
        }
        for t in thresholds
    ]


def evaluate(lectern: Any, questions: Iterable[Question], k: int = 5, answers: bool = True) -> Scores:
    scores = Scores()
    for q in questions:
        found = lectern.search(q.question, k=k, history=q.history)
        answer = lectern.answer(q.question, found) if answers else None  # one retrieval (and rewrite) each
        scores.add(q, found.hits, answer, found.relevance)
    return scores
