"""Offline follow-up queries compared: the previous question then the follow-up (Lectern's rule), the
follow-up's words twice, the follow-up first, and the follow-up alone, over every follow-up of every set.

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/followup_query.py   (output: eval/EXPERIMENTS.md)

Retrieval only, k = 5. Each variant replaces `rag.answer.rule_standalone` for the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import rag.answer
from rag.config import load_settings
from rag.evaluation import is_hit, read_questions
from rag.pipeline import Lectern

EVAL = Path(__file__).resolve().parent
Rule = Callable[[str, Sequence[str]], str]
VARIANTS: dict[str, Rule] = {
    "previous, follow-up (Lectern)": lambda q, h: f"{h[-1]} {q}",
    "previous, follow-up twice": lambda q, h: f"{h[-1]} {q} {q}",
    "follow-up, previous": lambda q, h: f"{q} {h[-1]}",
    "follow-up alone": lambda q, h: q,
}


def main() -> None:
    lectern = Lectern(load_settings())
    questions = [
        q for p in sorted(EVAL.glob("*.jsonl")) for q in read_questions(p) if q.video_id and q.history
    ]
    for name, rule in VARIANTS.items():

        def rewrite(question: str, history: Sequence[str], rule: Rule = rule) -> str:
            return rule(question, history) if history and rag.answer.is_followup(question) else question

        rag.answer.rule_standalone = rewrite
        ranks = []
        for q in questions:
            hits = lectern.search(q.question, k=5, history=q.history).hits
            ranks.append(next((i for i, h in enumerate(hits, 1) if is_hit(h, q)), 0))
        one, five = sum(r == 1 for r in ranks), sum(0 < r <= 5 for r in ranks)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        print(f"{name:32} {len(ranks)} follow-ups: hit@1 {one}, hit@5 {five}, MRR {mrr:.3f}", flush=True)


if __name__ == "__main__":
    main()
